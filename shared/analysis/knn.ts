// Exact k-nearest neighbours by brute force (squared Euclidean), for t-SNE's input
// affinities. Every pair is computed once (i < j) and offered to both points'
// bounded max-heaps, so the cost is N²·D/2 multiply-adds and O(N·k) memory: ~0.5 s
// for N = 3500, D = 50 and ~15–30 s for N = 20 000 on one core. Beyond ~20k points
// an approximate index (e.g. NN-descent / random projection trees) would be needed.
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

  for (let i = 0; i < n; i++) {
    const oi = i * d;
    for (let j = i + 1; j < n; j++) {
      const oj = j * d;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const diff = (data[oi + t] as number) - (data[oj + t] as number);
        s += diff * diff;
      }
      push(i, j, s);
      push(j, i, s);
    }
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
