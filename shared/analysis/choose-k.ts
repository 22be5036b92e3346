// How `--clusters auto` chooses k (issue 15): a k a person can browse.
//
// The old rule — best mean silhouette for k = 2..12 — chose k = 2 on 1,000 and 3,501
// real photos: on embeddings without strong groups the silhouette falls as k grows, so
// its maximum is almost always the smallest k tried, and two clusters of 500 images are
// no help to anyone browsing. The rule now, for N points:
//
//   1. Range. k ≤ K = min(⌊√N⌋, 400) (and the caller's maxK): mean cluster sizes of at
//      least √N; 400 bounds the cost of labelling 1M points (N·K·D multiply-adds).
//   2. Partitions. One k-means with K centres (an over-fit), then Ward's merges of those
//      centres, weighted by their cluster sizes: each merge is the one that raises the
//      k-means inertia least, so one fit gives a partition for every k ≤ K (a k-means
//      per k would cost ~K fits). Each candidate's merged centres then get 5 Lloyd
//      iterations on the silhouette sample: unrefined, merged partitions score lower
//      the further k is below K (a bias towards K; on the demo k = 7 scored 0.160 merged,
//      0.182 fitted directly, 0.183 refined).
//   3. Scores. For k on a grid of at most 64 values in 2..K: the mean silhouette on the
//      seeded 2,000-point sample (silhouette.ts) and the cluster sizes (the sample's,
//      scaled to N).
//   4. Choice. If some k reaches a silhouette of 0.7 — "strong structure" in Kaufman &
//      Rousseeuw's reading of the score — the data has natural groups: the best
//      silhouette wins, whatever the sizes. Otherwise the best silhouette among the
//      browsable k: median cluster size from min(10, N/K) to 2·N/K (≈ 2√N: 10–64 images
//      at N = 1,000, 10–118 at 3,501, 10–200 at 10,000, 10–632 at 100k, 10–5,000 at 1M).
//      When no k is browsable, the k whose median is nearest the window (by ratio).
//      On real embeddings the silhouette is nearly flat across the window (photos:
//      0.17–0.18 for k = 15–24), so the window's upper end — a screenful of thumbnails
//      at N ≈ 1,000 — mostly decides, and the silhouette picks among equals.
//   5. Labels. The chosen centres start the final fit: Lloyd iterations on every point
//      (kmeans.ts) or mini-batches then one nearest-centre pass (minibatch-kmeans.ts).
//
// Everything is seeded (the over-fit's k-means++, the silhouette sample) and ties go to
// the first pair / the smaller k, so the choice is a pure function of data and seed.
// Figures on the demo, real photos and 100k/1M synthetic families: docs/performance.md,
// "Choosing k".
import { lloyd } from './nearest-centre.js';

/** Largest k 'auto' considers at any N (cost: the final labelling is N·k·D). */
export const AUTO_MAX_K = 400;
/** A mean silhouette at or above this is "strong structure" (Kaufman & Rousseeuw 1990). */
export const STRONG_SILHOUETTE = 0.7;
/** Smallest median cluster size that counts as browsable (when N/K allows it). */
export const MIN_BROWSE_SIZE = 10;
/** Largest browsable median cluster size, as a multiple of N/K (≈ √N). */
export const BROWSE_SIZE_FACTOR = 2;
/** Candidate k scored at most (each costs one silhouette on the 2,000-point sample). */
export const MAX_CANDIDATES = 64;

export interface AutoKRange {
  /** K: the over-fit's k and the largest k considered. */
  maxK: number;
  /** Median cluster sizes in [minSize, maxSize] are browsable. */
  minSize: number;
  maxSize: number;
}

/** The range and size window for `n` points; `maxK` caps K further (a caller's limit, the number of distinct points). */
export function autoKRange(n: number, maxK = Infinity): AutoKRange {
  const k = Math.max(1, Math.min(Math.floor(Math.sqrt(n)), AUTO_MAX_K, Math.floor(maxK)));
  const mean = n / k;
  return { maxK: k, minSize: Math.min(MIN_BROWSE_SIZE, mean), maxSize: BROWSE_SIZE_FACTOR * mean };
}

/** The k scored: every k in 2..maxK, or MAX_CANDIDATES of them spaced geometrically. */
export function candidateKs(maxK: number): number[] {
  if (maxK < 2) return [];
  if (maxK - 1 <= MAX_CANDIDATES) return Array.from({ length: maxK - 1 }, (_, i) => i + 2);
  const out = new Set<number>();
  for (let i = 0; i < MAX_CANDIDATES; i++) out.add(Math.round(2 * (maxK / 2) ** (i / (MAX_CANDIDATES - 1))));
  return [...out].sort((a, b) => a - b);
}

/**
 * Ward's agglomeration of `k0` weighted centres (row-major k0×dim): for each k in `ks`
 * that is reachable, the map from centre index to partition label 0..k−1 (labels in
 * order of each group's lowest centre index). Centres of weight 0 join label 0 (they
 * hold no point). O(k0³), ~0.1 s at k0 = 400.
 */
export function wardCuts(centres: Float64Array, weights: ArrayLike<number>, k0: number, dim: number, ks: readonly number[]): Map<number, Int32Array> {
  if (centres.length !== k0 * dim || weights.length !== k0) throw new RangeError(`wardCuts: ${k0} centres of ${dim} need ${k0 * dim} values and ${k0} weights`);
  const active: number[] = [];
  for (let i = 0; i < k0; i++) if ((weights[i] as number) > 0) active.push(i);
  const q = active.length;
  const c = new Float64Array(q * dim);
  const w = new Float64Array(q);
  active.forEach((f, a) => {
    c.set(centres.subarray(f * dim, (f + 1) * dim), a * dim);
    w[a] = weights[f] as number;
  });
  const alive = new Uint8Array(q).fill(1);
  const parent = Int32Array.from({ length: q }, (_, a) => a);
  const root = (a: number): number => {
    while (parent[a] !== a) a = parent[a] as number;
    return a;
  };
  const cost = new Float64Array(q * q);
  const pairCost = (a: number, b: number): number => {
    let s = 0;
    for (let t = 0; t < dim; t++) {
      const d = (c[a * dim + t] as number) - (c[b * dim + t] as number);
      s += d * d;
    }
    const wa = w[a] as number;
    const wb = w[b] as number;
    return ((wa * wb) / (wa + wb)) * s;
  };
  for (let a = 0; a < q; a++) for (let b = a + 1; b < q; b++) cost[a * q + b] = pairCost(a, b);

  const wanted = new Set(ks.filter((k) => k >= 1 && k <= q));
  const cuts = new Map<number, Int32Array>();
  const snapshot = (k: number): void => {
    const label = new Map<number, number>();
    const map = new Int32Array(k0);
    active.forEach((f, a) => {
      const r = root(a);
      if (!label.has(r)) label.set(r, label.size);
      map[f] = label.get(r) as number;
    });
    cuts.set(k, map);
  };
  for (let groups = q; groups >= 1; groups--) {
    if (wanted.has(groups)) snapshot(groups);
    if (groups === 1 || cuts.size === wanted.size) break;
    let bestA = -1;
    let bestB = -1;
    let best = Infinity;
    for (let a = 0; a < q; a++) {
      if (!alive[a]) continue;
      for (let b = a + 1; b < q; b++) {
        if (!alive[b]) continue;
        const v = cost[a * q + b] as number;
        if (v < best) {
          best = v;
          bestA = a;
          bestB = b;
        }
      }
    }
    // Merge bestB into bestA: size-weighted mean, costs of bestA recomputed.
    const wa = w[bestA] as number;
    const wb = w[bestB] as number;
    for (let t = 0; t < dim; t++) c[bestA * dim + t] = ((c[bestA * dim + t] as number) * wa + (c[bestB * dim + t] as number) * wb) / (wa + wb);
    w[bestA] = wa + wb;
    alive[bestB] = 0;
    parent[bestB] = bestA;
    for (let o = 0; o < q; o++) {
      if (!alive[o] || o === bestA) continue;
      const v = pairCost(bestA, o);
      if (o < bestA) cost[o * q + bestA] = v;
      else cost[bestA * q + o] = v;
    }
  }
  return cuts;
}

export interface SizeSummary {
  median: number;
  min: number;
  max: number;
}

export function sizeSummary(sizes: readonly number[]): SizeSummary {
  const s = [...sizes].sort((a, b) => a - b);
  if (s.length === 0) return { median: 0, min: 0, max: 0 };
  const mid = s.length >> 1;
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, min: s[0] as number, max: s[s.length - 1] as number };
}

export interface KCandidate {
  k: number;
  /** Mean silhouette on the sample, after the refinement. */
  silhouette: number;
  /** Cluster sizes: the sample's, scaled to N. */
  sizes: SizeSummary;
  browsable: boolean;
}

export interface AutoKChoice {
  k: number;
  /** k×dim: the chosen partition's centres, refined on the sample. */
  centres: Float64Array;
  /** Why this k: strong structure, best browsable silhouette, or nearest to the window. */
  reason: 'strong' | 'browsable' | 'nearest';
  candidates: KCandidate[];
}

export interface ChooseKInput {
  /** The over-fit: k0 centres (row-major k0×dim) and the number of points each holds (any scale). */
  centres: Float64Array;
  weights: ArrayLike<number>;
  k0: number;
  dim: number;
  /** Points in all (sizes are reported on this scale). */
  n: number;
  range: AutoKRange;
  /** The silhouette sample's rows (row-major m×dim): candidates are refined and sized on them. */
  sample: Float64Array;
  m: number;
  /** Mean silhouette of a labelling of the sample's rows (0..k−1). */
  score: (sampleLabels: Int32Array, k: number) => number;
}

/** Lloyd iterations each candidate gets on the sample, from its Ward centres. */
export const REFINE_ITERATIONS = 5;

/** Steps 3–4 of the rule above; undefined when no k ≥ 2 can be scored. */
export function chooseK(o: ChooseKInput): AutoKChoice | undefined {
  const { k0, dim, m } = o;
  const ks = candidateKs(Math.min(o.range.maxK, k0, m - 1));
  const cuts = wardCuts(o.centres, o.weights, k0, dim, ks);
  const candidates: KCandidate[] = [];
  const centresOf = new Map<number, Float64Array>();
  for (const k of ks) {
    const map = cuts.get(k);
    if (!map) continue;
    const centres = mergedCentres(o, map, k);
    const labels = lloyd(o.sample, m, dim, centres, k, REFINE_ITERATIONS);
    const counts = new Array<number>(k).fill(0);
    for (const l of labels) counts[l] = (counts[l] as number) + 1;
    const used = counts.filter((c) => c > 0).length;
    if (used < 2) continue;
    const sizes = sizeSummary(counts.filter((c) => c > 0).map((c) => Math.round((c * o.n) / m)));
    candidates.push({ k, silhouette: o.score(labels, k), sizes, browsable: sizes.median >= o.range.minSize && sizes.median <= o.range.maxSize });
    centresOf.set(k, centres);
  }
  if (candidates.length === 0) return undefined;
  const best = (list: KCandidate[]): KCandidate | undefined => list.reduce<KCandidate | undefined>((b, c) => (b === undefined || c.silhouette > b.silhouette ? c : b), undefined);
  const overall = best(candidates) as KCandidate;
  const browsable = best(candidates.filter((c) => c.browsable));
  let chosen: KCandidate;
  let reason: AutoKChoice['reason'];
  if (overall.silhouette >= STRONG_SILHOUETTE) {
    chosen = overall;
    reason = 'strong';
  } else if (browsable) {
    chosen = browsable;
    reason = 'browsable';
  } else {
    const away = (c: KCandidate): number => {
      const med = Math.max(c.sizes.median, 1e-9);
      return med < o.range.minSize ? Math.log(o.range.minSize / med) : Math.log(med / o.range.maxSize);
    };
    chosen = candidates.reduce((b, c) => (away(c) < away(b) - 1e-12 || (Math.abs(away(c) - away(b)) <= 1e-12 && c.silhouette > b.silhouette) ? c : b));
    reason = 'nearest';
  }
  return { k: chosen.k, centres: centresOf.get(chosen.k) as Float64Array, reason, candidates };
}

/** Size-weighted means of the over-fit centres in each of the cut's k groups. */
function mergedCentres(o: ChooseKInput, map: Int32Array, k: number): Float64Array {
  const { dim } = o;
  const centres = new Float64Array(k * dim);
  const mass = new Float64Array(k);
  for (let f = 0; f < o.k0; f++) {
    const wf = o.weights[f] as number;
    if (!(wf > 0)) continue;
    const g = map[f] as number;
    mass[g] = (mass[g] as number) + wf;
    for (let t = 0; t < dim; t++) centres[g * dim + t] = (centres[g * dim + t] as number) + wf * (o.centres[f * dim + t] as number);
  }
  for (let g = 0; g < k; g++) for (let t = 0; t < dim; t++) centres[g * dim + t] = (centres[g * dim + t] as number) / (mass[g] as number);
  return centres;
}
