// Approximate k-nearest-neighbour graph for t-SNE's input affinities when exact kNN
// (knn.ts, O(N²·D)) is too slow: a random-projection forest to start (rp-forest.ts,
// every pair within a leaf), then NN-descent (Dong, Moses & Li 2011) to refine
// ("a neighbour of my neighbour is likely my neighbour": each round joins, for every
// point, the neighbours that changed since the last round with each other and with
// the old ones, both ways). This is pynndescent's recipe, the one openTSNE and UMAP use.
//
// Why both rather than one: NN-descent alone from a random graph needs ~10 rounds
// and at k = 90 its first rounds are the costliest (every neighbour is new); the
// forest gives most points most of their true neighbours for a few leaf-sized brute
// forces, so 2–4 rounds finish the job. A forest alone misses neighbours across
// split planes (recall ~0.6–0.8 at these sizes). Both are a few hundred lines with
// no native code; no maintained npm package does this (hnswlib-node and faiss-node
// are native builds, the pure-JS kNN packages are brute force).
//
// Below `exactBelow` points (default 10,000: exact costs ≈5 s there) the exact kNN is
// used, so small maps are what they always were.
// Measured (2-vCPU box under other load, 16 isotropic Gaussian blobs in 50-D — the
// hard case: no low-dimensional structure — k = 90, throwaway probe):
//   10k: forest alone recall@90 0.50 (0.75 s); + 1 round 0.87 (1.4 s); + 2 rounds 0.996
//        (3.5 s); + 3 rounds 0.9998 (7.8 s); exact kNN 3.2 s — hence exact up to 10k;
//   50k: 2 rounds 27 s (1 round 14.5 s), where exact kNN takes ~80 s (O(N²)).
// In the map pipeline the kNN phase is printed by `npm run bench:scale` (10k forced
// onto a 5,000 sample: 4.9 s including the forest; 100k/1M: the 50k sample).
import { exactKnn, type KnnResult } from './knn.js';
import type { EmbeddingMatrix } from './matrix.js';
import { NeighbourHeaps, squaredDistance } from './neighbour-heaps.js';
import { buildForest, leafCount, type RpTree } from './rp-forest.js';
import { createRng, type Rng } from './rng.js';

export interface AnnOptions {
  seed: number;
  /** Random-projection trees (default 5 + log2(N / 10,000), clamped to 4..12). */
  trees?: number;
  /** Largest leaf (default max(64, k + 1)). */
  leafSize?: number;
  /** NN-descent rounds at most (default 2: at 10k blobs in 50-D, 1 round gives recall@90 0.87 in 1.4 s, 2 give 0.996 in 3.5 s, 3 give 0.9998 in 7.8 s; exact takes 3.2 s). */
  rounds?: number;
  /** Stop when a round changes fewer than delta·N·k neighbours (default 0.01). */
  delta?: number;
  /** Candidates joined per point and direction per round (default min(k, 30)). */
  maxCandidates?: number;
}

export interface AnnGraph {
  knn: KnnResult;
  /** The forest the graph started from (ann-query.ts searches new points with it). */
  forest: RpTree[];
}

/** The k nearest neighbours of every row: exact when N ≤ exactBelow, else approximate. */
export function nearestNeighbours(m: EmbeddingMatrix, k: number, o: AnnOptions & { exactBelow?: number }): KnnResult {
  return m.rows <= (o.exactBelow ?? 10_000) ? exactKnn(m, k) : approximateKnn(m, k, o).knn;
}

/**
 * The kNN graph of the rows of `m` with a forest to search it from (ann-query.ts):
 * exact neighbours when N ≤ exactBelow (default 10,000), else approximateKnn's.
 */
export function neighbourGraph(m: EmbeddingMatrix, k: number, o: AnnOptions & { exactBelow?: number }): AnnGraph {
  if (m.rows > (o.exactBelow ?? 10_000)) return approximateKnn(m, k, o);
  const leafSize = o.leafSize ?? Math.max(64, Math.min(k, m.rows - 1) + 1);
  return { knn: exactKnn(m, k), forest: buildForest(m, { trees: o.trees ?? 4, leafSize, seed: o.seed }) };
}

/** An approximate kNN graph of the rows of `m` (a point is never its own neighbour). */
export function approximateKnn(m: EmbeddingMatrix, k: number, o: AnnOptions): AnnGraph {
  const n = m.rows;
  const d = m.dim;
  const data = m.data;
  const kk = Math.min(k, Math.max(0, n - 1));
  const leafSize = o.leafSize ?? Math.max(64, kk + 1);
  const trees = o.trees ?? Math.max(4, Math.min(12, Math.round(5 + Math.log2(n / 10_000))));
  const forest = buildForest(m, { trees, leafSize, seed: o.seed });
  const heaps = new NeighbourHeaps(n, kk);
  if (kk === 0) return { knn: heaps.toKnn(), forest };
  const rng = createRng(o.seed ^ 0x5bd1e995);

  // 1. Every pair within a leaf, for each tree.
  for (const tree of forest) {
    for (let l = 0; l < leafCount(tree); l++) {
      const from = tree.leafStart[l] as number;
      const to = tree.leafStart[l + 1] as number;
      for (let p = from; p < to; p++) {
        const i = tree.indices[p] as number;
        for (let q = p + 1; q < to; q++) {
          const j = tree.indices[q] as number;
          const s = squaredDistance(data, i, data, j, d);
          if (s < heaps.worst(i)) heaps.push(i, j, s);
          if (s < heaps.worst(j)) heaps.push(j, i, s);
        }
      }
    }
  }
  // Points in tiny leaves may still have fewer than k: fill with random others.
  for (let i = 0; i < n; i++) {
    while ((heaps.count[i] as number) < kk) {
      const j = Math.floor(rng() * n);
      if (j !== i) heaps.push(i, j, squaredDistance(data, i, data, j, d));
    }
  }

  // 2. NN-descent rounds.
  const maxCandidates = o.maxCandidates ?? Math.min(kk, 30);
  const rounds = o.rounds ?? 2;
  const delta = o.delta ?? 0.01;
  for (let round = 0; round < rounds; round++) {
    const updates = descentRound(heaps, data, d, maxCandidates, rng);
    if (updates <= delta * n * kk) break;
  }
  return { knn: heaps.toKnn(), forest };
}

/** Bounded candidate lists per point, filled by reservoir sampling (seeded). */
class Candidates {
  readonly items: Int32Array;
  readonly count: Int32Array;
  private readonly seen: Int32Array;

  constructor(
    n: number,
    readonly cap: number,
    private readonly rng: Rng,
  ) {
    this.items = new Int32Array(n * cap);
    this.count = new Int32Array(n);
    this.seen = new Int32Array(n);
  }

  add(i: number, j: number): void {
    const s = this.seen[i] as number;
    this.seen[i] = s + 1;
    if (s < this.cap) {
      this.items[i * this.cap + s] = j;
      this.count[i] = s + 1;
      return;
    }
    const r = Math.floor(this.rng() * (s + 1));
    if (r < this.cap) this.items[i * this.cap + r] = j;
  }
}

/** One NN-descent round; returns how many neighbours changed. */
function descentRound(heaps: NeighbourHeaps, data: Float32Array, d: number, cap: number, rng: Rng): number {
  const { n, k, indices, fresh } = heaps;
  const fresher = new Candidates(n, cap, rng);
  const older = new Candidates(n, cap, rng);
  for (let i = 0; i < n; i++) {
    const base = i * k;
    for (let t = 0; t < k; t++) {
      const j = indices[base + t] as number;
      if (j < 0) continue;
      if (fresh[base + t]) {
        fresher.add(i, j);
        fresher.add(j, i);
      } else {
        older.add(i, j);
        older.add(j, i);
      }
    }
  }
  // Neighbours sampled as new are old from now on (those not sampled stay new).
  for (let i = 0; i < n; i++) {
    const base = i * k;
    const c = fresher.count[i] as number;
    for (let a = 0; a < c; a++) {
      const j = fresher.items[i * cap + a] as number;
      for (let t = 0; t < k; t++) {
        if (indices[base + t] === j) {
          fresh[base + t] = 0;
          break;
        }
      }
    }
  }
  let updates = 0;
  const offer = (u: number, v: number): void => {
    if (u === v) return;
    const s = squaredDistance(data, u, data, v, d);
    if (s < heaps.worst(u) && heaps.push(u, v, s)) updates++;
    if (s < heaps.worst(v) && heaps.push(v, u, s)) updates++;
  };
  for (let i = 0; i < n; i++) {
    const nb = i * cap;
    const cn = fresher.count[i] as number;
    const co = older.count[i] as number;
    for (let a = 0; a < cn; a++) {
      const u = fresher.items[nb + a] as number;
      for (let b = a + 1; b < cn; b++) offer(u, fresher.items[nb + b] as number);
      for (let b = 0; b < co; b++) offer(u, older.items[nb + b] as number);
    }
  }
  return updates;
}
