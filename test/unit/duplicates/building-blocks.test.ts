// The duplicate finder's pure building blocks: perceptual hashes, visual words, the
// inverted word index, groups with a keeper, and the store of dismissed pairs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DismissalStore } from '../../../shared/duplicates/dismissals.js';
import { groupPairs, pairId } from '../../../shared/duplicates/groups.js';
import type { PairEvidence } from '../../../shared/duplicates/pairs.js';
import { hashDistance, hashFromHex, hashHex, HASH_INPUT, perceptualHash, popcount32 } from '../../../shared/duplicates/perceptual-hash.js';
import { tierAtLeast } from '../../../shared/duplicates/tiers.js';
import { distinctWords, DESCRIPTOR_BITS, WORD_BANDS, wordEntries } from '../../../shared/duplicates/visual-words.js';
import { WordIndex } from '../../../shared/duplicates/word-index.js';
import { alignmentFixtures, texture } from './fixtures.js';
import { agreement, IDENTITY, plausibleEdit } from '../../../shared/duplicates/alignment.js';
import { createRng } from '../../../shared/random.js';
import { LocalStorage } from '../../../shared/storage/local.js';

function gradient(seed: number): Uint8Array {
  const rng = createRng(seed);
  const out = new Uint8Array(HASH_INPUT * HASH_INPUT);
  const fx = rng() * 4;
  const fy = rng() * 4;
  for (let y = 0; y < HASH_INPUT; y++) for (let x = 0; x < HASH_INPUT; x++) out[y * HASH_INPUT + x] = Math.round(127 + 120 * Math.sin(x * fx * 0.2 + y * fy * 0.2 + seed));
  return out;
}

describe('perceptual hash', () => {
  test('popcount and distances', () => {
    assert.equal(popcount32(0), 0);
    assert.equal(popcount32(0xffffffff), 32);
    assert.equal(popcount32(0b1011), 3);
    assert.equal(hashDistance([0, 0], [0xffffffff, 1]), 33);
  });
  test('the same pixels hash alike, brightened pixels nearly alike, the negative far', () => {
    const a = texture(1, HASH_INPUT, HASH_INPUT).data;
    const brighter = a.map((v) => Math.min(255, Math.round(v * 0.8 + 30)));
    assert.equal(hashDistance(perceptualHash(a), perceptualHash(a)), 0);
    assert.ok(hashDistance(perceptualHash(a), perceptualHash(brighter)) <= 4, `distance ${hashDistance(perceptualHash(a), perceptualHash(brighter))}`);
    const negative = a.map((v) => 255 - v);
    assert.ok(hashDistance(perceptualHash(a), perceptualHash(negative)) > 32, `distance ${hashDistance(perceptualHash(a), perceptualHash(negative))}`);
  });
  test("an image's mirror hash is its mirror image's hash", () => {
    const a = gradient(3);
    const m = new Uint8Array(a.length);
    for (let y = 0; y < HASH_INPUT; y++) for (let x = 0; x < HASH_INPUT; x++) m[y * HASH_INPUT + x] = a[y * HASH_INPUT + HASH_INPUT - 1 - x] as number;
    assert.equal(hashDistance(perceptualHash(a, true), perceptualHash(m)), 0);
  });
  test('hex round trip and a clear error for a bad size', () => {
    const h = perceptualHash(gradient(2));
    assert.deepEqual(hashFromHex(hashHex(h)), h);
    assert.throws(() => perceptualHash(new Uint8Array(10)), /32×32/);
    assert.throws(() => hashFromHex('xyz'), /16 hex digits/);
  });
});

describe('visual words', () => {
  const rng = createRng(5);
  const desc = Uint8Array.from({ length: 4 * 32 }, () => Math.floor(rng() * 256));
  test('one entry per descriptor and band, sorted, carrying the descriptor number', () => {
    const e = wordEntries(desc);
    assert.equal(e.length, 4 * WORD_BANDS);
    for (let i = 1; i < e.length; i++) assert.ok((e[i] as number) >= (e[i - 1] as number));
    const owners = new Set(Array.from(e, (v) => v & ((1 << DESCRIPTOR_BITS) - 1)));
    assert.deepEqual([...owners].sort(), [0, 1, 2, 3]);
  });
  test('a descriptor with a few bits flipped keeps most of its words; deterministic', () => {
    const near = Uint8Array.from(desc);
    near[0] = (near[0] as number) ^ 0b1;
    near[9] = (near[9] as number) ^ 0b100;
    const a = new Set(distinctWords(wordEntries(desc.subarray(0, 32))));
    const b = distinctWords(wordEntries(near.subarray(0, 32)));
    assert.ok([...b].filter((w) => a.has(w)).length >= WORD_BANDS - 2);
    assert.deepEqual(wordEntries(desc), wordEntries(desc));
  });
  test('bad descriptor arrays are refused', () => {
    assert.throws(() => wordEntries(new Uint8Array(33)), /multiple of 32/);
  });
});

describe('word index', () => {
  test('ranks images by idf-weighted shared words, excludes the query, drops stop words', () => {
    const words = [Uint32Array.of(1, 2, 3, 4), Uint32Array.of(1, 2, 3, 9), Uint32Array.of(4, 50), Uint32Array.of(60, 61), Uint32Array.of(1)];
    // Word 1 is held by 3 images: counted with maxDf 3 (image 4 shares only it), a stop word with maxDf 2.
    const hits = WordIndex.build(words, { maxDf: 3 }).query(words[0] as Uint32Array, { limit: 5, exclude: 0 });
    assert.deepEqual(
      hits.map((h) => h.image),
      [1, 2, 4],
    );
    assert.ok((hits[0] as { score: number }).score > (hits[1] as { score: number }).score);
    const stopped = WordIndex.build(words, { maxDf: 2 }).query(words[0] as Uint32Array, { limit: 5, exclude: 0 });
    assert.deepEqual(
      stopped.map((h) => h.image),
      [1, 2],
    );
    assert.equal(WordIndex.build(words, { maxDf: 2 }).query(words[0] as Uint32Array, { limit: 1, exclude: 0 }).length, 1);
  });
});

describe('groups', () => {
  const images = [
    { key: 'a.jpg', width: 100, height: 100, bytes: 10 },
    { key: 'b.jpg', width: 200, height: 100, bytes: 5 },
    { key: 'c.jpg', width: 200, height: 100, bytes: 9 },
    { key: 'd.jpg', width: 50, height: 50, bytes: 1 },
    { key: 'e.jpg', width: 50, height: 50, bytes: 1 },
  ];
  const pairs: PairEvidence[] = [
    { a: 0, b: 1, tier: 'perceptual', distance: 2 },
    { a: 1, b: 2, tier: 'verified', inliers: 40 },
    { a: 3, b: 4, tier: 'learned', cosine: 0.99 },
  ];
  test('connected pairs form a group; the keeper has the most pixels, then bytes', () => {
    const groups = groupPairs(images, pairs, { minTier: 'verified', dismissed: new Set() });
    assert.equal(groups.length, 1);
    const g = groups[0];
    assert.ok(g);
    assert.equal(g.keeper, 'c.jpg');
    assert.equal(g.tier, 'perceptual');
    assert.deepEqual(
      g.members.map((m) => [m.key, m.tier, m.keeper]),
      [
        ['a.jpg', 'perceptual', false],
        ['b.jpg', 'perceptual', false],
        ['c.jpg', 'verified', true],
      ],
    );
  });
  test('min tier and dismissed pairs', () => {
    assert.equal(groupPairs(images, pairs, { minTier: 'learned', dismissed: new Set() }).length, 2);
    const left = groupPairs(images, pairs, { minTier: 'verified', dismissed: new Set([pairId('c.jpg', 'b.jpg')]) });
    assert.deepEqual(
      left.map((g) => g.members.map((m) => m.key)),
      [['a.jpg', 'b.jpg']],
    );
    assert.ok(tierAtLeast('exact', 'verified'));
    assert.ok(!tierAtLeast('learned', 'verified'));
  });
});

describe('alignment', () => {
  test('an image agrees with itself, not with another; edits are plausible, flips and strong perspective are not', () => {
    const { a, b } = alignmentFixtures();
    assert.ok(agreement(a, a, IDENTITY).correlation > 0.999);
    assert.ok(Math.abs(agreement(a, b, IDENTITY).correlation) < 0.5);
    assert.ok(plausibleEdit([0.8, 0.3, 10, -0.3, 0.8, 5, 0, 0, 1], 384));
    assert.ok(!plausibleEdit([-1, 0, 300, 0, 1, 0, 0, 0, 1], 384));
    assert.ok(!plausibleEdit([1, 0, 0, 0, 1, 0, 0.01, 0, 1], 384));
  });
});

describe('dismissed pairs', () => {
  test('stored once in either order, listed as ids, removable, and a damaged file is a clear error', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-dismiss-'));
    try {
      const store = new DismissalStore(new LocalStorage(dir));
      assert.deepEqual(await store.list(), []);
      assert.equal(await store.add('b.jpg', 'a.jpg'), true);
      assert.equal(await store.add('a.jpg', 'b.jpg'), false);
      assert.deepEqual([...(await new DismissalStore(new LocalStorage(dir)).ids())], [pairId('a.jpg', 'b.jpg')]);
      await assert.rejects(store.add('a.jpg', 'a.jpg'), /two different images/);
      assert.equal(await store.remove('a.jpg', 'b.jpg'), true);
      assert.equal(await store.remove('a.jpg', 'b.jpg'), false);
      await new LocalStorage(dir).put('dismissed-duplicates.json', '{"version":1,"pairs":[{"a":1}]}');
      await assert.rejects(store.list(), /damaged/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
