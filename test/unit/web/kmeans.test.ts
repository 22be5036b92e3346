// The web map's "map regions" (web/src/map/kmeans.ts): k-means on the 2-D map coordinates,
// so that a colour is one area of the map. Pure code, run here under Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapRegions, seededRandom } from '../../../web/src/map/kmeans.js';

/** `blobs` well-separated square blobs on a grid, `per` points each, in a shuffled order. */
function blobs(count: number, per: number, seed = 3): { xs: Float32Array; ys: Float32Array; blob: Int32Array } {
  const random = seededRandom(seed);
  const n = count * per;
  const xs = new Float32Array(n);
  const ys = new Float32Array(n);
  const blob = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const b = Math.floor(random() * count);
    blob[i] = b;
    xs[i] = (b % 5) * 10 + random() * 3;
    ys[i] = Math.floor(b / 5) * 10 + random() * 3;
  }
  return { xs, ys, blob };
}

/** Each region holds points of one blob only, and each blob is one region. */
function assertOneToOne(labels: Int32Array, blob: Int32Array): void {
  const regionOfBlob = new Map<number, number>();
  const blobOfRegion = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const r = labels[i] as number;
    const b = blob[i] as number;
    assert.equal(regionOfBlob.get(b) ?? r, r, `blob ${b} split between regions`);
    assert.equal(blobOfRegion.get(r) ?? b, b, `region ${r} spans blobs`);
    regionOfBlob.set(b, r);
    blobOfRegion.set(r, b);
  }
}

test('separated blobs: one region per blob, labels by descending size, deterministic', () => {
  const { xs, ys, blob } = blobs(10, 300);
  const a = mapRegions(xs, ys, 10);
  assertOneToOne(a.labels, blob);
  assert.equal(a.sizes.length, 10);
  assert.equal(
    a.sizes.reduce((s, x) => s + x, 0),
    xs.length,
  );
  for (let j = 1; j < a.sizes.length; j++) assert.ok((a.sizes[j - 1] as number) >= (a.sizes[j] as number), 'label 0 is the largest region');
  const b = mapRegions(xs, ys, 10);
  assert.deepEqual(b.labels, a.labels, 'same input, same regions');
});

test('a large map is fitted on a sample and every point labelled', () => {
  const { xs, ys, blob } = blobs(20, 2_500, 9); // 50,000 points
  const started = performance.now();
  const r = mapRegions(xs, ys, 20);
  const ms = performance.now() - started;
  assertOneToOne(r.labels, blob);
  assert.ok(ms < 5_000, `50,000 points, k = 20 in ${ms.toFixed(0)} ms`);
});

test('k above the number of points, and identical points', () => {
  const few = mapRegions(new Float32Array([0, 1, 2]), new Float32Array([0, 0, 0]), 10);
  assert.equal(few.sizes.length, 3);
  assert.deepEqual([...few.labels].sort(), [0, 1, 2]);
  const same = mapRegions(new Float32Array(50).fill(1), new Float32Array(50).fill(2), 4);
  assert.equal(same.labels.length, 50);
  assert.equal(same.sizes.reduce((s, x) => s + x, 0), 50);
});
