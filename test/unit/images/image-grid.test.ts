// image-grid.ts: rows of float images, upscaled with nearest neighbour, PNG of the
// documented size; wrong-sized inputs are rejected.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { imageGridLayout, renderImageGrid, writeImageGrid } from '../../../shared/images/image-grid.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgsim-grid-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** size×size grey 0.5 with the top-left pixel red. */
function marked(size: number): Float32Array {
  const img = new Float32Array(size * size * 3).fill(0.5);
  img.set([1, 0, 0], 0);
  return img;
}

void test('default scale makes tiles ≥ 128 px; labels add a left column', async () => {
  const path = join(dir, 'preview.png');
  const rows = [[marked(8), marked(8), marked(8)], [marked(8), marked(8), marked(8)]];
  await writeImageGrid(path, rows, 8, { rowLabels: ['input', 'reconstruction <&>'] });
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const layout = imageGridLayout(2, 3, 8, { rowLabels: ['input', 'reconstruction'] });
  assert.equal(layout.tile, 128);
  assert.deepEqual([info.width, info.height], [140 + 4 + 3 * 132, 4 + 2 * 132]);
  assert.deepEqual([info.width, info.height], [layout.width, layout.height]);
  // Nearest neighbour: the red source pixel becomes an exact 16×16 red block.
  const at = (x: number, y: number): number[] => {
    const i = (y * info.width + x) * info.channels;
    return [data[i] as number, data[i + 1] as number, data[i + 2] as number];
  };
  const { left, top } = layout.imageAt(1, 2);
  assert.deepEqual(at(left, top), [255, 0, 0]);
  assert.deepEqual(at(left + 15, top + 15), [255, 0, 0]);
  assert.deepEqual(at(left + 16, top), [128, 128, 128]);
});

void test('explicit scale, no labels, ragged rows, out-of-range values clamped', async () => {
  const wild = new Float32Array(4 * 4 * 3).fill(2);
  wild[0] = Number.NaN;
  wild[1] = -1;
  const png = await renderImageGrid([[wild], [marked(4), marked(4)]], 4, { scale: 3 });
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [4 + 2 * (12 + 4), 4 + 2 * (12 + 4), 3]);
});

void test('rejects images of the wrong length', async () => {
  await assert.rejects(renderImageGrid([[new Float32Array(10)]], 8), RangeError);
});
