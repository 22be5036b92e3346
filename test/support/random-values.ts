// Deterministic test values without tfjs's random ops (so every backend sees the same numbers).

/** n uniform values in [-1, 1) from a mulberry32 stream seeded with `seed`. */
export function randomValues(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out.push(((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1);
  }
  return out;
}
