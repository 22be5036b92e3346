// Mini-batch k-means (the labels of a map larger than its sample) recovers blobs, picks
// their number by silhouette, and is seeded.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { miniBatchKMeans } from '../../../shared/analysis/minibatch-kmeans.js';
import { adjustedRandIndex, makeBlobs } from './blobs.js';

describe('miniBatchKMeans', () => {
  const { matrix, labels } = makeBlobs([1500, 1000, 700, 400], 30, 4, 5);

  test('recovers four blobs with k given, label 0 the largest', () => {
    const r = miniBatchKMeans(matrix.data, matrix.rows, matrix.dim, { k: 4, seed: 1, batchSize: 256 });
    assert.equal(r.k, 4);
    const ari = adjustedRandIndex(Array.from(r.labels), labels);
    assert.ok(ari > 0.98, `ARI ${ari.toFixed(3)}`);
    const sizes = [0, 0, 0, 0];
    for (const l of r.labels) sizes[l] = (sizes[l] as number) + 1;
    assert.deepEqual([...sizes].sort((a, b) => b - a), sizes);
  });

  test("'auto' chooses k = 4 by silhouette; the same seed gives the same labels", () => {
    const a = miniBatchKMeans(matrix.data, matrix.rows, matrix.dim, { k: 'auto', seed: 2, maxK: 8 });
    assert.equal(a.k, 4);
    assert.ok((a.silhouette ?? 0) > 0.3, `silhouette ${a.silhouette}`);
    const b = miniBatchKMeans(matrix.data, matrix.rows, matrix.dim, { k: 'auto', seed: 2, maxK: 8 });
    assert.deepEqual(a.labels, b.labels);
  });
});
