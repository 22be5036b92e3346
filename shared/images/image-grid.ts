// Renders rows of model-space images (HWC RGB floats in [0, 1]) as one PNG, e.g.
// autoencoder inputs in the first row and their reconstructions in the second.
// Each image is upscaled by an integer factor with nearest-neighbour (so pixels
// stay crisp and what you see is exactly what the model saw); optional row labels
// sit in a column on the left. Values outside [0, 1] are clamped, NaN shows black.

import sharp, { type OverlayOptions } from 'sharp';
import { writeBytesFile } from './png-file.js';
import { MONO, ellipsizeStart, escapeXml, monoCharsFitting } from './svg.js';

export interface ImageGridOptions {
  /** One label per row, drawn on the left. */
  rowLabels?: readonly string[];
  /** Integer upscale factor (default: the smallest making tiles ≥ 128 px, at least 1). */
  scale?: number;
}

export interface ImageGridLayout {
  width: number;
  height: number;
  tile: number;
  labelWidth: number;
  imageAt(row: number, col: number): { left: number; top: number };
}

const PAD = 4;
const LABEL_WIDTH = 140;
const FONT = 13;

/** Geometry of a grid of `rows` × `columns` images of side `size`. */
export function imageGridLayout(rows: number, columns: number, size: number, opts: ImageGridOptions = {}): ImageGridLayout {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  const scale = opts.scale ?? Math.max(1, Math.ceil(128 / size));
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`scale must be a positive integer, got ${scale}`);
  const tile = size * scale;
  const labelWidth = opts.rowLabels !== undefined && opts.rowLabels.length > 0 ? LABEL_WIDTH : 0;
  return {
    width: labelWidth + PAD + Math.max(1, columns) * (tile + PAD),
    height: PAD + Math.max(1, rows) * (tile + PAD),
    tile,
    labelWidth,
    imageAt: (row, col) => ({ left: labelWidth + PAD + col * (tile + PAD), top: PAD + row * (tile + PAD) }),
  };
}

/** Model-space floats in [0, 1] as 8-bit values (clamped; NaN → 0). */
export function toBytes(image: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(image.length);
  for (let i = 0; i < image.length; i++) {
    const v = image[i] as number;
    out[i] = v > 0 ? (v >= 1 ? 255 : Math.round(v * 255)) : 0; // NaN → 0
  }
  return out;
}

/** The grid as PNG bytes. */
export async function renderImageGrid(rows: readonly (readonly Float32Array[])[], size: number, opts: ImageGridOptions = {}): Promise<Buffer> {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const layout = imageGridLayout(rows.length, columns, size, opts);
  const expected = size * size * 3;
  rows.forEach((row, r) =>
    row.forEach((img, c) => {
      if (img.length !== expected) throw new RangeError(`image [${r}][${c}] has ${img.length} values, expected ${size}×${size}×3 = ${expected}`);
    }),
  );

  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ];
  const maxChars = monoCharsFitting(layout.labelWidth - 2 * PAD, FONT);
  (opts.rowLabels ?? []).slice(0, rows.length).forEach((label, r) => {
    const { top } = layout.imageAt(r, 0);
    svg.push(
      `<text x="${PAD}" y="${top + layout.tile / 2}" font-family="${MONO}" font-size="${FONT}" fill="#202020" dominant-baseline="middle" xml:space="preserve">${escapeXml(ellipsizeStart(label, maxChars))}</text>`,
    );
  });
  svg.push('</svg>');

  const tiles = await Promise.all(
    rows.flatMap((row, r) =>
      row.map(async (img, c): Promise<OverlayOptions> => {
        const input = await sharp(toBytes(img), { raw: { width: size, height: size, channels: 3 } })
          .resize(layout.tile, layout.tile, { kernel: 'nearest' })
          .raw()
          .toBuffer();
        return { input, raw: { width: layout.tile, height: layout.tile, channels: 3 }, ...layout.imageAt(r, c) };
      }),
    ),
  );
  return sharp(Buffer.from(svg.join('\n'))).composite(tiles).removeAlpha().png().toBuffer();
}

/** Writes the grid PNG to `path` (parent folders are created). */
export async function writeImageGrid(
  path: string,
  rows: readonly (readonly Float32Array[])[],
  size: number,
  opts: ImageGridOptions = {},
): Promise<void> {
  await writeBytesFile(path, await renderImageGrid(rows, size, opts));
}
