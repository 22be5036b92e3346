// Renders 2-D points (e.g. a t-SNE layout) as a PNG scatter plot coloured by
// cluster label: a title, a framed plot area with tick labels, one dot per point,
// and a legend on the right listing each label with its point count.
//
// Colours: a fixed palette of 20 distinct colours indexed by label (label 20 reuses
// colour 0, and so on); negative labels (e.g. DBSCAN's -1 "noise") are hollow grey
// rings. Points with a non-finite coordinate are not drawn (counted under the plot).
//
// How it is drawn: the fixed parts (background, title, grid, frame, ticks, legend) are a
// small SVG that sharp (librsvg) rasterises to a raw RGB buffer; the dots are then
// painted straight into that buffer by drawDot below, and sharp encodes the PNG. Nothing
// the SVG draws lies under a dot except the grid and the frame, which the dots covered
// in the all-SVG plot too, so the layering is the same.
//
// Why not one SVG with a <circle> per point (how it was drawn before): librsvg's memory
// and time grow with the element count — a process rendering 10k points peaked at
// 130 MiB RSS (0.5–0.7 s), 100k at 424 MiB (4.3–6.8 s) — and it refuses a document of
// more than 1,000,000 elements. Painting into the 900×700×3 buffer costs a fixed 1.9 MiB
// whatever the point count and O(points) time: the same process peaks at ~108 / ~130 /
// ~220 MiB for 10k / 100k / 1M points (its baseline, points included, is ~95 / ~103 /
// ~207 MiB) in 0.15 / 0.3 / 0.7 s. The disc loop is written here on purpose: a canvas package
// (node-canvas, @napi-rs/canvas) would draw the same discs but brings a large native
// dependency, and no maintained npm package rasterises many coloured discs into a pixel
// buffer better than these few lines.

import { setImmediate } from 'node:timers/promises';
import sharp from 'sharp';
import { writeBytesFile } from './png-file.js';
import { SANS, escapeXml, px } from './svg.js';

export interface ScatterPoint {
  x: number;
  y: number;
  label: number;
}

export interface ScatterPlotOptions {
  title?: string;
  /** Image width in pixels (default 900). */
  width?: number;
  /** Image height in pixels (default 700). */
  height?: number;
}

/** 20 distinct colours (after Sasha Trubetskoy's list), readable on white; label i → PALETTE[i % 20]. */
export const PALETTE: readonly string[] = Object.freeze([
  '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4',
  '#42d4f4', '#f032e6', '#bfef45', '#469990', '#9a6324',
  '#800000', '#808000', '#000075', '#ffe119', '#fabed4',
  '#dcbeff', '#aaffc3', '#ffd8b1', '#000000', '#a9a9a9',
]);
const NOISE = '#8c8c8c';

/** The colour used for `label`. */
export function labelColour(label: number): string {
  if (!(label >= 0)) return NOISE;
  return PALETTE[Math.floor(label) % PALETTE.length] as string;
}

const MARGIN = { top: 48, right: 190, bottom: 52, left: 64 };
const TICKS = 5;

/** About `count` round tick values covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  const rough = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? rough;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

function tickText(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** Where everything goes: computed once from the points, shared by the SVG and the dots. */
interface Layout {
  width: number;
  height: number;
  plotW: number;
  plotH: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** Points with finite coordinates (drawn) and the others (counted under the plot). */
  shown: number;
  hidden: number;
  /** Dot radius in pixels: 4 up to 500 points, 3 up to 5,000, then 2. */
  radius: number;
  /** Points per label, every point counted. */
  counts: Map<number, number>;
}

/** One pass over the points, no copies: extents, counts per label, sizes checked. */
function layout(points: readonly ScatterPoint[], opts: ScatterPlotOptions): Layout {
  const width = opts.width ?? 900;
  const height = opts.height ?? 700;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 320 && height >= 240)) {
    throw new RangeError(`plot must be at least 320×240 integer pixels, got ${width}×${height}`);
  }
  let xLo = Infinity;
  let xHi = -Infinity;
  let yLo = Infinity;
  let yHi = -Infinity;
  let shown = 0;
  const counts = new Map<number, number>();
  for (const p of points) {
    counts.set(p.label, (counts.get(p.label) ?? 0) + 1);
    if (!(Number.isFinite(p.x) && Number.isFinite(p.y))) continue;
    shown++;
    if (p.x < xLo) xLo = p.x;
    if (p.x > xHi) xHi = p.x;
    if (p.y < yLo) yLo = p.y;
    if (p.y > yHi) yHi = p.y;
  }
  const [x0, x1] = padded(xLo, xHi);
  const [y0, y1] = padded(yLo, yHi);
  return {
    width,
    height,
    plotW: width - MARGIN.left - MARGIN.right,
    plotH: height - MARGIN.top - MARGIN.bottom,
    x0,
    x1,
    y0,
    y1,
    shown,
    hidden: points.length - shown,
    radius: shown <= 500 ? 4 : shown <= 5000 ? 3 : 2,
    counts,
  };
}

/** [lo, hi] widened by 4% each side; a single value gets ±1, no values [-1, 1]. */
function padded(lo: number, hi: number): [number, number] {
  if (lo === Infinity) return [-1, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.04;
  return [lo - pad, hi + pad];
}

function scaleX(l: Layout, x: number): number {
  return MARGIN.left + ((x - l.x0) / (l.x1 - l.x0)) * l.plotW;
}

function scaleY(l: Layout, y: number): number {
  return MARGIN.top + l.plotH - ((y - l.y0) / (l.y1 - l.y0)) * l.plotH;
}

/**
 * The scatter plot without its dots, as an SVG document: background, title, grid, frame,
 * ticks, legend, and the "no points" / non-finite notes. renderScatterPlot paints the
 * dots over it.
 */
export function scatterPlotSvg(points: readonly ScatterPoint[], opts: ScatterPlotOptions = {}): string {
  return frameSvg(layout(points, opts), opts.title);
}

function frameSvg(l: Layout, title: string | undefined): string {
  const { width, height, plotW, plotH } = l;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${SANS}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ];
  if (title !== undefined) {
    out.push(`<text x="${width / 2}" y="30" font-size="18" font-weight="bold" text-anchor="middle" fill="#202020">${escapeXml(title)}</text>`);
  }
  // Frame, grid and ticks.
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#404040"/>`);
  for (const t of niceTicks(l.x0, l.x1, TICKS)) {
    const x = px(scaleX(l, t));
    out.push(
      `<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + plotH}" stroke="#ececec"/>`,
      `<line x1="${x}" y1="${MARGIN.top + plotH}" x2="${x}" y2="${MARGIN.top + plotH + 5}" stroke="#404040"/>`,
      `<text x="${x}" y="${MARGIN.top + plotH + 20}" font-size="12" text-anchor="middle" fill="#404040">${tickText(t)}</text>`,
    );
  }
  for (const t of niceTicks(l.y0, l.y1, TICKS)) {
    const y = px(scaleY(l, t));
    out.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotW}" y2="${y}" stroke="#ececec"/>`,
      `<line x1="${MARGIN.left - 5}" y1="${y}" x2="${MARGIN.left}" y2="${y}" stroke="#404040"/>`,
      `<text x="${MARGIN.left - 8}" y="${y}" font-size="12" text-anchor="end" dominant-baseline="middle" fill="#404040">${tickText(t)}</text>`,
    );
  }
  if (l.shown === 0) {
    out.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH / 2}" font-size="14" text-anchor="middle" fill="#808080">no points</text>`);
  }
  if (l.hidden > 0) {
    out.push(`<text x="${MARGIN.left}" y="${height - 10}" font-size="12" fill="#a00000">${l.hidden} point(s) with non-finite coordinates not drawn</text>`);
  }
  // Legend: one row per label, as many as fit.
  const labels = [...l.counts.keys()].sort((a, b) => a - b);
  const legendX = MARGIN.left + plotW + 20;
  const row = 20;
  const fits = Math.max(1, Math.floor((plotH - row) / row));
  const listed = labels.length > fits ? labels.slice(0, fits - 1) : labels;
  out.push(`<text x="${legendX}" y="${MARGIN.top + 12}" font-size="13" font-weight="bold" fill="#202020">cluster (count)</text>`);
  listed.forEach((label, i) => {
    const y = MARGIN.top + row * (i + 1) + 12;
    const c = labelColour(label);
    const swatch = label >= 0 ? `fill="${c}" stroke="#303030" stroke-opacity="0.5"` : `fill="none" stroke="${c}" stroke-width="1.5"`;
    const name = label >= 0 ? String(label) : `noise (${label})`;
    out.push(
      `<circle cx="${legendX + 6}" cy="${y - 4}" r="5" ${swatch}/>`,
      `<text x="${legendX + 18}" y="${y}" font-size="12" fill="#202020">${escapeXml(name)} (${l.counts.get(label) ?? 0})</text>`,
    );
  });
  if (listed.length < labels.length) {
    const y = MARGIN.top + row * (listed.length + 1) + 12;
    out.push(`<text x="${legendX}" y="${y}" font-size="12" fill="#606060">+${labels.length - listed.length} more labels</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

// The dots, as the SVG drew them: a cluster point is a disc filled with its colour at
// 0.85 opacity under a 0.6 px #303030 outline at 0.5 opacity; a noise point is a 0.6 px
// ring in the noise colour. Blending is in sRGB bytes, as cairo (librsvg) does.
const FILL_OPACITY = 0.85;
const OUTLINE = rgb('#303030');
const OUTLINE_OPACITY = 0.5;
const STROKE_WIDTH = 0.6;
const PALETTE_RGB = PALETTE.map(rgb);
const NOISE_RGB = rgb(NOISE);
/** The longest the dot loop holds the event loop before letting it turn (a 1M-point plot takes a second or so). */
const TURN_MS = 20;

/** '#rrggbb' as the number 0xrrggbb. */
function rgb(hex: string): number {
  return Number.parseInt(hex.slice(1), 16);
}

/** The part of a 1-px-wide box centred at distance `d` from a circle's centre inside radius `r` (a linear ramp: cheap anti-aliasing). */
function inside(r: number, d: number): number {
  const c = r + 0.5 - d;
  return c <= 0 ? 0 : c >= 1 ? 1 : c;
}

/**
 * Paints one dot centred at (cx, cy) (pixel units, pixel i's centre at i + 0.5) into an
 * RGB buffer: a disc of `radius` in colour `fill` (0xrrggbb) at `fillAlpha` (0: none),
 * then a ring STROKE_WIDTH wide on its edge in `stroke` at `strokeAlpha`, each pixel
 * weighted by how much of it the shape covers.
 */
function drawDot(buf: Uint8ClampedArray, width: number, height: number, cx: number, cy: number, radius: number, fill: number, fillAlpha: number, stroke: number, strokeAlpha: number): void {
  const rIn = radius - STROKE_WIDTH / 2;
  const rOut = radius + STROKE_WIDTH / 2;
  const reach = rOut + 0.5;
  const xa = Math.max(0, Math.floor(cx - reach));
  const xb = Math.min(width - 1, Math.floor(cx + reach));
  const ya = Math.max(0, Math.floor(cy - reach));
  const yb = Math.min(height - 1, Math.floor(cy + reach));
  const fr = fill >> 16;
  const fg = (fill >> 8) & 255;
  const fb = fill & 255;
  const sr = stroke >> 16;
  const sg = (stroke >> 8) & 255;
  const sb = stroke & 255;
  for (let y = ya; y <= yb; y++) {
    const dy = y + 0.5 - cy;
    for (let x = xa; x <= xb; x++) {
      const dx = x + 0.5 - cx;
      const d2 = dx * dx + dy * dy;
      if (d2 >= reach * reach) continue;
      const d = Math.sqrt(d2);
      const i = (y * width + x) * 3;
      let r = buf[i] as number;
      let g = buf[i + 1] as number;
      let b = buf[i + 2] as number;
      const af = fillAlpha * inside(radius, d);
      r += (fr - r) * af;
      g += (fg - g) * af;
      b += (fb - b) * af;
      const as = strokeAlpha * (inside(rOut, d) - inside(rIn, d));
      buf[i] = r + (sr - r) * as;
      buf[i + 1] = g + (sg - g) * as;
      buf[i + 2] = b + (sb - b) * as;
    }
  }
}

/**
 * Paints every finite point into `buf` (RGB, l.width × l.height): noise first, so
 * clusters draw over it, then the clusters, each group in input order (deterministic).
 * Lets the event loop turn every TURN_MS.
 */
async function drawDots(buf: Uint8ClampedArray, l: Layout, points: readonly ScatterPoint[]): Promise<void> {
  let turn = performance.now();
  let drawn = 0;
  for (const noise of [true, false]) {
    for (const p of points) {
      if ((p.label >= 0) === noise || !(Number.isFinite(p.x) && Number.isFinite(p.y))) continue;
      const cx = scaleX(l, p.x);
      const cy = scaleY(l, p.y);
      if (noise) drawDot(buf, l.width, l.height, cx, cy, l.radius, 0, 0, NOISE_RGB, 1);
      else drawDot(buf, l.width, l.height, cx, cy, l.radius, PALETTE_RGB[Math.floor(p.label) % PALETTE_RGB.length] ?? NOISE_RGB, FILL_OPACITY, OUTLINE, OUTLINE_OPACITY);
      if (++drawn % 1024 === 0 && performance.now() - turn > TURN_MS) {
        await setImmediate();
        turn = performance.now();
      }
    }
  }
}

/** The scatter plot as PNG bytes (width × height pixels, RGB). Memory is fixed by the size, not the point count. */
export async function renderScatterPlot(points: readonly ScatterPoint[], opts: ScatterPlotOptions = {}): Promise<Buffer> {
  const l = layout(points, opts);
  const { data, info } = await sharp(Buffer.from(frameSvg(l, opts.title))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== l.width || info.height !== l.height || info.channels !== 3) {
    throw new Error(`plot frame rasterised to ${info.width}×${info.height}×${info.channels}, expected ${l.width}×${l.height}×3`);
  }
  await drawDots(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), l, points);
  return sharp(data, { raw: { width: l.width, height: l.height, channels: 3 } }).png().toBuffer();
}

/** Writes the scatter plot PNG to `path` (parent folders are created). */
export async function writeScatterPlot(path: string, points: readonly ScatterPoint[], opts: ScatterPlotOptions = {}): Promise<void> {
  await writeBytesFile(path, await renderScatterPlot(points, opts));
}
