// k-means over every point of a large map by mini-batches (Sculley 2010, "Web-scale
// k-means clustering", as scikit-learn's MiniBatchKMeans): start from seeded
// k-means++ centres chosen on a sample (kmeanspp.ts; best of `nInit` starts by the
// sample's inertia), then each step draws a seeded batch of points, assigns each to its
// nearest centre and moves that centre towards it with a per-centre learning rate
// 1/(points it has seen). Finally every point gets its nearest centre's label.
// Cost: O(iterations·batch·k·D) for the centres plus one O(N·k·D) labelling pass —
// 1M × 50-D, k = 12: ~2 s — against Lloyd's O(N·k·D) per iteration on ml-kmeans'
// nested arrays (1M rows of number[]: ~1 GB before it starts).
// 'auto' chooses k by the browsable-k rule (choose-k.ts), as clusterKMeans does: one
// over-fit with K = min(⌊√N⌋, 400) centres (one start: the merges, not restarts, make
// the partitions), Ward cuts refined and scored on the seeded silhouette sample, then the
// chosen centres refined by mini-batches on every point. At 1M × 50-D, K = 400: two
// mini-batch fits and one labelling pass of ~2·10¹⁰ multiply-adds each.
// Labels are renumbered by descending cluster size (ties: first occurrence), so label 0
// is the largest cluster.
import { autoKRange, chooseK } from './choose-k.js';
import { kmeansPlusPlus } from './kmeanspp.js';
import { nearestCentre } from './nearest-centre.js';
import { createRng, sampleIndices } from './rng.js';
import { SILHOUETTE_SAMPLE, SilhouetteSample } from './silhouette.js';

export interface MiniBatchOptions {
  k: number | 'auto';
  seed: number;
  /** Largest k tried by 'auto' (default min(⌊√N⌋, 400)); the browsable sizes scale with it. */
  maxK?: number;
  /** Points per step (default 1024). */
  batchSize?: number;
  /** Steps (default clamp(⌈3·N / batch⌉, 100, 1000)). */
  iterations?: number;
  /** Rows the k-means++ starts are chosen from (default 10,000). */
  initSample?: number;
  /** k-means++ starts, best sample inertia kept (default 3; 'auto''s over-fit: 1). */
  nInit?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface MiniBatchClustering {
  labels: Int32Array;
  k: number;
  silhouette?: number;
  /** k × dim, row-major, in label order. */
  centres: Float64Array;
}

/** Cluster the rows of `data` (row-major n×dim). */
export function miniBatchKMeans(data: Float32Array, n: number, dim: number, o: MiniBatchOptions): MiniBatchClustering {
  if (data.length !== n * dim) throw new RangeError(`miniBatchKMeans: ${n}×${dim} matrix has ${data.length} values`);
  if (n === 0) return { labels: new Int32Array(0), k: 0, centres: new Float64Array(0) };
  const rng = createRng(o.seed);
  const initRows = sampleIndices(n, o.initSample ?? 10_000, rng);
  const init = gather(data, dim, initRows);
  const silhouetteRows = sampleIndices(n, SILHOUETTE_SAMPLE, createRng(o.seed + 1));
  const silhouetteData = gather(data, dim, silhouetteRows);
  if (o.k === 'auto') return autoK(data, n, dim, init, initRows.length, silhouetteData, silhouetteRows.length, o);
  const k = Math.min(o.k, n);
  const centres = fitCentres(data, n, dim, init, initRows.length, k, o);
  const kk = centres.length / dim;
  o.onProgress?.(1, 2);
  let silhouette: number | undefined;
  if (kk >= 2) {
    const sl = assign(silhouetteData, silhouetteRows.length, dim, centres, kk);
    const used = new Set(sl).size;
    if (used >= 2 && silhouetteRows.length > used) silhouette = new SilhouetteSample(silhouetteData, silhouetteRows.length, dim, o.seed).score(Array.from(sl), kk);
  }
  return label(data, n, dim, centres, kk, silhouette, () => o.onProgress?.(2, 2));
}

/** Every point's nearest centre, labels and centres renumbered by descending size. */
function label(data: Float32Array, n: number, dim: number, chosen: Float64Array, k: number, silhouette: number | undefined, done: () => void): MiniBatchClustering {
  const raw = assign(data, n, dim, chosen, k);
  done();
  const { labels, order } = relabel(raw, k);
  const centres = new Float64Array(order.length * dim);
  order.forEach((c, rank) => centres.set(chosen.subarray(c * dim, (c + 1) * dim), rank * dim));
  return { labels, k: order.length, centres, ...(silhouette !== undefined ? { silhouette } : {}) };
}

/** 'auto': over-fit, choose k on the sample (choose-k.ts), refine the chosen centres on every point, label. */
function autoK(data: Float32Array, n: number, dim: number, init: Float64Array, m: number, sData: Float64Array, sRows: number, o: MiniBatchOptions): MiniBatchClustering {
  const steps = 4;
  const kRange = autoKRange(n, o.maxK);
  const upper = Math.min(kRange.maxK, n - 1);
  const single = (): MiniBatchClustering => label(data, n, dim, fitCentres(data, n, dim, init, m, 1, o), 1, undefined, () => o.onProgress?.(steps, steps));
  if (upper < 2) return single();
  const over = fitCentres(data, n, dim, init, m, upper, { ...o, nInit: o.nInit ?? 1 });
  const k0 = over.length / dim;
  o.onProgress?.(1, steps);
  if (k0 < 2) return single();
  const weights = new Float64Array(k0);
  for (const l of assign(init, m, dim, over, k0)) weights[l] = (weights[l] as number) + 1;
  const sample = new SilhouetteSample(sData, sRows, dim, o.seed);
  const choice = chooseK({ centres: over, weights, k0, dim, n, range: kRange, sample: sData, m: sRows, score: (labels, k) => sample.score(Array.from(labels), k) });
  o.onProgress?.(2, steps);
  if (!choice) return single();
  const centres = Float64Array.from(choice.centres);
  miniBatches(data, n, dim, centres, choice.k, o, o.seed + choice.k * 104_729);
  o.onProgress?.(3, steps);
  const sl = assign(sData, sRows, dim, centres, choice.k);
  const used = new Set(sl).size;
  const silhouette = used >= 2 && sRows > used ? sample.score(Array.from(sl), choice.k) : undefined;
  return label(data, n, dim, centres, choice.k, silhouette, () => o.onProgress?.(steps, steps));
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let k = from; k <= to; k++) out.push(k);
  return out.length ? out : [Math.max(1, to)];
}

function gather(data: Float32Array, dim: number, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length * dim);
  rows.forEach((r, a) => {
    for (let j = 0; j < dim; j++) out[a * dim + j] = data[r * dim + j] as number;
  });
  return out;
}

/** Centres for k (fewer when the sample has fewer distinct rows), k·dim values: the best of nInit seeded starts by inertia on the sample. */
function fitCentres(data: Float32Array, n: number, dim: number, init: Float64Array, m: number, k: number, o: MiniBatchOptions): Float64Array {
  let bestCentres: Float64Array | undefined;
  let bestInertia = Infinity;
  for (let r = 0; r < (o.nInit ?? 3); r++) {
    const start = kmeansPlusPlus(init, m, dim, k, o.seed + r * 7919);
    const centres = new Float64Array(start.length * dim);
    start.forEach((c, i) => centres.set(c, i * dim));
    if (start.length >= 2) miniBatches(data, n, dim, centres, start.length, o, o.seed + k * 104_729 + r);
    const inertia = sampleInertia(init, m, dim, centres, start.length);
    if (bestCentres === undefined || inertia < bestInertia) {
      bestInertia = inertia;
      bestCentres = centres;
    }
  }
  return bestCentres ?? new Float64Array(dim);
}

/** Sculley's updates, in place on `centres`. */
function miniBatches(data: Float32Array, n: number, dim: number, centres: Float64Array, kk: number, o: MiniBatchOptions, seed: number): void {
  const batch = Math.min(o.batchSize ?? 1024, n);
  const iterations = o.iterations ?? Math.max(100, Math.min(1000, Math.ceil((3 * n) / batch)));
  const seen = new Float64Array(kk);
  const rng = createRng(seed);
  const rows = new Int32Array(batch);
  const nearest = new Int32Array(batch);
  for (let it = 0; it < iterations; it++) {
    for (let b = 0; b < batch; b++) rows[b] = Math.floor(rng() * n);
    for (let b = 0; b < batch; b++) nearest[b] = nearestCentre(data, (rows[b] as number) * dim, dim, centres, kk);
    for (let b = 0; b < batch; b++) {
      const c = nearest[b] as number;
      const v = (seen[c] as number) + 1;
      seen[c] = v;
      const eta = 1 / v;
      const off = (rows[b] as number) * dim;
      for (let j = 0; j < dim; j++) centres[c * dim + j] = (centres[c * dim + j] as number) * (1 - eta) + eta * (data[off + j] as number);
    }
  }
}

function sampleInertia(x: Float64Array, m: number, dim: number, centres: Float64Array, k: number): number {
  let total = 0;
  for (let i = 0; i < m; i++) {
    const c = nearestCentre(x, i * dim, dim, centres, k);
    let s = 0;
    for (let j = 0; j < dim; j++) s += ((x[i * dim + j] as number) - (centres[c * dim + j] as number)) ** 2;
    total += s;
  }
  return total;
}

/** Nearest centre of every row. */
export function assign(x: ArrayLike<number>, n: number, dim: number, centres: Float64Array, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = nearestCentre(x, i * dim, dim, centres, k);
  return out;
}

/** Labels renumbered by descending cluster size (ties: first occurrence); `order[rank]` is the old label. */
function relabel(labels: Int32Array, k: number): { labels: Int32Array; order: number[] } {
  const size = new Float64Array(k);
  const first = new Float64Array(k).fill(Infinity);
  labels.forEach((l, i) => {
    size[l] = (size[l] as number) + 1;
    if ((first[l] as number) === Infinity) first[l] = i;
  });
  const order = range(0, k - 1)
    .filter((c) => (size[c] as number) > 0)
    .sort((a, b) => (size[b] as number) - (size[a] as number) || (first[a] as number) - (first[b] as number));
  const map = new Int32Array(k);
  order.forEach((c, rank) => (map[c] = rank));
  return { labels: labels.map((l) => map[l] as number), order };
}
