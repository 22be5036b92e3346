import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gramMatrix, multiplyABt } from '../../../shared/analysis/gram.js';
import { topEigenpairs } from '../../../shared/analysis/eigen.js';
import { exactKnn } from '../../../shared/analysis/knn.js';
import { l2NormalizeRows, row, createMatrix, fromArrays, toArrays } from '../../../shared/analysis/matrix.js';
import { createRng, gaussian, sampleIndices } from '../../../shared/analysis/rng.js';

function randomArray(length: number, seed: number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length }, () => gaussian(rng));
}

test('gramMatrix and multiplyABt match naive products on awkward shapes', () => {
  for (const [r, c] of [[1, 1], [2, 3], [5, 7], [6, 1030], [9, 4]] as const) {
    const a = randomArray(r * c, r * 31 + c);
    const g = gramMatrix(a, r, c, 2);
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < r; j++) {
        let s = 0;
        for (let t = 0; t < c; t++) s += (a[i * c + t] as number) * (a[j * c + t] as number);
        assert.ok(Math.abs((g[i * r + j] as number) - s / 2) < 1e-9, `gram ${r}×${c} [${i},${j}]`);
      }
    }
    for (const rb of [1, 3, 5, 8]) {
      const b = randomArray(rb * c, rb);
      const out = multiplyABt(a, r, b, rb, c);
      for (let i = 0; i < r; i++) {
        for (let j = 0; j < rb; j++) {
          let s = 0;
          for (let t = 0; t < c; t++) s += (a[i * c + t] as number) * (b[j * c + t] as number);
          assert.ok(Math.abs((out[j * r + i] as number) - s) < 1e-9, `ABt ${r}×${rb}×${c} [${i},${j}]`);
        }
      }
    }
  }
});

test('topEigenpairs: eigenvectors satisfy G·v = λ·v, values descending, both solvers', () => {
  const s = 60;
  const x = randomArray(s * 80, 11);
  for (let j = 0; j < 80; j++) for (let i = 0; i < s; i++) x[i * 80 + j] = (x[i * 80 + j] as number) / (1 + j); // decaying spectrum
  const g = gramMatrix(x, s, 80);
  for (const method of ['full', 'subspace'] as const) {
    const { values, vectors } = topEigenpairs(g, s, 5, { method });
    assert.equal(values.length, 5);
    for (let c = 1; c < 5; c++) assert.ok((values[c] as number) <= (values[c - 1] as number));
    for (let c = 0; c < 5; c++) {
      let residual = 0;
      let norm = 0;
      for (let i = 0; i < s; i++) {
        let gv = 0;
        for (let j = 0; j < s; j++) gv += (g[i * s + j] as number) * (vectors[c * s + j] as number);
        residual += (gv - (values[c] as number) * (vectors[c * s + i] as number)) ** 2;
        norm += (vectors[c * s + i] as number) ** 2;
      }
      assert.ok(Math.abs(norm - 1) < 1e-9, `${method}: unit eigenvector`);
      assert.ok(Math.sqrt(residual) < 1e-5 * (values[0] as number), `${method}: residual of pair ${c}`);
    }
  }
});

test('exactKnn matches a naive sort, excludes self, handles k ≥ N', () => {
  const rng = createRng(3);
  const n = 40;
  const d = 5;
  const data = Float32Array.from({ length: n * d }, () => Math.round(gaussian(rng) * 2)); // integer grid → ties
  const m = { rows: n, dim: d, data };
  const { k, indices, distances } = exactKnn(m, 7);
  assert.equal(k, 7);
  for (let i = 0; i < n; i++) {
    const naive: Array<[number, number]> = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let t = 0; t < d; t++) s += ((data[i * d + t] as number) - (data[j * d + t] as number)) ** 2;
      naive.push([s, j]);
    }
    naive.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let t = 0; t < k; t++) {
      const [dist, j] = naive[t] as [number, number];
      assert.equal(indices[i * k + t], j, `row ${i} rank ${t}`);
      assert.equal(distances[i * k + t], dist);
    }
  }
  assert.equal(exactKnn({ rows: 3, dim: 2, data: new Float32Array(6) }, 10).k, 2);
  assert.equal(exactKnn({ rows: 1, dim: 2, data: new Float32Array(2) }, 10).k, 0);
});

test('matrix helpers: row view, L2 normalisation, conversions, shape checks', () => {
  const m = fromArrays([
    [3, 4],
    [0, 0],
    [1, 0],
  ]);
  assert.deepEqual(Array.from(row(m, 0)), [3, 4]);
  row(m, 2)[1] = 5; // a view: writes go through
  assert.equal(m.data[5], 5);
  const u = l2NormalizeRows(m);
  assert.ok(Math.abs((u.data[0] as number) - 0.6) < 1e-7 && Math.abs((u.data[1] as number) - 0.8) < 1e-7);
  assert.deepEqual(Array.from(row(u, 1)), [0, 0]);
  assert.deepEqual(toArrays(createMatrix(2, 1, new Float32Array([1, 2]))), [[1], [2]]);
  assert.throws(() => createMatrix(2, 2, new Float32Array(3)), RangeError);
  assert.throws(() => row(m, 3), RangeError);
});

test('rng: seeded, uniform in [0,1), sampleIndices distinct and sorted', () => {
  const a = createRng(42);
  const b = createRng(42);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 1000 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05);
  const sample = sampleIndices(100, 30, createRng(1));
  assert.equal(new Set(sample).size, 30);
  assert.deepEqual(sample, [...sample].sort((p, q) => p - q));
  assert.deepEqual(sampleIndices(5, 10, createRng(1)), [0, 1, 2, 3, 4]);
});
