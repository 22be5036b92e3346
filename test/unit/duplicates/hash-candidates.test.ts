// Candidates from hashes (shared/duplicates/hash-candidates.ts): multi-index hashing finds
// exactly the pairs a comparison of every image with every other finds, for every hash
// distance, on uniform and on clustered hashes (copies of a few originals with bits flipped,
// as edited copies hash), and for an incremental pass's new images alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exactPairs, pairKeyOf, perceptualCandidates, type HashCandidate } from '../../../shared/duplicates/hash-candidates.js';
import { popcount32 } from '../../../shared/duplicates/perceptual-hash.js';
import { createRng } from '../../../shared/random.js';

function uniform(n: number, seed: number): Uint32Array {
  const rng = createRng(seed);
  return Uint32Array.from({ length: 4 * n }, () => Math.floor(rng() * 2 ** 32) >>> 0);
}

/** n hashes in families: each a copy of one of `families` originals with up to 12 bits flipped (its mirror likewise). */
function clustered(n: number, families: number, seed: number): Uint32Array {
  const rng = createRng(seed);
  const originals = uniform(families, seed + 1);
  const out = new Uint32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const f = Math.floor(rng() * families);
    for (let w = 0; w < 4; w++) out[4 * i + w] = originals[4 * f + w] as number;
    for (let flips = Math.floor(rng() * 13); flips > 0; flips--) {
      const bit = Math.floor(rng() * 64);
      const w = (rng() < 0.5 ? 0 : 2) + (bit >> 5);
      out[4 * i + w] = ((out[4 * i + w] as number) ^ (1 << (bit & 31))) >>> 0;
    }
  }
  return out;
}

const dist = (h: Uint32Array, i: number, oi: number, j: number, oj: number): number =>
  popcount32(((h[4 * i + oi] as number) ^ (h[4 * j + oj] as number)) >>> 0) + popcount32(((h[4 * i + oi + 1] as number) ^ (h[4 * j + oj + 1] as number)) >>> 0);

/** Every pair, the smallest of: hash–hash, a's mirror–b's hash, b's mirror–a's hash. */
function bruteForce(h: Uint32Array, maxDistance: number, only?: ReadonlySet<number>): Map<number, number> {
  const n = h.length / 4;
  const out = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (only && !only.has(i) && !only.has(j)) continue;
      const d = Math.min(dist(h, i, 0, j, 0), dist(h, i, 2, j, 0), dist(h, j, 2, i, 0));
      if (d <= maxDistance) out.set(pairKeyOf(i, j), d);
    }
  }
  return out;
}

const distances = (m: Map<number, HashCandidate>): Map<number, number> => new Map([...m].map(([k, c]) => [k, c.distance]));

describe('perceptual candidates by multi-index hashing', () => {
  for (const [name, hashes] of [
    ['uniform', uniform(1500, 3)],
    ['clustered', clustered(1500, 60, 5)],
  ] as const) {
    for (const d of [0, 3, 8, 12, 24]) {
      it(`${name} hashes, distance ≤ ${d}: exactly the pairs of a full comparison`, async () => {
        const expected = bruteForce(hashes, d);
        const got = distances(await perceptualCandidates(hashes, d));
        assert.deepEqual(got, expected);
        if (name === 'clustered' && d >= 8) assert.ok(expected.size > 1000, `the clustered set has many close pairs (${expected.size})`);
      });
    }
  }

  it('an incremental pass: only pairs with a new image, mirror matches found from either side', async () => {
    const hashes = clustered(1200, 40, 11);
    const fresh = [3, 17, 400, 999, 1100];
    const expected = bruteForce(hashes, 8, new Set(fresh));
    const got = distances(await perceptualCandidates(hashes, 8, { queries: fresh, wanted: (a, b) => fresh.includes(a) || fresh.includes(b) }));
    assert.deepEqual(got, expected);
    assert.ok(expected.size > 0);
  });

  it('says whether a pair matched through a mirror hash', async () => {
    const h = new Uint32Array(8);
    h.set([0x12345678, 0x9abcdef0, 0xffff0000, 0x0000ffff], 0);
    h.set([0xffff0000, 0x0000ffff, 0x11111111, 0x22222222], 4); // image 1's hash = image 0's mirror
    const got = await perceptualCandidates(h, 2);
    assert.deepEqual(got.get(pairKeyOf(0, 1)), { distance: 0, mirrored: true });
  });

  it('lets the event loop through on a large collection', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const got = await perceptualCandidates(clustered(120_000, 30_000, 7), 8, { onProgress: () => undefined });
      assert.ok(got.size > 0);
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks > 0, 'a timer ran while the candidates were searched');
  });
});

describe('exact pairs', () => {
  it('pairs equal bytes, else equal pixels, each image with the first of its kind', async () => {
    const bytes = ['a', 'b', 'a', 'c', 'd'];
    const pixels = ['p', 'q', 'p', 'q', 'r'];
    const got = await exactPairs(5, (i) => bytes[i] as string, (i) => pixels[i] as string, () => true);
    assert.deepEqual([...got].sort(), [
      [pairKeyOf(0, 2), 'bytes'],
      [pairKeyOf(1, 3), 'pixels'],
    ]);
  });
});
