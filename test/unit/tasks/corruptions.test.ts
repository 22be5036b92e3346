import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addCrosshair,
  addGaussianNoise,
  addRandomErase,
  addSaltPepper,
  DEFAULT_NOISE,
  downscaleArea,
  imageSeed,
  taskInput,
  toGreyscale,
  upscaleBicubic,
  upscaleNearest,
} from '../../../shared/tasks/index.js';
import { createRng } from '../../../shared/random.js';

const filled = (n: number, v: number) => new Float32Array(n).fill(v);

test('gaussian noise: mean ~0, std ~sigma, clamped to [0, 1], seeded', () => {
  const img = filled(32 * 32 * 3, 0.5);
  addGaussianNoise(img, 0.1, createRng(1));
  const mean = img.reduce((a, b) => a + b, 0) / img.length;
  const std = Math.sqrt(img.reduce((a, b) => a + (b - mean) ** 2, 0) / img.length);
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.1) < 0.01, `std ${std}`);
  const again = filled(32 * 32 * 3, 0.5);
  addGaussianNoise(again, 0.1, createRng(1));
  assert.deepEqual(again, img);
  const edge = filled(300, 0.99);
  addGaussianNoise(edge, 0.5, createRng(2));
  assert.ok(edge.every((v) => v >= 0 && v <= 1));
});

test('salt-and-pepper: about `amount` of the pixels become black or white (all 3 channels)', () => {
  const size = 64;
  const img = filled(size * size * 3, 0.5);
  addSaltPepper(img, size, 0.1, createRng(3));
  let changed = 0;
  for (let p = 0; p < size * size; p++) {
    const v = img[p * 3] as number;
    if (v !== 0.5) {
      changed++;
      assert.ok(v === 0 || v === 1);
      assert.equal(img[p * 3 + 1], v);
      assert.equal(img[p * 3 + 2], v);
    }
  }
  assert.ok(Math.abs(changed / (size * size) - 0.1) < 0.02, `fraction ${changed / (size * size)}`);
});

test('crosshair: one full row band and one full column band of one colour, width within range', () => {
  const size = 16;
  for (let seed = 0; seed < 20; seed++) {
    const img = filled(size * size * 3, -1); // impossible value marks untouched pixels
    addCrosshair(img, size, [1, 3], createRng(seed));
    const painted = (x: number, y: number) => (img[(y * size + x) * 3] as number) >= 0;
    const rows = Array.from({ length: size }, (_, y) => y).filter((y) => Array.from({ length: size }, (_, x) => x).every((x) => painted(x, y)));
    const cols = Array.from({ length: size }, (_, x) => x).filter((x) => Array.from({ length: size }, (_, y) => y).every((y) => painted(x, y)));
    assert.ok(rows.length >= 1 && rows.length <= 3, `rows ${rows.length}`);
    assert.ok(cols.length >= 1 && cols.length <= 3, `cols ${cols.length}`);
    const colours = new Set<string>();
    for (let p = 0; p < size * size; p++) if ((img[p * 3] as number) >= 0) colours.add(`${img[p * 3]},${img[p * 3 + 1]},${img[p * 3 + 2]}`);
    assert.equal(colours.size, 1);
  }
});

test('random erase: one rectangle no larger than the fraction (+rounding), noise or constant fill', () => {
  const size = 32;
  for (const fill of ['noise', 'constant'] as const) {
    const img = filled(size * size * 3, -1);
    addRandomErase(img, size, 0.2, fill, createRng(7));
    const touched: Array<[number, number]> = [];
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if ((img[(y * size + x) * 3] as number) >= 0) touched.push([x, y]);
    assert.ok(touched.length > 0);
    const xs = touched.map((t) => t[0]);
    const ys = touched.map((t) => t[1]);
    const w = Math.max(...xs) - Math.min(...xs) + 1;
    const h = Math.max(...ys) - Math.min(...ys) + 1;
    assert.equal(w * h, touched.length, 'a filled rectangle');
    assert.ok(touched.length <= 0.2 * size * size * 1.3, `area ${touched.length}`);
    const values = new Set(touched.map(([x, y]) => img[(y * size + x) * 3]));
    if (fill === 'constant') assert.equal(values.size, 1);
    else assert.ok(values.size > 1);
  }
});

test('greyscale: Rec. 601 luma in all 3 channels', () => {
  const g = toGreyscale(Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5, 0.5, 0.5]));
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
  [0.299, 0.587, 0.114, 0.5].forEach((y, p) => [0, 1, 2].forEach((c) => close(g[p * 3 + c] as number, y)));
});

test('area downscale averages blocks; nearest upscale repeats; bicubic keeps constants and is exact on ramps inside', () => {
  // 4×4 image, channel value = x + 4y (and 0 in G, B)
  const img = new Float32Array(4 * 4 * 3);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) img[(y * 4 + x) * 3] = (x + 4 * y) / 16;
  const small = downscaleArea(img, 1, 4, 2);
  assert.deepEqual(Array.from(small.filter((_, i) => i % 3 === 0)), [2.5 / 16, 4.5 / 16, 10.5 / 16, 12.5 / 16]);
  const big = upscaleNearest(small, 1, 2, 2);
  assert.equal(big.length, 4 * 4 * 3);
  assert.equal(big[0], small[0]);
  assert.equal(big[(1 * 4 + 1) * 3], small[0]);
  assert.equal(big[(3 * 4 + 3) * 3], small[9]);
  const c = upscaleBicubic(filled(8 * 8 * 3 * 2, 0.3), 2, 8, 4);
  assert.equal(c.length, 2 * 32 * 32 * 3);
  assert.ok(c.every((v) => Math.abs(v - 0.3) < 1e-6));
  // A horizontal ramp: cubic convolution reproduces linear functions away from the edges.
  const ramp = new Float32Array(8 * 8 * 3);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) ramp[(y * 8 + x) * 3] = x / 10;
  const up = upscaleBicubic(ramp, 1, 8, 2);
  for (let X = 4; X < 12; X++) assert.ok(Math.abs((up[(5 * 16 + X) * 3] as number) - ((X + 0.5) / 2 - 0.5) / 10) < 1e-6);
});

test('taskInput: reconstruct returns the same array, others new arrays of the right size; seeded per image', () => {
  const clean = filled(2 * 8 * 8 * 3, 0.5);
  assert.equal(taskInput({ task: 'reconstruct' }, clean, 2, 8, () => createRng(1)), clean);
  const sr = taskInput({ task: 'superres', scale: 4 }, clean, 2, 8, () => createRng(1));
  assert.equal(sr.length, 2 * 2 * 2 * 3);
  const grey = taskInput({ task: 'colorize' }, clean, 2, 8, () => createRng(1));
  assert.notEqual(grey, clean);
  const spec = { task: 'denoise' as const, noise: { ...DEFAULT_NOISE, kinds: ['gaussian' as const, 'crosshair' as const] } };
  const a = taskInput(spec, clean, 2, 8, (i) => createRng(imageSeed(5, i)));
  const b = taskInput(spec, clean, 2, 8, (i) => createRng(imageSeed(5, i)));
  assert.deepEqual(a, b);
  assert.ok(clean.every((v) => v === 0.5), 'the clean batch is left alone');
  assert.notDeepEqual(a.subarray(0, 192), a.subarray(192), 'each image its own noise');
  assert.notEqual(imageSeed(5, 0), imageSeed(5, 1));
  assert.notEqual(imageSeed(5, 0), imageSeed(6, 0));
});
