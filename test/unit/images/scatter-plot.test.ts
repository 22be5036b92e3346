// scatter-plot.ts: PNG of the requested size whose dots carry the cluster colours,
// identical bytes for the same input, more points than librsvg's 1,000,000-element limit;
// the SVG of the fixed parts has escaped title, legend counts, the palette colours, and
// copes with empty input, noise labels and NaN points.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { PALETTE, labelColour, renderScatterPlot, scatterPlotSvg, writeScatterPlot } from '../../../shared/images/scatter-plot.js';
import { createRng } from '../../../shared/random.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgsim-scatter-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function clusters(): Array<{ x: number; y: number; label: number }> {
  const rng = createRng(7);
  const points = [];
  for (let label = 0; label < 3; label++) {
    for (let i = 0; i < 100; i++) points.push({ x: label * 10 + rng() * 3, y: label * -5 + rng() * 3, label });
  }
  points.push({ x: 5, y: 5, label: -1 }, { x: Number.NaN, y: 1, label: 2 });
  return points;
}

void test('writes a PNG of the requested size', async () => {
  const path = join(dir, 'plots', 'clusters.png');
  await writeScatterPlot(path, clusters(), { title: 'clusters', width: 640, height: 480 });
  const meta = await sharp(path).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.channels, 3);
  assert.deepEqual([meta.width, meta.height], [640, 480]);
});

void test('default size is 900×700, and empty input still renders', async () => {
  const meta = await sharp(await renderScatterPlot([])).metadata();
  assert.deepEqual([meta.width, meta.height], [900, 700]);
});

/** Pixels inside the plot area (left of the legend) within `tol` of `rgb` on every channel. */
function pixelsNear(data: Buffer, width: number, plotRight: number, rgb: readonly number[], tol: number): number {
  let n = 0;
  for (let i = 0; i < data.length; i += 3) {
    if ((i / 3) % width >= plotRight) continue;
    if (Math.abs((data[i] as number) - (rgb[0] as number)) <= tol && Math.abs((data[i + 1] as number) - (rgb[1] as number)) <= tol && Math.abs((data[i + 2] as number) - (rgb[2] as number)) <= tol) n++;
  }
  return n;
}

void test('the PNG decodes and its dots carry the cluster colours (fill at 0.85 over white)', async () => {
  const png = await renderScatterPlot(clusters(), { width: 640, height: 480 });
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 640, 480, 3]);
  const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const plotRight = 640 - 190; // the legend's swatches are full colour: leave them out
  const blend = (hex: string): number[] => [1, 3, 5].map((k) => Math.round(255 + (Number.parseInt(hex.slice(k, k + 2), 16) - 255) * 0.85));
  for (const label of [0, 1, 2]) {
    const n = pixelsNear(data, 640, plotRight, blend(labelColour(label)), 3);
    assert.ok(n >= 100, `label ${label} (${labelColour(label)}): ${n} dot-centre pixels`);
  }
  assert.equal(pixelsNear(data, 640, plotRight, blend(labelColour(3)), 3), 0, 'no dots of an absent label');
});

void test('same points, same bytes (deterministic draw order)', async () => {
  const a = await renderScatterPlot(clusters(), { title: 't' });
  const b = await renderScatterPlot(clusters(), { title: 't' });
  assert.ok(a.equals(b));
});

void test('draws more points than the 1,000,000 SVG elements librsvg accepts', async () => {
  const rng = createRng(3);
  const points = Array.from({ length: 1_000_001 }, (_, i) => ({ x: rng(), y: rng(), label: i % 5 }));
  const meta = await sharp(await renderScatterPlot(points)).metadata();
  assert.deepEqual([meta.width, meta.height], [900, 700]);
});

void test('SVG: escaped title, legend with counts, palette colours, noise and NaN handling', () => {
  const svg = scatterPlotSvg(clusters(), { title: 'k=3 <auto> & "t-SNE"' });
  assert.ok(svg.includes('k=3 &lt;auto&gt; &amp; &quot;t-SNE&quot;'));
  assert.ok(!svg.includes('<auto>'));
  assert.ok(svg.includes('>0 (100)<') && svg.includes('>1 (100)<') && svg.includes('>2 (101)<'), 'legend counts');
  assert.ok(svg.includes('noise (-1) (1)'));
  assert.ok(svg.includes('1 point(s) with non-finite coordinates not drawn'));
  for (const c of PALETTE.slice(0, 3)) assert.ok(svg.includes(c), c);
  assert.equal(labelColour(0), PALETTE[0]);
  assert.equal(labelColour(PALETTE.length + 1), PALETTE[1]);
  assert.notEqual(labelColour(-1), labelColour(0));
  assert.equal(new Set(PALETTE).size, PALETTE.length, 'palette colours are distinct');
});

void test('many labels: the legend lists what fits and says how many more', () => {
  const points = Array.from({ length: 60 }, (_, i) => ({ x: i, y: i % 7, label: i }));
  const svg = scatterPlotSvg(points, { width: 400, height: 300 });
  assert.match(svg, /\+\d+ more labels/);
});

void test('rejects unusable sizes', () => {
  assert.throws(() => scatterPlotSvg([], { width: 100, height: 100 }), RangeError);
});
