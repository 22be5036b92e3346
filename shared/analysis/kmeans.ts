// k-means clustering of embeddings from seeded k-means++ initial centres (kmeanspp.ts),
// with k either given — ml-kmeans' Lloyd iterations, best of `nInit` starts — or
// chosen ('auto') by the browsable-k rule of choose-k.ts: one k-means with
// K = min(⌊√N⌋, 400) centres, Ward's merges of its centres give a partition for every
// k ≤ K, each refined and scored by its mean silhouette on a seeded sample of ≤ 2000
// points (silhouette.ts); the best silhouette among k whose median cluster size is
// browsable wins (or the best overall when it shows strong structure, ≥ 0.7), and Lloyd
// iterations from its centres give the labels ('auto' runs its own Lloyd on flat
// arrays with a partial-distance nearest-centre search: nearest-centre.ts).
//
// Which space: pass the PCA-reduced embedding (reducePca(embeddings, ~50).data), not
// the 2-D t-SNE layout. t-SNE keeps neighbourhoods but not distances or densities —
// cluster sizes and the gaps between them in the map depend on perplexity and the
// optimisation — so k-means and silhouette on it would score the picture, not the
// data. PCA keeps the large-scale geometry, drops low-variance noise directions, and
// makes each Lloyd iteration (N·k·D) and the silhouette cheap. For cosine-similarity
// embeddings, L2-normalise rows before the PCA so Euclidean k-means follows cosine.
//
// Robustness: a given k runs `nInit` seeded k-means++ starts (default 3) and keeps the
// lowest inertia ('auto''s over-fit runs one: the merges make its partitions); k is capped at the number of
// distinct points (ml-kmeans++ cannot place more centres than that); labels are
// renumbered by descending cluster size (ties: first occurrence), so output is stable
// and label 0 is the largest cluster.
import { kmeans } from 'ml-kmeans';
import { kmeansPlusPlus } from './kmeanspp.js';
import type { EmbeddingMatrix } from './matrix.js';
import { autoKRange, chooseK, type AutoKChoice } from './choose-k.js';
import { lloyd } from './nearest-centre.js';
import { SilhouetteSample } from './silhouette.js';

export interface KMeansOptions {
  /** Number of clusters, or 'auto' to choose one a person can browse (choose-k.ts). */
  k: number | 'auto';
  seed: number;
  /** Largest k tried by 'auto' (default min(⌊√N⌋, 400)); the browsable sizes scale with it (up to 4·N/maxK). */
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
  /** 'auto' only: how k was chosen (every candidate's silhouette and sizes). */
  auto?: Pick<AutoKChoice, 'reason' | 'candidates'>;
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

  if (opts.maxK !== undefined && (!Number.isInteger(opts.maxK) || opts.maxK < 1)) throw new RangeError(`clusterKMeans: maxK must be a positive integer, got ${opts.maxK}`);
  const range = opts.k === 'auto' ? autoKRange(n, opts.maxK) : undefined;
  const maxK = range ? range.maxK : (opts.k as number);
  const distinct = countDistinct(arrays, maxK);
  const single = (): KMeansClustering => ({ labels: new Array<number>(n).fill(0), k: 1 });

  const run = (k: number): number[] => bestOf(arrays, flat, dim, k, opts.seed, nInit, maxIterations);
  let sample: SilhouetteSample | undefined;
  const silhouette = (labels: number[], k: number): number | undefined => {
    if (k < 2 || k > n - 1) return undefined;
    sample ??= new SilhouetteSample(flat, n, dim, opts.seed);
    return sample.score(labels, k);
  };

  if (range === undefined) {
    const k = Math.min(opts.k as number, distinct);
    if (k === 1) return single();
    const labels = relabel(run(k));
    const used = countLabels(labels);
    const s = silhouette(labels, used);
    return s === undefined ? { labels, k: used } : { labels, k: used, silhouette: s };
  }

  // 'auto' (choose-k.ts): over-fit with K centres, Ward cuts scored, Lloyd from the chosen cut.
  const upper = Math.min(range.maxK, distinct, n - 1);
  if (upper < 2) return single();
  // The over-fit: one seeded k-means++ start (the merges, not restarts, make the partitions).
  const centres = new Float64Array(upper * dim);
  kmeansPlusPlus(flat, n, dim, upper, opts.seed).forEach((c, g) => centres.set(c, g * dim));
  const fine = lloyd(flat, n, dim, centres, upper, maxIterations);
  const k0 = upper;
  const counts = new Float64Array(k0);
  for (const l of fine) counts[l] = (counts[l] as number) + 1;
  sample ??= new SilhouetteSample(flat, n, dim, opts.seed);
  const rows = sample.indices;
  const sampleData = new Float64Array(rows.length * dim);
  rows.forEach((i, a) => sampleData.set(flat.subarray(i * dim, (i + 1) * dim), a * dim));
  const spread = new Array<number>(n).fill(0);
  const scorer = sample;
  const choice = chooseK({
    centres,
    weights: counts,
    k0,
    dim,
    n,
    range,
    sample: sampleData,
    m: rows.length,
    score: (sampleLabels, k) => {
      rows.forEach((i, a) => (spread[i] = sampleLabels[a] as number));
      return scorer.score(spread, k);
    },
  });
  if (!choice) return single();
  const labels = relabel(Array.from(lloyd(flat, n, dim, Float64Array.from(choice.centres), choice.k, maxIterations)));
  const used = countLabels(labels);
  const s = silhouette(labels, used);
  const auto = { reason: choice.reason, candidates: choice.candidates };
  return s === undefined ? { labels, k: used, auto } : { labels, k: used, silhouette: s, auto };
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
