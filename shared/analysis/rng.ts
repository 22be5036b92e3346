// Seeded random helpers for the analysis code (t-SNE random init, subspace-iteration
// start block, k-means++ seeding, silhouette sampling), so a run is reproducible
// from its seed alone. The generator itself is the project's shared mulberry32
// (shared/random.ts); this file adds the two draws analysis needs on top of it.
import { createRng, type Rng } from '../random.js';

export { createRng, type Rng };

/** Standard normal sample (Box–Muller; one of the pair is discarded for simplicity). */
export function gaussian(rng: Rng): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** `count` distinct indices from [0, n), in ascending order (partial Fisher–Yates). */
export function sampleIndices(n: number, count: number, rng: Rng): number[] {
  const m = Math.min(n, Math.max(0, Math.floor(count)));
  if (m === n) return Array.from({ length: n }, (_, i) => i);
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rng() * (n - i));
    const t = pool[i] as number;
    pool[i] = pool[j] as number;
    pool[j] = t;
  }
  return Array.from(pool.subarray(0, m)).sort((a, b) => a - b);
}
