// t-SNE input affinities P from k nearest neighbours (van der Maaten 2014, as in
// bhtsne / scikit-learn's Barnes-Hut method): for each point a Gaussian over its k
// neighbours whose bandwidth is found by binary search so that its entropy equals
// log(perplexity); then symmetrised, P = (P + Pᵀ) / 2N, and stored sparse (CSR)
// because only these ~N·k·2 pairs attract.
import type { KnnResult } from './knn.js';

/** Symmetric sparse matrix in compressed-sparse-row form; values sum to 1. */
export interface SparseAffinities {
  n: number;
  /** Row i's entries are at [rowStart[i], rowStart[i+1]). */
  rowStart: Int32Array;
  columns: Int32Array;
  values: Float64Array;
}

const TOLERANCE = 1e-5;
const MAX_STEPS = 200;

/**
 * Row-conditional probabilities p(j|i) over each point's neighbours (N×k, aligned
 * with knn.indices). Distances are squared Euclidean, shifted by the row minimum
 * before exponentiating so far-apart data does not underflow to all zeros.
 */
export function conditionalAffinities(knn: KnnResult, n: number, perplexity: number): Float64Array {
  const { k, distances } = knn;
  const p = new Float64Array(n * k);
  if (k === 0) return p;
  const target = Math.log(perplexity);
  for (let i = 0; i < n; i++) {
    const base = i * k;
    let dmin = Infinity;
    for (let t = 0; t < k; t++) dmin = Math.min(dmin, distances[base + t] as number);
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    for (let step = 0; step < MAX_STEPS; step++) {
      let sum = 0;
      for (let t = 0; t < k; t++) {
        const v = Math.exp(-((distances[base + t] as number) - dmin) * beta);
        p[base + t] = v;
        sum += v;
      }
      let weighted = 0;
      for (let t = 0; t < k; t++) {
        const v = (p[base + t] as number) / sum;
        p[base + t] = v;
        weighted += ((distances[base + t] as number) - dmin) * v;
      }
      const entropy = Math.log(sum) + beta * weighted;
      const diff = entropy - target;
      if (Math.abs(diff) <= TOLERANCE) break;
      if (diff > 0) {
        // Too flat: narrow the Gaussian.
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
  }
  return p;
}

/** P = (P_cond + P_condᵀ) / (2N) as CSR, columns ascending within each row. */
export function symmetrise(knn: KnnResult, conditional: Float64Array, n: number): SparseAffinities {
  const { k, indices } = knn;
  // Count entries per row: each (i, j) lands in row i and row j (merged below).
  const counts = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const j = indices[i * k + t] as number;
      counts[i + 1] = (counts[i + 1] as number) + 1;
      counts[j + 1] = (counts[j + 1] as number) + 1;
    }
  }
  for (let i = 0; i < n; i++) counts[i + 1] = (counts[i + 1] as number) + (counts[i] as number);
  const total = counts[n] as number;
  const rawCols = new Int32Array(total);
  const rawVals = new Float64Array(total);
  const fill = counts.slice(0, n);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const j = indices[i * k + t] as number;
      const v = conditional[i * k + t] as number;
      let at = fill[i] as number;
      rawCols[at] = j;
      rawVals[at] = v;
      fill[i] = at + 1;
      at = fill[j] as number;
      rawCols[at] = i;
      rawVals[at] = v;
      fill[j] = at + 1;
    }
  }
  // Sort each row by column and merge duplicates (pairs that are mutual neighbours).
  const rowStart = new Int32Array(n + 1);
  const columns = new Int32Array(total);
  const values = new Float64Array(total);
  let out = 0;
  const order: number[] = [];
  const scale = 1 / (2 * n);
  for (let i = 0; i < n; i++) {
    rowStart[i] = out;
    const a = counts[i] as number;
    const b = counts[i + 1] as number;
    order.length = 0;
    for (let e = a; e < b; e++) order.push(e);
    order.sort((x, y) => (rawCols[x] as number) - (rawCols[y] as number));
    let last = -1;
    for (const e of order) {
      const c = rawCols[e] as number;
      const v = (rawVals[e] as number) * scale;
      if (c === last) {
        values[out - 1] = (values[out - 1] as number) + v;
      } else {
        columns[out] = c;
        values[out] = v;
        out++;
        last = c;
      }
    }
  }
  rowStart[n] = out;
  return { n, rowStart, columns: columns.slice(0, out), values: values.slice(0, out) };
}
