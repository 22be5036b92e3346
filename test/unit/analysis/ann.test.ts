// Approximate nearest neighbours (random-projection forest + NN-descent) against the
// exact kNN on small blobs, and the graph search that finds a new point's nearest
// sample points.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AnnSearcher } from '../../../shared/analysis/ann-query.js';
import { exactKnn } from '../../../shared/analysis/knn.js';
import { approximateKnn, nearestNeighbours } from '../../../shared/analysis/nn-descent.js';
import { makeBlobs } from './blobs.js';

function recall(a: Int32Array, b: Int32Array, n: number, k: number): number {
  let hit = 0;
  for (let i = 0; i < n; i++) {
    const truth = new Set(b.subarray(i * k, (i + 1) * k));
    for (let t = 0; t < k; t++) if (truth.has(a[i * k + t] as number)) hit++;
  }
  return hit / (n * k);
}

describe('approximate nearest neighbours', () => {
  const { matrix } = makeBlobs([500, 500, 500, 500], 20, 3, 11);
  const k = 15;
  const exact = exactKnn(matrix, k);

  test('recall@15 against the exact kNN: ≥ 0.9 by default (2 rounds), ≥ 0.98 after 4; rows sorted, never the point itself', () => {
    const ann = approximateKnn(matrix, k, { seed: 3, leafSize: 32 });
    const r = recall(ann.knn.indices, exact.indices, matrix.rows, k);
    assert.ok(r >= 0.9, `recall ${r.toFixed(3)}`);
    const more = approximateKnn(matrix, k, { seed: 3, leafSize: 32, rounds: 4, delta: 0 });
    const r4 = recall(more.knn.indices, exact.indices, matrix.rows, k);
    assert.ok(r4 >= 0.98, `recall after 4 rounds ${r4.toFixed(3)}`);
    for (let i = 0; i < matrix.rows; i++) {
      for (let t = 0; t < k; t++) {
        assert.notEqual(ann.knn.indices[i * k + t], i);
        if (t > 0) assert.ok((ann.knn.distances[i * k + t] as number) >= (ann.knn.distances[i * k + t - 1] as number));
      }
    }
  });

  test('is seeded: the same graph twice; exact below the threshold', () => {
    const a = approximateKnn(matrix, k, { seed: 3, leafSize: 32 });
    const b = approximateKnn(matrix, k, { seed: 3, leafSize: 32 });
    assert.deepEqual(a.knn.indices, b.knn.indices);
    assert.deepEqual(nearestNeighbours(matrix, k, { seed: 3 }).indices, exact.indices);
  });

  test('a new point finds its nearest sample points through the graph (recall@10 ≥ 0.9)', () => {
    const graph = approximateKnn(matrix, k, { seed: 3, leafSize: 32 });
    const queries = makeBlobs([50, 50, 50, 50], 20, 3, 11); // same centres, other noise draws
    const searcher = new AnnSearcher(matrix, graph, { k: 10 });
    const idx = new Int32Array(10);
    const dist = new Float64Array(10);
    let hit = 0;
    for (let q = 0; q < queries.matrix.rows; q++) {
      searcher.search(queries.matrix.data, q, idx, dist, 0);
      const all = Array.from({ length: matrix.rows }, (_, j) => {
        let s = 0;
        for (let c = 0; c < 20; c++) s += ((queries.matrix.data[q * 20 + c] as number) - (matrix.data[j * 20 + c] as number)) ** 2;
        return [s, j] as const;
      }).sort((x, y) => x[0] - y[0]);
      const truth = new Set(all.slice(0, 10).map((e) => e[1]));
      for (const j of idx) if (truth.has(j)) hit++;
    }
    const r = hit / (queries.matrix.rows * 10);
    assert.ok(r >= 0.9, `query recall ${r.toFixed(3)}`);
  });
});
