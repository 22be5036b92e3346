// Every point's k best neighbours so far, as N bounded max-heaps in flat typed arrays
// (root = the farthest kept neighbour, so "is this candidate better?" is one compare).
// Used while building an approximate kNN graph (nn-descent.ts), where a candidate can
// be offered many times: push() skips a neighbour already held. Each entry carries a
// "new" flag: NN-descent only joins neighbours that arrived since the last round.
import type { KnnResult } from './knn.js';

export class NeighbourHeaps {
  readonly indices: Int32Array;
  readonly distances: Float64Array;
  readonly fresh: Uint8Array;
  readonly count: Int32Array;

  constructor(
    readonly n: number,
    readonly k: number,
  ) {
    this.indices = new Int32Array(n * k).fill(-1);
    this.distances = new Float64Array(n * k).fill(Infinity);
    this.fresh = new Uint8Array(n * k);
    this.count = new Int32Array(n);
  }

  /** Distance of i's farthest kept neighbour (Infinity while it has fewer than k). */
  worst(i: number): number {
    return (this.count[i] as number) < this.k ? Infinity : (this.distances[i * this.k] as number);
  }

  /** Offer j (at squared distance dj) to i; true when it was kept. */
  push(i: number, j: number, dj: number): boolean {
    const k = this.k;
    const base = i * k;
    const c = this.count[i] as number;
    const idx = this.indices;
    const dist = this.distances;
    const fresh = this.fresh;
    if (c >= k && dj >= (dist[base] as number)) return false;
    for (let t = 0; t < c; t++) if (idx[base + t] === j) return false;
    if (c < k) {
      let pos = c;
      this.count[i] = c + 1;
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        const dp = dist[base + parent] as number;
        if (dp >= dj) break;
        dist[base + pos] = dp;
        idx[base + pos] = idx[base + parent] as number;
        fresh[base + pos] = fresh[base + parent] as number;
        pos = parent;
      }
      dist[base + pos] = dj;
      idx[base + pos] = j;
      fresh[base + pos] = 1;
      return true;
    }
    let pos = 0;
    for (;;) {
      const l = 2 * pos + 1;
      if (l >= k) break;
      let child = l;
      const r = l + 1;
      if (r < k && (dist[base + r] as number) > (dist[base + l] as number)) child = r;
      const dc = dist[base + child] as number;
      if (dc <= dj) break;
      dist[base + pos] = dc;
      idx[base + pos] = idx[base + child] as number;
      fresh[base + pos] = fresh[base + child] as number;
      pos = child;
    }
    dist[base + pos] = dj;
    idx[base + pos] = j;
    fresh[base + pos] = 1;
    return true;
  }

  /** The heaps as a KnnResult: each row sorted by ascending distance (ties: lower index). */
  toKnn(): KnnResult {
    const { n, k } = this;
    const order = new Array<number>(k);
    const ti = new Int32Array(k);
    const td = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const base = i * k;
      const c = this.count[i] as number;
      if (c < k) throw new Error(`kNN graph: point ${i} has ${c} of ${k} neighbours`);
      for (let t = 0; t < k; t++) order[t] = t;
      order.sort((a, b) => (this.distances[base + a] as number) - (this.distances[base + b] as number) || (this.indices[base + a] as number) - (this.indices[base + b] as number));
      for (let t = 0; t < k; t++) {
        const o = order[t] as number;
        ti[t] = this.indices[base + o] as number;
        td[t] = this.distances[base + o] as number;
      }
      this.indices.set(ti, base);
      this.distances.set(td, base);
    }
    return { k, indices: this.indices, distances: this.distances };
  }
}

/** Squared Euclidean distance between row i of a and row j of b (both row-major, dim d). */
export function squaredDistance(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, d: number): number {
  const oa = i * d;
  const ob = j * d;
  let s0 = 0;
  let s1 = 0;
  let t = 0;
  for (; t + 1 < d; t += 2) {
    const p = (a[oa + t] as number) - (b[ob + t] as number);
    const q = (a[oa + t + 1] as number) - (b[ob + t + 1] as number);
    s0 += p * p;
    s1 += q * q;
  }
  if (t < d) {
    const p = (a[oa + t] as number) - (b[ob + t] as number);
    s0 += p * p;
  }
  return s0 + s1;
}
