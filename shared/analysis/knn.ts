// Exact k-nearest neighbours by brute force (squared Euclidean), for t-SNE's input
// affinities. Every pair is computed once (i < j) and offered to both points'
// bounded max-heaps, so the cost is N²·D/2 multiply-adds and O(N·k) memory.
// Measured on one core at D = 50, k = 90: N = 3500 ≈ 0.7 s, N = 10 000 ≈ 5 s, so
// N = 20 000 ≈ 20 s. That is the practical limit; beyond it t-SNE needs an
// approximate kNN (NN-descent, random-projection trees) instead.
import type { EmbeddingMatrix } from './matrix.js';

export interface KnnResult {
  /** Neighbours per point (min(k, N−1)). */
  k: number;
  /** N×k neighbour indices, row i sorted by ascending distance (ties: lower index). */
  indices: Int32Array;
  /** N×k squared Euclidean distances, aligned with `indices`. */
  distances: Float64Array;
}

/** The k nearest other points of every row of `m` (a point is never its own neighbour). */
export function exactKnn(m: EmbeddingMatrix, k: number): KnnResult {
  const { rows: n, dim: d, data } = m;
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`exactKnn: k must be a non-negative integer, got ${k}`);
  const kk = Math.min(k, Math.max(0, n - 1));
  const idx = new Int32Array(n * kk);
  const dist = new Float64Array(n * kk);
  if (kk === 0) return { k: 0, indices: idx, distances: dist };
  const count = new Int32Array(n);

  // Push (j, dj) into point i's max-heap (root = farthest kept neighbour).
  const push = (i: number, j: number, dj: number): void => {
    const base = i * kk;
    const c = count[i] as number;
    if (c < kk) {
      let pos = c;
      count[i] = c + 1;
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        const dp = dist[base + parent] as number;
        if (dp > dj || (dp === dj && (idx[base + parent] as number) > j)) break;
        dist[base + pos] = dp;
        idx[base + pos] = idx[base + parent] as number;
        pos = parent;
      }
      dist[base + pos] = dj;
      idx[base + pos] = j;
      return;
    }
    const root = dist[base] as number;
    if (dj > root || (dj === root && j > (idx[base] as number))) return;
    let pos = 0;
    for (;;) {
      const l = 2 * pos + 1;
      if (l >= kk) break;
      let child = l;
      const r = l + 1;
      if (r < kk) {
        const dl = dist[base + l] as number;
        const dr = dist[base + r] as number;
        if (dr > dl || (dr === dl && (idx[base + r] as number) > (idx[base + l] as number))) child = r;
      }
      const dc = dist[base + child] as number;
      if (dc < dj || (dc === dj && (idx[base + child] as number) < j)) break;
      dist[base + pos] = dc;
      idx[base + pos] = idx[base + child] as number;
      pos = child;
    }
    dist[base + pos] = dj;
    idx[base + pos] = j;
  };

  // Rows i and i+1 at a time: their squared distances to every later row are
  // computed by a tight kernel into two buffers, then offered to both heaps. Most
  // pairs are farther than the heaps' current worst, so the root test comes first.
  const x = Float64Array.from(data);
  const da = new Float64Array(n);
  const db = new Float64Array(n);
  const offer = (i: number, buffer: Float64Array, from: number): void => {
    for (let j = from; j < n; j++) {
      const s = buffer[j] as number;
      if ((count[i] as number) < kk || s <= (dist[i * kk] as number)) push(i, j, s);
      if ((count[j] as number) < kk || s <= (dist[j * kk] as number)) push(j, i, s);
    }
  };
  for (let i = 0; i < n; i += 2) {
    if (i + 1 >= n) break; // n odd: the last row's pairs were all offered already
    distancesFrom(x, d, n, i, da, db);
    offer(i, da, i + 1);
    offer(i + 1, db, i + 2);
  }

  // Heaps → ascending order.
  const order = new Array<number>(kk);
  const tmpIdx = new Int32Array(kk);
  const tmpDist = new Float64Array(kk);
  for (let i = 0; i < n; i++) {
    const base = i * kk;
    for (let t = 0; t < kk; t++) order[t] = t;
    order.sort((a, b) => (dist[base + a] as number) - (dist[base + b] as number) || (idx[base + a] as number) - (idx[base + b] as number));
    for (let t = 0; t < kk; t++) {
      const o = order[t] as number;
      tmpIdx[t] = idx[base + o] as number;
      tmpDist[t] = dist[base + o] as number;
    }
    idx.set(tmpIdx, base);
    dist.set(tmpDist, base);
  }
  return { k: kk, indices: idx, distances: dist };
}

/**
 * Squared distances from rows i and i+1 of x (row-major n×d) to rows j > i+1, into
 * outA[j] / outB[j]; outA[i+1] gets the (i, i+1) pair. A 2×4 register block (two
 * rows against four) so each loaded value is used several times — about 4× faster
 * than one pair at a time in V8.
 */
function distancesFrom(x: Float64Array, d: number, n: number, i: number, outA: Float64Array, outB: Float64Array): void {
  const oa = i * d;
  const ob = oa + d;
  let s = 0;
  for (let t = 0; t < d; t++) {
    const q = (x[oa + t] as number) - (x[ob + t] as number);
    s += q * q;
  }
  outA[i + 1] = s;
  let j = i + 2;
  for (; j + 3 < n; j += 4) {
    const o0 = j * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let b0 = 0;
    let b1 = 0;
    let b2 = 0;
    let b3 = 0;
    for (let t = 0; t < d; t++) {
      const xa = x[oa + t] as number;
      const xb = x[ob + t] as number;
      const p0 = x[o0 + t] as number;
      const p1 = x[o1 + t] as number;
      const p2 = x[o2 + t] as number;
      const p3 = x[o3 + t] as number;
      let q = xa - p0;
      a0 += q * q;
      q = xa - p1;
      a1 += q * q;
      q = xa - p2;
      a2 += q * q;
      q = xa - p3;
      a3 += q * q;
      q = xb - p0;
      b0 += q * q;
      q = xb - p1;
      b1 += q * q;
      q = xb - p2;
      b2 += q * q;
      q = xb - p3;
      b3 += q * q;
    }
    outA[j] = a0;
    outA[j + 1] = a1;
    outA[j + 2] = a2;
    outA[j + 3] = a3;
    outB[j] = b0;
    outB[j + 1] = b1;
    outB[j + 2] = b2;
    outB[j + 3] = b3;
  }
  for (; j < n; j++) {
    const oj = j * d;
    let sa = 0;
    let sb = 0;
    for (let t = 0; t < d; t++) {
      const p = x[oj + t] as number;
      const qa = (x[oa + t] as number) - p;
      const qb = (x[ob + t] as number) - p;
      sa += qa * qa;
      sb += qb * qb;
    }
    outA[j] = sa;
    outB[j] = sb;
  }
}
