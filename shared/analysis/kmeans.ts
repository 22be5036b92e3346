// k-means clustering of embeddings with ml-kmeans (Lloyd iterations) from seeded
// k-means++ initial centres (kmeanspp.ts),
// with k either given or chosen ('auto') as the k in 2..maxK with the best mean
// silhouette (silhouette.ts; on a seeded sample of ≤ 2000 points).
//
// Which space: pass the PCA-reduced embedding (reducePca(embeddings, ~50).data), not
// the 2-D t-SNE layout. t-SNE keeps neighbourhoods but not distances or densities —
// cluster sizes and the gaps between them in the map depend on perplexity and the
// optimisation — so k-means and silhouette on it would score the picture, not the
// data. PCA keeps the large-scale geometry, drops low-variance noise directions, and
// makes each Lloyd iteration (N·k·D) and the silhouette cheap. For cosine-similarity
// embeddings, L2-normalise rows before the PCA so Euclidean k-means follows cosine.
//
// Robustness: each k runs `nInit` seeded k-means++ starts (default 3) and keeps the
// lowest inertia; k is capped at the number of distinct points (ml-kmeans++ cannot
// place more centres than that); labels are renumbered by descending cluster size
// (ties: first occurrence), so output is stable and label 0 is the largest cluster.
import { kmeans } from 'ml-kmeans';
import { kmeansPlusPlus } from './kmeanspp.js';
import type { EmbeddingMatrix } from './matrix.js';
import { SilhouetteSample } from './silhouette.js';

export interface KMeansOptions {
  /** Number of clusters, or 'auto' to choose 2..maxK by silhouette. */
  k: number | 'auto';
  seed: number;
  /** Largest k tried by 'auto' (default min(12, ⌊√N⌋)). */
  maxK?: number;
  /** k-means++ restarts per k, best inertia kept (default 3). */
  nInit?: number;
  /** Lloyd iterations cap per run (default 100). */
  maxIterations?: number;
}

export interface KMeansClustering {
  /** Cluster of each point, 0..k−1, 0 = largest cluster. */
  labels: number[];
  /** Number of (non-empty) clusters. */
  k: number;
  /** Mean silhouette (sampled) when 2 ≤ k ≤ N−1. */
  silhouette?: number;
}

export function clusterKMeans(points: number[][] | EmbeddingMatrix, opts: KMeansOptions): KMeansClustering {
  const { arrays, flat, n, dim } = normalise(points);
  const nInit = opts.nInit ?? 3;
  const maxIterations = opts.maxIterations ?? 100;
  if (!Number.isInteger(nInit) || nInit < 1) throw new RangeError(`clusterKMeans: nInit must be a positive integer, got ${nInit}`);
  if (opts.k !== 'auto' && (!Number.isInteger(opts.k) || opts.k < 1)) {
    throw new RangeError(`clusterKMeans: k must be a positive integer or 'auto', got ${opts.k}`);
  }
  if (n === 0) return { labels: [], k: 0 };

  const maxK = opts.k === 'auto' ? (opts.maxK ?? Math.min(12, Math.floor(Math.sqrt(n)))) : opts.k;
  if (!Number.isInteger(maxK) || maxK < 1) throw new RangeError(`clusterKMeans: maxK must be a positive integer, got ${maxK}`);
  const distinct = countDistinct(arrays, maxK);
  const single = (): KMeansClustering => ({ labels: new Array<number>(n).fill(0), k: 1 });

  const run = (k: number): number[] => bestOf(arrays, flat, dim, k, opts.seed, nInit, maxIterations);
  let sample: SilhouetteSample | undefined;
  const silhouette = (labels: number[], k: number): number | undefined => {
    if (k < 2 || k > n - 1) return undefined;
    sample ??= new SilhouetteSample(flat, n, dim, opts.seed);
    return sample.score(labels, k);
  };

  if (opts.k !== 'auto') {
    const k = Math.min(opts.k, distinct);
    if (k === 1) return single();
    const labels = relabel(run(k));
    const used = countLabels(labels);
    const s = silhouette(labels, used);
    return s === undefined ? { labels, k: used } : { labels, k: used, silhouette: s };
  }

  const upper = Math.min(maxK, distinct, n - 1);
  if (upper < 2) return single();
  let best: KMeansClustering | undefined;
  for (let k = 2; k <= upper; k++) {
    const labels = relabel(run(k));
    const used = countLabels(labels);
    const s = silhouette(labels, used);
    if (s === undefined) continue; // collapsed to one cluster
    if (best === undefined || s > (best.silhouette ?? -Infinity)) best = { labels, k: used, silhouette: s };
  }
  return best ?? single();
}

function normalise(points: number[][] | EmbeddingMatrix): { arrays: number[][]; flat: Float64Array; n: number; dim: number } {
  if (Array.isArray(points)) {
    const n = points.length;
    const dim = n === 0 ? 0 : (points[0] as number[]).length;
    const flat = new Float64Array(n * dim);
    points.forEach((p, i) => {
      if (p.length !== dim) throw new RangeError(`clusterKMeans: point ${i} has ${p.length} values, expected ${dim}`);
      flat.set(p, i * dim);
    });
    return { arrays: points, flat, n, dim };
  }
  const { rows: n, dim, data } = points;
  if (data.length !== n * dim) throw new RangeError(`clusterKMeans: ${n}×${dim} matrix has ${data.length} values`);
  const arrays: number[][] = [];
  for (let i = 0; i < n; i++) arrays.push(Array.from(data.subarray(i * dim, (i + 1) * dim)));
  return { arrays, flat: Float64Array.from(data), n, dim };
}

/** Distinct rows, counting stops at `cap`. */
function countDistinct(arrays: number[][], cap: number): number {
  const seen = new Set<string>();
  for (const p of arrays) {
    seen.add(p.join(','));
    if (seen.size >= cap) break;
  }
  return seen.size;
}

/** Lowest-inertia labels of `nInit` seeded k-means++ runs. */
function bestOf(arrays: number[][], flat: Float64Array, dim: number, k: number, seed: number, nInit: number, maxIterations: number): number[] {
  let bestLabels: number[] = [];
  let bestInertia = Infinity;
  for (let r = 0; r < nInit; r++) {
    const initialization = kmeansPlusPlus(flat, arrays.length, dim, k, seed + r * 7919);
    if (initialization.length < k) break; // fewer distinct points than k (guarded by the caller)
    const result = kmeans(arrays, k, { initialization, maxIterations });
    let inertia = 0;
    arrays.forEach((p, i) => {
      const c = result.centroids[result.clusters[i] as number] as number[];
      for (let t = 0; t < p.length; t++) inertia += ((p[t] as number) - (c[t] as number)) ** 2;
    });
    if (inertia < bestInertia) {
      bestInertia = inertia;
      bestLabels = result.clusters;
    }
  }
  return bestLabels;
}

/** Renumber clusters by descending size (ties: first occurrence). */
function relabel(labels: number[]): number[] {
  const size = new Map<number, number>();
  const first = new Map<number, number>();
  labels.forEach((l, i) => {
    size.set(l, (size.get(l) ?? 0) + 1);
    if (!first.has(l)) first.set(l, i);
  });
  const order = [...size.keys()].sort((a, b) => (size.get(b) ?? 0) - (size.get(a) ?? 0) || (first.get(a) ?? 0) - (first.get(b) ?? 0));
  const map = new Map(order.map((l, rank) => [l, rank]));
  return labels.map((l) => map.get(l) ?? 0);
}

function countLabels(labels: number[]): number {
  return new Set(labels).size;
}
