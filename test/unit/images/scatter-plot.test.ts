// scatter-plot.ts: PNG of the requested size; SVG has escaped title, legend counts,
// the palette colours, and copes with empty input, noise labels and NaN points.
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
