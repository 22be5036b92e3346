// Renders a search result as one PNG "contact sheet": the query image first (with
// a highlighted orange border), then the results in rank order, in a grid; each
// tile shows the whole image (letterboxed to a square) with its label under it
// (up to two lines: split on "\n", long lines keep their end — the file name —
// behind a leading "…"). An image that cannot be decoded becomes a grey tile
// reading "unreadable" instead of failing the sheet.
//
// A sheet stays a sensible size whatever it is given: at most MAX_SHEET_RESULTS results
// (6 × 6 tiles with the query, ~1,080 × 1,290 px at the default tile) and at most
// MAX_SHEET_COLUMNS columns; the rest are left off (the caller says so: `imgsim search
// -k 1000` once wrote a 1078 × 25904 px, 35 MB sheet).
//
// Drawing: one SVG (background, borders, labels; all text XML-escaped) rendered by
// sharp as the base, with the decoded tiles composited on top.

import sharp, { type OverlayOptions } from 'sharp';
import { decodeImageToRgb8 } from './decode.js';
import { writeBytesFile } from './png-file.js';
import { MONO, ellipsizeStart, escapeXml, monoCharsFitting } from './svg.js';

export interface ContactSheetItem {
  /** Encoded image bytes or a file path. */
  image: Buffer | string;
  /** Caption, e.g. "cats/0042.jpg\n0.913"; at most two lines are shown. */
  label: string;
}

export interface ContactSheetOptions {
  /** Side of each image tile in pixels (default 160). */
  tile?: number;
  /** Tiles per row (default: min(6, number of tiles); at most MAX_SHEET_COLUMNS). */
  columns?: number;
  /** Pixel limit passed to decodeImage for each input (default 100 million). */
  maxPixels?: number;
}

export interface ContactSheetLayout {
  width: number;
  height: number;
  columns: number;
  rows: number;
  tile: number;
  /** Top-left corner of cell i's image (inside its border). */
  imageAt(i: number): { left: number; top: number };
}

const PAD = 10;
const BORDER = 4;
const FONT = 12;
const LINE = 15;
const LABEL_LINES = 2;
const LABEL_HEIGHT = LABEL_LINES * LINE + 6;
const DEFAULT_TILE = 160;
const DEFAULT_MAX_PIXELS = 100_000_000;
/** Results drawn on one sheet (after the query): 6 rows of 6 tiles with the query. */
export const MAX_SHEET_RESULTS = 35;
/** Widest a sheet gets, in tiles. */
export const MAX_SHEET_COLUMNS = 12;

/** Geometry of a sheet with `count` tiles (query included). */
export function contactSheetLayout(count: number, opts: ContactSheetOptions = {}): ContactSheetLayout {
  const tile = opts.tile ?? DEFAULT_TILE;
  if (!Number.isInteger(tile) || tile < 16) throw new RangeError(`tile must be an integer ≥ 16, got ${tile}`);
  const columns = Math.min(MAX_SHEET_COLUMNS, Math.max(1, opts.columns ?? Math.min(6, Math.max(1, count))));
  if (!Number.isInteger(columns)) throw new RangeError(`columns must be an integer, got ${columns}`);
  const rows = Math.max(1, Math.ceil(count / columns));
  const cellW = tile + 2 * BORDER;
  const cellH = tile + 2 * BORDER + LABEL_HEIGHT;
  return {
    width: PAD + columns * (cellW + PAD),
    height: PAD + rows * (cellH + PAD),
    columns,
    rows,
    tile,
    imageAt: (i) => ({
      left: PAD + (i % columns) * (cellW + PAD) + BORDER,
      top: PAD + Math.floor(i / columns) * (cellH + PAD) + BORDER,
    }),
  };
}

/** The (at most two) caption rows drawn under a tile, each at most `maxChars` long. */
export function labelLines(label: string, maxChars: number): string[] {
  let lines = label.split(/\r?\n/).filter((l) => l.length > 0);
  const only = lines.length === 1 ? [...(lines[0] as string)] : [];
  if (only.length > maxChars) {
    // One long line: use both rows. Prefer breaking after a "/" (or space) so the
    // file name stays whole on the second row; otherwise break so row 2 is full.
    let cut = only.length - maxChars;
    for (let i = cut; i < only.length - 1; i++) {
      if (only[i - 1] === '/' || only[i - 1] === ' ') {
        cut = i;
        break;
      }
    }
    lines = [only.slice(0, cut).join(''), only.slice(cut).join('')];
  }
  return lines.slice(0, LABEL_LINES).map((l) => ellipsizeStart(l, maxChars));
}

function sheetSvg(layout: ContactSheetLayout, items: readonly ContactSheetItem[], readable: readonly boolean[]): string {
  const { tile } = layout;
  const maxChars = monoCharsFitting(tile + 2 * BORDER + PAD - 2, FONT); // text may run into the gap
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ];
  items.forEach((item, i) => {
    const { left, top } = layout.imageAt(i);
    const isQuery = i === 0;
    parts.push(
      `<rect x="${left - BORDER}" y="${top - BORDER}" width="${tile + 2 * BORDER}" height="${tile + 2 * BORDER}" fill="${isQuery ? '#ff8c00' : '#d0d0d0'}"/>`,
    );
    if (!readable[i]) {
      parts.push(
        `<rect x="${left}" y="${top}" width="${tile}" height="${tile}" fill="#9e9e9e"/>`,
        `<text x="${left + tile / 2}" y="${top + tile / 2}" font-family="${MONO}" font-size="${FONT + 2}" fill="#ffffff" text-anchor="middle" dominant-baseline="middle">unreadable</text>`,
      );
    }
    labelLines(item.label, maxChars).forEach((line, k) => {
      parts.push(
        `<text x="${left - BORDER}" y="${top + tile + BORDER + (k + 1) * LINE}" font-family="${MONO}" font-size="${FONT}" fill="#202020"${isQuery ? ' font-weight="bold"' : ''} xml:space="preserve">${escapeXml(line)}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The contact sheet as PNG bytes: the query and the first MAX_SHEET_RESULTS results. */
export async function renderContactSheet(
  query: ContactSheetItem,
  results: readonly ContactSheetItem[],
  opts: ContactSheetOptions = {},
): Promise<Buffer> {
  const items = [query, ...results.slice(0, MAX_SHEET_RESULTS)];
  const layout = contactSheetLayout(items.length, opts);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const tiles = await Promise.all(
    items.map(async (item) => {
      try {
        return (await decodeImageToRgb8(item.image, { size: layout.tile, fit: 'letterbox', maxPixels })).data;
      } catch {
        return undefined; // drawn as an "unreadable" tile
      }
    }),
  );
  const svg = sheetSvg(
    layout,
    items,
    tiles.map((t) => t !== undefined),
  );
  const overlays: OverlayOptions[] = [];
  tiles.forEach((data, i) => {
    if (data === undefined) return;
    const { left, top } = layout.imageAt(i);
    overlays.push({ input: data, raw: { width: layout.tile, height: layout.tile, channels: 3 }, left, top });
  });
  return sharp(Buffer.from(svg)).composite(overlays).removeAlpha().png().toBuffer();
}

/** Writes the contact sheet PNG to `path` (parent folders are created). */
export async function writeContactSheet(
  path: string,
  query: ContactSheetItem,
  results: readonly ContactSheetItem[],
  opts: ContactSheetOptions = {},
): Promise<void> {
  await writeBytesFile(path, await renderContactSheet(query, results, opts));
}
