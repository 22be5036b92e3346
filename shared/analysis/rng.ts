// Seeded pseudo-random numbers for the analysis code (t-SNE random init, k-means
// silhouette sampling), so a run is reproducible from its seed alone. There is no
// project-wide RNG module (shared/random.ts) yet; if one appears, switch callers to it.
// mulberry32: 32-bit state, fast, good enough statistically for sampling/initialisation
// (not for cryptography).

/** A function returning uniform floats in [0, 1). */
export type Rng = () => number;

export function createRng(seed: number): Rng {
  let a = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
