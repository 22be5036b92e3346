import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reducePca, type PcaMethod } from '../../../shared/analysis/pca.js';
import type { EmbeddingMatrix } from '../../../shared/analysis/matrix.js';
import { createRng, gaussian } from '../../../shared/analysis/rng.js';
import { rowDistance } from './blobs.js';

/** N points on a rank-`rank` subspace of D-space (latent std decreasing), plus optional noise. */
function lowRank(n: number, d: number, rank: number, seed: number, noise = 0): EmbeddingMatrix {
  const rng = createRng(seed);
  const basis = Array.from({ length: rank * d }, () => gaussian(rng));
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: rank }, (_, c) => gaussian(rng) * (rank - c) * 2);
    for (let j = 0; j < d; j++) {
      let s = 5 + noise * gaussian(rng); // offset: centring must happen
      for (let c = 0; c < rank; c++) s += (z[c] as number) * (basis[c * d + j] as number);
      data[i * d + j] = s;
    }
  }
  return { rows: n, dim: d, data };
}

/** Max |a − b| over columns, allowing each column to be flipped. */
function maxDiffUpToSign(a: EmbeddingMatrix, b: EmbeddingMatrix): number {
  assert.equal(a.rows, b.rows);
  assert.equal(a.dim, b.dim);
  let worst = 0;
  for (let c = 0; c < a.dim; c++) {
    let same = 0;
    let flipped = 0;
    for (let i = 0; i < a.rows; i++) {
      const x = a.data[i * a.dim + c] as number;
      const y = b.data[i * b.dim + c] as number;
      same = Math.max(same, Math.abs(x - y));
      flipped = Math.max(flipped, Math.abs(x + y));
    }
    worst = Math.max(worst, Math.min(same, flipped));
  }
  return worst;
}

function scale(m: EmbeddingMatrix): number {
  let s = 0;
  for (const v of m.data) s = Math.max(s, Math.abs(v));
  return s;
}

test('pca: explained variance is descending and the rank captures all of it', () => {
  const m = lowRank(80, 30, 3, 1);
  const { data, explainedVariance } = reducePca(m, 6);
  assert.equal(data.rows, 80);
  assert.equal(data.dim, 6);
  assert.equal(explainedVariance.length, 6);
  for (let c = 1; c < 6; c++) assert.ok((explainedVariance[c] as number) <= (explainedVariance[c - 1] as number) + 1e-12);
  const firstThree = (explainedVariance[0] as number) + (explainedVariance[1] as number) + (explainedVariance[2] as number);
  assert.ok(Math.abs(firstThree - 1) < 1e-4, `rank-3 data: first 3 components explain ${firstThree}`);
});

test('pca: projecting onto rank-many components preserves pairwise distances', () => {
  for (const [n, d] of [[60, 25], [20, 100]] as const) {
    const m = lowRank(n, d, 4, 2);
    const { data } = reducePca(m, 4);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const before = rowDistance(m.data, d, i, j);
        const after = rowDistance(data.data, 4, i, j);
        worst = Math.max(worst, Math.abs(before - after) / Math.max(before, 1e-9));
      }
    }
    assert.ok(worst < 1e-3, `${n}×${d}: worst relative distance error ${worst}`);
  }
});

test('pca: gram, covariance and ml-pca SVD paths agree up to sign', () => {
  for (const [n, d] of [[30, 45], [50, 12]] as const) {
    const m = lowRank(n, d, 6, 3, 0.3);
    const k = 5;
    const results = (['gram', 'covariance', 'svd'] as PcaMethod[]).map((method) => reducePca(m, k, { method }));
    const [gram, covariance, svd] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0]];
    const tol = 1e-4 * scale(svd.data);
    assert.ok(maxDiffUpToSign(gram.data, svd.data) < tol, `${n}×${d} gram vs svd`);
    assert.ok(maxDiffUpToSign(covariance.data, svd.data) < tol, `${n}×${d} covariance vs svd`);
    for (let c = 0; c < k; c++) {
      assert.ok(Math.abs((gram.explainedVariance[c] as number) - (svd.explainedVariance[c] as number)) < 1e-6);
      assert.ok(Math.abs((covariance.explainedVariance[c] as number) - (svd.explainedVariance[c] as number)) < 1e-6);
    }
  }
});

test('pca: subspace-iteration eigensolver matches the full decomposition', () => {
  // Decaying spectrum (column j has std 1/√(j+1)); each solver forced explicitly.
  const rng = createRng(4);
  const n = 300;
  const d = 320;
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = gaussian(rng) / Math.sqrt(j + 1);
  const m = { rows: n, dim: d, data };
  const full = reducePca(m, 8, { eigenSolver: 'full' });
  const iterated = reducePca(m, 8, { eigenSolver: 'subspace' });
  assert.ok(maxDiffUpToSign(full.data, iterated.data) < 1e-3 * scale(full.data));
  for (let c = 0; c < 8; c++) assert.ok(Math.abs((full.explainedVariance[c] as number) - (iterated.explainedVariance[c] as number)) < 1e-7);
});

test('pca: components are clamped to min(requested, N−1, D)', () => {
  assert.equal(reducePca(lowRank(5, 3, 2, 5), 10).data.dim, 3);
  assert.equal(reducePca(lowRank(4, 30, 2, 5), 10).data.dim, 3);
  const one = reducePca(lowRank(1, 8, 1, 5), 2);
  assert.equal(one.data.dim, 0);
  assert.equal(one.data.rows, 1);
  assert.deepEqual(one.explainedVariance, []);
  assert.equal(reducePca(lowRank(10, 8, 2, 5), 0).data.dim, 0);
  assert.throws(() => reducePca(lowRank(10, 8, 2, 5), -1), RangeError);
});

test('pca: deterministic signs (same output for the same input, every path)', () => {
  const m = lowRank(40, 16, 3, 6, 0.1);
  const a = reducePca(m, 3);
  const b = reducePca({ ...m, data: m.data.slice() }, 3);
  assert.deepEqual(Array.from(a.data.data), Array.from(b.data.data));
});

test('pca: constant data gives zero scores and zero explained variance', () => {
  const m = { rows: 6, dim: 4, data: new Float32Array(24).fill(3) };
  const { data, explainedVariance } = reducePca(m, 2);
  assert.ok(data.data.every((v) => v === 0));
  assert.deepEqual(explainedVariance, [0, 0]);
});
