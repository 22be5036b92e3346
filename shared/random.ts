// Seeded pseudo-random numbers for reproducible runs (synthetic datasets, splits,
// sampling). Not cryptographic.
//
// createRng uses mulberry32: a 32-bit state, one multiply-xorshift step per draw.
// It is tiny, fast, passes the usual smoke tests for this kind of use, and — the
// point — gives the same sequence for the same seed on every platform.

/** A function returning uniformly distributed floats in [0, 1). */
export type Rng = () => number;

/** A deterministic generator for `seed` (any finite number; only its low 32 bits count). */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  let state = Math.trunc(seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A float in [min, max). */
export function randomBetween(rng: Rng, min: number, max: number): number {
  return min + (max - min) * rng();
}

/** An integer in [min, max] (both inclusive). */
export function randomInt(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

/** Shuffles `items` in place (Fisher–Yates) and returns it. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}

/** A shuffled copy of `items`; the input is left untouched. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  return shuffleInPlace([...items], rng);
}
