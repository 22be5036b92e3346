// Generated datasets for the image-to-image demos (docs/tasks.md).
//
// Colourisation set (the reference method's): `count` PNG images `dir/<nnnn>.png`,
// each a plain grey background with 1 or 2 non-overlapping plain shapes, every circle
// red and every square (axis-aligned) blue. These are the targets; the training input
// is their greyscale (--task colorize). The red and blue are chosen with nearly equal
// luma (0.404·v vs 0.394·v for a brightness v drawn per shape from the same range), so
// the grey input does not give the colour away: the model has to tell the shapes apart.
// `shapes.json` lists every image's shapes, so the demo can score circle and square
// pixels separately (shapeMasks).
//
// Deterministic: one sub-seed per image drawn in order from createRng(seed).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { createRng, randomBetween, randomInt } from '../random.js';
import { imageFileName } from './synthetic.js';
import { px } from './svg.js';

export interface ColourShape {
  kind: 'circle' | 'square';
  cx: number;
  cy: number;
  /** Circle radius; for a square, half its side. */
  r: number;
}

export interface ColorizeImage {
  file: string;
  shapes: ColourShape[];
}

export interface ColorizeDataset {
  size: number;
  images: ColorizeImage[];
}

export const COLORIZE_LABELS_FILE = 'shapes.json';

function describe(size: number, seed: number): { svg: string; shapes: ColourShape[] } {
  const rng = createRng(seed);
  const bg = randomInt(rng, 170, 240);
  const count = randomInt(rng, 1, 2);
  const shapes: ColourShape[] = [];
  for (let attempt = 0; shapes.length < count && attempt < 50; attempt++) {
    const kind = rng() < 0.5 ? 'circle' : 'square';
    const r = randomBetween(rng, 0.14, count === 1 ? 0.3 : 0.22) * size;
    const reach = kind === 'circle' ? r : r * Math.SQRT2;
    const cx = randomBetween(rng, reach + 1, size - reach - 1);
    const cy = randomBetween(rng, reach + 1, size - reach - 1);
    const clear = shapes.every((s) => Math.hypot(s.cx - cx, s.cy - cy) > reach + (s.kind === 'circle' ? s.r : s.r * Math.SQRT2) + 2);
    if (clear) shapes.push({ kind, cx, cy, r });
  }
  const body = shapes.map((s) => {
    const v = randomInt(rng, 160, 250);
    const fill = s.kind === 'circle' ? `rgb(${v},${Math.round(v * 0.15)},${Math.round(v * 0.15)})` : `rgb(${Math.round(v * 0.25)},${Math.round(v * 0.35)},${v})`;
    return s.kind === 'circle'
      ? `<circle cx="${px(s.cx)}" cy="${px(s.cy)}" r="${px(s.r)}" fill="${fill}"/>`
      : `<rect x="${px(s.cx - s.r)}" y="${px(s.cy - s.r)}" width="${px(2 * s.r)}" height="${px(2 * s.r)}" fill="${fill}"/>`;
  });
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">`,
    `<rect width="100%" height="100%" fill="rgb(${bg},${bg},${bg})"/>`,
    ...body,
    '</svg>',
  ].join('\n');
  return { svg, shapes };
}

/** Writes the colourisation set (coloured targets) and shapes.json under `dir`. */
export async function generateColorizeDataset(dir: string, opts: { count: number; size: number; seed: number }): Promise<ColorizeDataset> {
  if (!Number.isInteger(opts.count) || opts.count < 2) throw new RangeError(`count must be an integer ≥ 2, got ${opts.count}`);
  if (!Number.isInteger(opts.size) || opts.size < 16) throw new RangeError(`size must be an integer ≥ 16, got ${opts.size}`);
  await mkdir(dir, { recursive: true });
  const rng = createRng(opts.seed);
  const seeds = Array.from({ length: opts.count }, () => Math.floor(rng() * 4294967296));
  const images: ColorizeImage[] = [];
  for (const [n, seed] of seeds.entries()) {
    const { svg, shapes } = describe(opts.size, seed);
    const file = imageFileName(n);
    await writeFile(join(dir, file), await sharp(Buffer.from(svg)).removeAlpha().png().toBuffer());
    images.push({ file, shapes });
  }
  const dataset = { size: opts.size, images };
  await writeFile(join(dir, COLORIZE_LABELS_FILE), JSON.stringify(dataset));
  return dataset;
}

/**
 * Pixel masks of an image's circles and squares at side `size` (the generated side
 * scaled to `size`), shrunk by `margin` px so anti-aliased edges do not count.
 */
export function shapeMasks(shapes: readonly ColourShape[], generatedSize: number, size: number, margin = 1): { circle: Uint8Array; square: Uint8Array } {
  const k = size / generatedSize;
  const circle = new Uint8Array(size * size);
  const square = new Uint8Array(size * size);
  for (const s of shapes) {
    const cx = s.cx * k;
    const cy = s.cy * k;
    const r = s.r * k - margin;
    if (r <= 0) continue;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const dx = x + 0.5 - cx;
        const dy = y + 0.5 - cy;
        if (s.kind === 'circle' ? dx * dx + dy * dy < r * r : Math.abs(dx) < r && Math.abs(dy) < r) {
          (s.kind === 'circle' ? circle : square)[y * size + x] = 1;
        }
      }
    }
  }
  return { circle, square };
}

/** Of the masked pixels of an RGB image ([0, 1]), the fraction closer to `near` than to `far`. */
export function fractionCloser(img: Float32Array, mask: Uint8Array, near: readonly number[], far: readonly number[]): { fraction: number; pixels: number } {
  let hits = 0;
  let pixels = 0;
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    pixels++;
    let dn = 0;
    let df = 0;
    for (let c = 0; c < 3; c++) {
      const v = img[p * 3 + c] as number;
      dn += (v - (near[c] as number)) ** 2;
      df += (v - (far[c] as number)) ** 2;
    }
    if (dn < df) hits++;
  }
  return { fraction: pixels === 0 ? NaN : hits / pixels, pixels };
}
