// Renders 2-D points (e.g. a t-SNE layout) as a PNG scatter plot coloured by
// cluster label: a title, a framed plot area with tick labels, one dot per point,
// and a legend on the right listing each label with its point count.
//
// Colours: a fixed palette of 20 distinct colours indexed by label (label 20 reuses
// colour 0, and so on); negative labels (e.g. DBSCAN's -1 "noise") are hollow grey
// rings. Points with a non-finite coordinate are not drawn (counted under the plot).
// Drawn as SVG (text XML-escaped) and rasterised by sharp.

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

function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [-1, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.04;
  return [lo - pad, hi + pad];
}

/** The scatter plot as an SVG document. */
export function scatterPlotSvg(points: readonly ScatterPoint[], opts: ScatterPlotOptions = {}): string {
  const width = opts.width ?? 900;
  const height = opts.height ?? 700;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 320 && height >= 240)) {
    throw new RangeError(`plot must be at least 320×240 integer pixels, got ${width}×${height}`);
  }
  const shown = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const hidden = points.length - shown.length;
  const [x0, x1] = extent(shown.map((p) => p.x));
  const [y0, y1] = extent(shown.map((p) => p.y));
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const sx = (x: number): number => MARGIN.left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number): number => MARGIN.top + plotH - ((y - y0) / (y1 - y0)) * plotH;
  const radius = shown.length <= 500 ? 4 : shown.length <= 5000 ? 3 : 2;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${SANS}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ];
  if (opts.title !== undefined) {
    out.push(`<text x="${width / 2}" y="30" font-size="18" font-weight="bold" text-anchor="middle" fill="#202020">${escapeXml(opts.title)}</text>`);
  }
  // Frame, grid and ticks.
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#404040"/>`);
  for (const t of niceTicks(x0, x1, TICKS)) {
    const x = px(sx(t));
    out.push(
      `<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + plotH}" stroke="#ececec"/>`,
      `<line x1="${x}" y1="${MARGIN.top + plotH}" x2="${x}" y2="${MARGIN.top + plotH + 5}" stroke="#404040"/>`,
      `<text x="${x}" y="${MARGIN.top + plotH + 20}" font-size="12" text-anchor="middle" fill="#404040">${tickText(t)}</text>`,
    );
  }
  for (const t of niceTicks(y0, y1, TICKS)) {
    const y = px(sy(t));
    out.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotW}" y2="${y}" stroke="#ececec"/>`,
      `<line x1="${MARGIN.left - 5}" y1="${y}" x2="${MARGIN.left}" y2="${y}" stroke="#404040"/>`,
      `<text x="${MARGIN.left - 8}" y="${y}" font-size="12" text-anchor="end" dominant-baseline="middle" fill="#404040">${tickText(t)}</text>`,
    );
  }
  // Points (noise first, so clusters draw over it).
  const ordered = [...shown].sort((a, b) => Number(a.label >= 0) - Number(b.label >= 0));
  out.push(`<g stroke-width="0.6">`);
  for (const p of ordered) {
    const c = labelColour(p.label);
    const fill = p.label >= 0 ? `fill="${c}" fill-opacity="0.85" stroke="#303030" stroke-opacity="0.5"` : `fill="none" stroke="${c}"`;
    out.push(`<circle cx="${px(sx(p.x))}" cy="${px(sy(p.y))}" r="${radius}" ${fill}/>`);
  }
  out.push(`</g>`);
  if (shown.length === 0) {
    out.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH / 2}" font-size="14" text-anchor="middle" fill="#808080">no points</text>`);
  }
  if (hidden > 0) {
    out.push(`<text x="${MARGIN.left}" y="${height - 10}" font-size="12" fill="#a00000">${hidden} point(s) with non-finite coordinates not drawn</text>`);
  }
  // Legend: one row per label, as many as fit.
  const counts = new Map<number, number>();
  for (const p of points) counts.set(p.label, (counts.get(p.label) ?? 0) + 1);
  const labels = [...counts.keys()].sort((a, b) => a - b);
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
      `<text x="${legendX + 18}" y="${y}" font-size="12" fill="#202020">${escapeXml(name)} (${counts.get(label) ?? 0})</text>`,
    );
  });
  if (listed.length < labels.length) {
    const y = MARGIN.top + row * (listed.length + 1) + 12;
    out.push(`<text x="${legendX}" y="${y}" font-size="12" fill="#606060">+${labels.length - listed.length} more labels</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

/** The scatter plot as PNG bytes (width × height pixels). */
export async function renderScatterPlot(points: readonly ScatterPoint[], opts: ScatterPlotOptions = {}): Promise<Buffer> {
  return sharp(Buffer.from(scatterPlotSvg(points, opts))).removeAlpha().png().toBuffer();
}

/** Writes the scatter plot PNG to `path` (parent folders are created). */
export async function writeScatterPlot(path: string, points: readonly ScatterPoint[], opts: ScatterPlotOptions = {}): Promise<void> {
  await writeBytesFile(path, await renderScatterPlot(points, opts));
}
