// Seeded greedy k-means++ seeding (Arthur & Vassilvitskii 2007, with scikit-learn's
// 2 + ⌊ln k⌋ local trials per centre), on a flat Float64Array. ml-kmeans has the same
// algorithm built in, but it copies every row per candidate (Matrix.getRow) and was
// ~60 % of clusterKMeans' time at N = 3500, D = 50; its result is passed to
// ml-kmeans as explicit initial centres instead.
import { createRng } from './rng.js';

/** k initial centres chosen from the rows of `data` (row-major n×dim). Needs ≥ k distinct rows. */
export function kmeansPlusPlus(data: Float64Array, n: number, dim: number, k: number, seed: number): number[][] {
  const rng = createRng(seed);
  const trials = 2 + Math.floor(Math.log(k));
  const closest = new Float64Array(n); // squared distance to the nearest chosen centre
  const candidate = new Float64Array(n);
  const best = new Float64Array(n);
  const centres: number[][] = [];

  const distancesTo = (c: number, out: Float64Array): void => {
    const oc = c * dim;
    for (let i = 0; i < n; i++) {
      const oi = i * dim;
      let s = 0;
      for (let t = 0; t < dim; t++) {
        const d = (data[oi + t] as number) - (data[oc + t] as number);
        s += d * d;
      }
      out[i] = s;
    }
  };
  const take = (c: number): void => {
    centres.push(Array.from(data.subarray(c * dim, (c + 1) * dim)));
  };

  const first = Math.min(n - 1, Math.floor(rng() * n));
  take(first);
  distancesTo(first, closest);
  for (let centre = 1; centre < k; centre++) {
    let potential = 0;
    for (let i = 0; i < n; i++) potential += closest[i] as number;
    let bestIndex = -1;
    let bestPotential = Infinity;
    for (let trial = 0; trial < trials; trial++) {
      // Sample a point with probability ∝ its squared distance to the chosen centres.
      let target = rng() * potential;
      let pick = -1;
      for (let i = 0; i < n; i++) {
        const w = closest[i] as number;
        if (w > 0) {
          pick = i;
          target -= w;
          if (target < 0) break;
        }
      }
      if (pick < 0) break; // every point coincides with a centre: nothing left to pick
      distancesTo(pick, candidate);
      let sum = 0;
      for (let i = 0; i < n; i++) sum += Math.min(closest[i] as number, candidate[i] as number);
      if (sum < bestPotential) {
        bestPotential = sum;
        bestIndex = pick;
        best.set(candidate);
      }
    }
    if (bestIndex < 0) break;
    take(bestIndex);
    for (let i = 0; i < n; i++) closest[i] = Math.min(closest[i] as number, best[i] as number);
  }
  return centres;
}
