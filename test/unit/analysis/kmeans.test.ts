import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterKMeans } from '../../../shared/analysis/kmeans.js';
import { kmeansPlusPlus } from '../../../shared/analysis/kmeanspp.js';
import { toArrays } from '../../../shared/analysis/matrix.js';
import { reducePca } from '../../../shared/analysis/pca.js';
import { adjustedRandIndex, makeBlobs } from './blobs.js';

test('k-means: given k recovers well-separated blobs (matrix and nested-array input)', () => {
  const { matrix, labels } = makeBlobs([100, 100, 100, 100], 10, 5, 1);
  const fromMatrix = clusterKMeans(matrix, { k: 4, seed: 1 });
  assert.equal(fromMatrix.k, 4);
  assert.equal(fromMatrix.labels.length, 400);
  assert.ok(adjustedRandIndex(fromMatrix.labels, labels) >= 0.95);
  assert.ok((fromMatrix.silhouette ?? 0) > 0.5, `silhouette ${fromMatrix.silhouette}`);
  const fromArrays = clusterKMeans(toArrays(matrix), { k: 4, seed: 1 });
  assert.deepEqual(fromArrays.labels, fromMatrix.labels);
});

test("k-means: 'auto' chooses the true k by silhouette", () => {
  for (const [sizes, seed] of [
    [[80, 80, 80], 2],
    [[60, 60, 60, 60, 60], 3],
  ] as const) {
    const { matrix, labels } = makeBlobs([...sizes], 8, 6, seed);
    const result = clusterKMeans(matrix, { k: 'auto', seed: 1 });
    assert.equal(result.k, sizes.length, `${sizes.length} blobs`);
    assert.ok(adjustedRandIndex(result.labels, labels) >= 0.95);
    assert.ok(result.silhouette !== undefined && result.silhouette > 0.5);
  }
});

test("k-means: 'auto' on PCA-reduced high-dimensional embeddings (the intended pipeline)", () => {
  const { matrix, labels } = makeBlobs([70, 70, 70, 70], 300, 2, 4);
  const reduced = reducePca(matrix, 20).data;
  const result = clusterKMeans(reduced, { k: 'auto', seed: 5, maxK: 8 });
  assert.equal(result.k, 4);
  assert.ok(adjustedRandIndex(result.labels, labels) >= 0.95);
});

test('k-means: silhouette sampling caps work on N > 2000 and stays deterministic', () => {
  const { matrix, labels } = makeBlobs([900, 800, 700], 5, 6, 6);
  const a = clusterKMeans(matrix, { k: 'auto', seed: 3, maxK: 5 });
  const b = clusterKMeans(matrix, { k: 'auto', seed: 3, maxK: 5 });
  assert.equal(a.k, 3);
  assert.deepEqual(a.labels, b.labels);
  assert.equal(a.silhouette, b.silhouette);
  assert.ok(adjustedRandIndex(a.labels, labels) >= 0.95);
});

test('k-means: labels are numbered by descending cluster size', () => {
  const { matrix } = makeBlobs([30, 90, 60], 4, 8, 7);
  const { labels, k } = clusterKMeans(matrix, { k: 3, seed: 2 });
  assert.equal(k, 3);
  const sizes = [0, 1, 2].map((c) => labels.filter((l) => l === c).length);
  assert.deepEqual(sizes, [90, 60, 30]);
});

test('k-means: degenerate inputs', () => {
  assert.deepEqual(clusterKMeans([], { k: 3, seed: 1 }), { labels: [], k: 0 });
  assert.deepEqual(clusterKMeans([[1, 2]], { k: 'auto', seed: 1 }), { labels: [0], k: 1 });
  assert.deepEqual(clusterKMeans([[1, 2]], { k: 3, seed: 1 }), { labels: [0], k: 1 });
  const same = Array.from({ length: 20 }, () => [1, 1, 1]);
  assert.deepEqual(clusterKMeans(same, { k: 4, seed: 1 }), { labels: new Array<number>(20).fill(0), k: 1 });
  assert.equal(clusterKMeans(same, { k: 'auto', seed: 1 }).k, 1);
  // Two distinct points, k = 5 → capped at 2; no silhouette with k = N.
  const two = clusterKMeans([[0], [10]], { k: 5, seed: 1 });
  assert.equal(two.k, 2);
  assert.equal(two.silhouette, undefined);
  // Too few points for 'auto' (maxK = ⌊√3⌋ = 1).
  assert.equal(clusterKMeans([[0], [1], [2]], { k: 'auto', seed: 1 }).k, 1);
  assert.throws(() => clusterKMeans([[0]], { k: 0, seed: 1 }), RangeError);
  assert.throws(() => clusterKMeans([[0], [1, 2]], { k: 2, seed: 1 }), RangeError);
});

test('k-means++ seeding: k distinct data rows, seeded, stops when points run out', () => {
  const { matrix } = makeBlobs([20, 20, 20], 3, 10, 8);
  const flat = Float64Array.from(matrix.data);
  const a = kmeansPlusPlus(flat, 60, 3, 3, 1);
  assert.equal(a.length, 3);
  assert.deepEqual(a, kmeansPlusPlus(flat, 60, 3, 3, 1));
  const rows = new Set(toArrays(matrix).map((p) => p.join(',')));
  for (const c of a) assert.ok(rows.has(c.join(',')));
  assert.equal(new Set(a.map((c) => c.join(','))).size, 3);
  // Only two distinct points: at most two centres.
  const two = Float64Array.from([0, 0, 0, 0, 5, 5]);
  assert.equal(kmeansPlusPlus(two, 3, 2, 3, 1).length, 2);
});
