// Nearest points of a fixed set (the t-SNE sample) for new points (every point not in
// the sample), through the structure built for the sample's own kNN graph
// (nn-descent.ts): the leaves the query falls in, in a few of the random-projection
// trees, give the first candidates; then a greedy graph search expands the best
// candidates' graph neighbours until no better point turns up. Cost per query is a
// few hundred distances instead of the sample size: measured 50–75 µs a query against
// a 50k sample at 50-D (recall@10 0.84–0.98 on isotropic blobs, the hard case), so
// ~1 min for 950k queries where brute force (2.4·10¹² multiply-adds) takes ~40 min.
import type { AnnGraph } from './nn-descent.js';
import { squaredDistance } from './neighbour-heaps.js';
import { leafOf } from './rp-forest.js';
import type { EmbeddingMatrix } from './matrix.js';

export interface QueryOptions {
  /** Neighbours wanted per query. */
  k: number;
  /** Trees whose leaf seeds the search (default 2). */
  trees?: number;
  /** Graph neighbours of a candidate looked at when it is expanded (default 12). */
  expand?: number;
  /** Candidates expanded at most (default 2·k): bounds the cost of a query in data without structure. */
  maxExpansions?: number;
}

export class AnnSearcher {
  private readonly stamp: Int32Array;
  private generation = 0;
  private readonly candIdx: Int32Array;
  private readonly candDist: Float64Array;
  private readonly expanded: Uint8Array;

  constructor(
    private readonly base: EmbeddingMatrix,
    private readonly graph: AnnGraph,
    private readonly o: QueryOptions,
  ) {
    this.stamp = new Int32Array(base.rows);
    const cap = Math.max(o.k, 1);
    this.candIdx = new Int32Array(cap);
    this.candDist = new Float64Array(cap);
    this.expanded = new Uint8Array(cap);
  }

  /**
   * The k nearest base rows of query row `qi` of `queries` (row-major, same dim), into
   * outIdx/outDist at [off, off+k), sorted ascending. Fewer than k base rows: the rest is −1.
   */
  search(queries: ArrayLike<number>, qi: number, outIdx: Int32Array, outDist: Float64Array, off: number): void {
    const { k } = this.o;
    const d = this.base.dim;
    const data = this.base.data;
    const gen = ++this.generation;
    if (gen === 0x7fffffff) {
      this.stamp.fill(0);
      this.generation = 1;
    }
    const g = this.generation;
    const ci = this.candIdx;
    const cd = this.candDist;
    const ex = this.expanded;
    let size = 0;
    // Sorted insert into the candidate list (ascending distance, at most k).
    const offer = (j: number): void => {
      if (this.stamp[j] === g) return;
      this.stamp[j] = g;
      const s = squaredDistance(queries, qi, data, j, d);
      if (size === k && s >= (cd[k - 1] as number)) return;
      let pos = size < k ? size++ : k - 1;
      while (pos > 0 && (cd[pos - 1] as number) > s) {
        cd[pos] = cd[pos - 1] as number;
        ci[pos] = ci[pos - 1] as number;
        ex[pos] = ex[pos - 1] as number;
        pos--;
      }
      cd[pos] = s;
      ci[pos] = j;
      ex[pos] = 0;
    };
    const trees = Math.min(this.o.trees ?? 2, this.graph.forest.length);
    for (let t = 0; t < trees; t++) {
      const tree = this.graph.forest[t];
      if (!tree) continue;
      const leaf = leafOf(tree, queries, qi * d, d);
      for (let p = tree.leafStart[leaf] as number; p < (tree.leafStart[leaf + 1] as number); p++) offer(tree.indices[p] as number);
    }
    const gk = this.graph.knn.k;
    const expand = Math.min(this.o.expand ?? 12, gk);
    const nbrs = this.graph.knn.indices;
    const maxExpansions = this.o.maxExpansions ?? 2 * k;
    for (let expansions = 0; expansions < maxExpansions; expansions++) {
      let next = -1;
      for (let t = 0; t < size; t++) {
        if (!ex[t]) {
          next = t;
          break;
        }
      }
      if (next < 0) break;
      ex[next] = 1;
      const j = ci[next] as number;
      for (let t = 0; t < expand; t++) offer(nbrs[j * gk + t] as number);
    }
    for (let t = 0; t < k; t++) {
      outIdx[off + t] = t < size ? (ci[t] as number) : -1;
      outDist[off + t] = t < size ? (cd[t] as number) : Infinity;
    }
  }
}
