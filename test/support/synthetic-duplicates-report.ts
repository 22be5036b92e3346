// A synthetic stored duplicates report (pipelines/distributed/duplicates-store.ts
// StoredReport) of any number of pairs, for the API benchmark and tests: groups of 2–4
// images mostly, a few of 5–12 and one of ~60 per 20,000 pairs (a burst of photos), each a
// chain plus some extra edges, tiers drawn as a real pass finds them (exact 10 %,
// perceptual 30 %, verified 45 %, learned 15 %), keys like camera-roll paths. Deterministic
// per seed; pairs sorted by (a, b) as the merge step writes them.
import type { StoredPair, StoredReport } from '../../pipelines/distributed/duplicates-store.js';
import { TIERS, type Tier } from '../../shared/duplicates/tiers.js';
import { createRng, type Rng } from '../../shared/random.js';

function tierOf(rng: Rng): Tier {
  const x = rng();
  return x < 0.1 ? 'exact' : x < 0.4 ? 'perceptual' : x < 0.85 ? 'verified' : 'learned';
}

function evidence(rng: Rng, tier: Tier): Omit<StoredPair, 'a' | 'b' | 'tier'> {
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  switch (tier) {
    case 'exact':
      return rng() < 0.7 ? { identical: 'bytes' } : { identical: 'pixels' };
    case 'perceptual':
      return { distance: Math.floor(rng() * 8), mirrored: rng() < 0.05, correlation: r3(0.9 + rng() * 0.1), cosine: r3(0.9 + rng() * 0.1) };
    case 'verified':
      return { inliers: 20 + Math.floor(rng() * 200), correlation: r3(0.6 + rng() * 0.4), cosine: r3(0.8 + rng() * 0.2) };
    case 'learned':
      return { cosine: r3(0.97 + rng() * 0.03) };
  }
}

function groupSize(rng: Rng, n: number): number {
  if (n % 20_000 === 19_999) return 60;
  const x = rng();
  return x < 0.6 ? 2 : x < 0.82 ? 3 : x < 0.92 ? 4 : 5 + Math.floor(rng() * 8);
}

/** A report with exactly `pairs` pairs over as many groups as they make. */
export function syntheticReport(o: { pairs: number; seed?: number; dataset?: string; passId?: string }): StoredReport {
  const rng = createRng(o.seed ?? 1);
  const dataset = o.dataset ?? 'bench';
  const pairs: StoredPair[] = [];
  const members: StoredReport['members'] = {};
  let image = 0;
  const keyOf = (i: number): string => `camera/${2010 + (i % 13)}/${String((i * 7919) % 1_000_003).padStart(7, '0')}-IMG_${String(i).padStart(7, '0')}.jpg`;
  for (let g = 0; pairs.length < o.pairs; g++) {
    const size = groupSize(rng, g);
    const keys = Array.from({ length: size }, () => keyOf(image++));
    for (const key of keys) {
      const w = [4032, 3024, 1920, 1280, 800][Math.floor(rng() * 5)] as number;
      members[key] = { width: w, height: Math.round((w * 3) / 4), bytes: Math.round(w * w * 0.2 * (0.5 + rng())) };
    }
    const edges = new Set<string>();
    const add = (i: number, j: number): void => {
      if (pairs.length >= o.pairs || i === j) return;
      const [a, b] = ((keys[i] as string) < (keys[j] as string) ? [keys[i], keys[j]] : [keys[j], keys[i]]) as [string, string];
      if (edges.has(`${a}\n${b}`)) return;
      edges.add(`${a}\n${b}`);
      const tier = tierOf(rng);
      pairs.push({ a, b, tier, ...evidence(rng, tier) });
    };
    for (let i = 1; i < size; i++) add(i - 1, i);
    for (let e = Math.floor(size / 2); e > 0; e--) add(Math.floor(rng() * size), Math.floor(rng() * size));
  }
  // Images of a dropped trailing pair keep no member entry.
  const used = new Set(pairs.flatMap((p) => [p.a, p.b]));
  for (const key of Object.keys(members)) if (!used.has(key)) delete members[key];
  pairs.sort((x, y) => (x.a < y.a ? -1 : x.a > y.a ? 1 : x.b < y.b ? -1 : x.b > y.b ? 1 : 0));
  const pairsByTier = Object.fromEntries(TIERS.map((t) => [t, 0])) as Record<Tier, number>;
  for (const p of pairs) pairsByTier[p.tier]++;
  const images = Math.round(used.size * 3);
  return {
    version: 1,
    dataset,
    passId: o.passId ?? 'p-synthetic',
    mode: 'all',
    collection: `imgsim_${dataset}_m1`,
    modelId: 'm1',
    finishedAt: '2024-01-01T00:00:00.000Z',
    images,
    fingerprinted: images,
    compareAll: true,
    thresholds: { hashDistance: 6, squareCorrelation: 0.9, inliers: 20, weakInliers: 12, weakCorrelation: 0.9, cosine: 0.97 },
    candidates: 5,
    workingSize: 512,
    nfeatures: 1000,
    failed: [{ key: 'camera/broken.jpg', etag: 'e0', reason: 'decode', message: 'truncated' }],
    pairsByTier,
    pairs,
    members,
    seconds: { load: 1, candidates: 2, pairs: 3, total: 6 },
    memory: { fingerprints: images, peakRssMiB: 300, worstBlockMs: 40 },
  };
}
