// A pair's evidence in words, which pair explains each member, and the sheet order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareEvidence, evidenceText, memberEvidence, sheetOrder } from '../../../shared/duplicates/evidence.js';
import type { DuplicateGroup, DuplicatePair, GroupMember } from '../../../shared/duplicates/groups.js';

const member = (key: string, keeper = false): GroupMember => ({ key, width: 100, height: 100, bytes: 1000, keeper, tier: 'verified' });

test('evidenceText: the tier and the number that confirmed it', () => {
  assert.equal(evidenceText({ tier: 'exact', identical: 'bytes' }), 'exact bytes');
  assert.equal(evidenceText({ tier: 'exact', identical: 'pixels' }), 'exact pixels');
  assert.equal(evidenceText({ tier: 'perceptual', distance: 2, correlation: 0.97 }), 'perceptual d=2');
  assert.equal(evidenceText({ tier: 'perceptual', distance: 0, mirrored: true }), 'perceptual d=0 mirror');
  assert.equal(evidenceText({ tier: 'verified', inliers: 84, correlation: 0.9 }), 'verified 84 inl');
  assert.equal(evidenceText({ tier: 'learned', cosine: 0.98123 }), 'learned cos 0.981');
});

test('compareEvidence: tier first, then inliers (more), hash distance (less), cosine (more), bytes before pixels', () => {
  const sorted = (pairs: Array<Omit<DuplicatePair, 'a' | 'b'>>): string[] => [...pairs].sort(compareEvidence).map(evidenceText);
  assert.deepEqual(sorted([{ tier: 'learned', cosine: 0.99 }, { tier: 'verified', inliers: 30 }, { tier: 'exact', identical: 'pixels' }, { tier: 'perceptual', distance: 3 }]), [
    'exact pixels',
    'perceptual d=3',
    'verified 30 inl',
    'learned cos 0.990',
  ]);
  assert.deepEqual(sorted([{ tier: 'verified', inliers: 30 }, { tier: 'verified', inliers: 90 }]), ['verified 90 inl', 'verified 30 inl']);
  assert.deepEqual(sorted([{ tier: 'perceptual', distance: 5 }, { tier: 'perceptual', distance: 1 }]), ['perceptual d=1', 'perceptual d=5']);
  assert.deepEqual(sorted([{ tier: 'learned', cosine: 0.97 }, { tier: 'learned', cosine: 0.99 }]), ['learned cos 0.990', 'learned cos 0.970']);
  assert.deepEqual(sorted([{ tier: 'exact', identical: 'pixels' }, { tier: 'exact', identical: 'bytes' }]), ['exact bytes', 'exact pixels']);
});

test("memberEvidence: a member's pair with the keeper, else its strongest pair (joined through a third image)", () => {
  // k is the keeper; x duplicates k twice over (keeper pair wins even when weaker than another), y only through x.
  const group: DuplicateGroup = {
    tier: 'exact',
    keeper: 'k',
    members: [member('k', true), member('x'), member('y')],
    pairs: [
      { a: 'k', b: 'x', tier: 'verified', inliers: 40 },
      { a: 'x', b: 'y', tier: 'exact', identical: 'bytes' },
      { a: 'x', b: 'y2', tier: 'learned', cosine: 0.99 },
    ],
  };
  const e = memberEvidence(group);
  assert.equal(e.has('k'), false, 'the keeper has no evidence line of its own');
  assert.deepEqual({ other: e.get('x')?.other, text: e.get('x')?.text }, { other: 'k', text: 'verified 40 inl' });
  assert.deepEqual({ other: e.get('y')?.other, text: e.get('y')?.text }, { other: 'x', text: 'exact bytes' });
});

test('sheetOrder: the keeper first, then the strongest evidence, then by key', () => {
  const group: DuplicateGroup = {
    tier: 'exact',
    keeper: 'm',
    members: [member('a'), member('b'), member('c'), member('m', true)],
    pairs: [
      { a: 'a', b: 'm', tier: 'verified', inliers: 25 },
      { a: 'b', b: 'm', tier: 'verified', inliers: 25 },
      { a: 'c', b: 'm', tier: 'exact', identical: 'bytes' },
    ],
  };
  assert.deepEqual(sheetOrder(group), ['m', 'c', 'a', 'b']);
});

test('memberEvidence on a large random group: the pair the one-member-at-a-time rule picks (keeper pairs first, then the strongest, first of equals)', () => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const keys = Array.from({ length: 400 }, (_, i) => `k${i}`);
  const tiers = ['exact', 'perceptual', 'verified', 'learned'] as const;
  const pairs: DuplicatePair[] = Array.from({ length: 3000 }, () => {
    const a = keys[rand(keys.length)] as string;
    const b = keys[rand(keys.length)] as string;
    const tier = tiers[rand(4)] as (typeof tiers)[number];
    return { a, b: a === b ? 'k0' : b, tier, inliers: rand(5) * 10, distance: rand(3), cosine: 0.97 + rand(3) / 100 };
  });
  const group = { keeper: 'k0', members: keys.map((k) => member(k, k === 'k0')), pairs };
  const expected = new Map<string, DuplicatePair>();
  for (const m of group.members) {
    if (m.key === 'k0') continue;
    const own = pairs.filter((p) => p.a === m.key || p.b === m.key);
    const withKeeper = own.filter((p) => p.a === 'k0' || p.b === 'k0');
    const best = [...(withKeeper.length > 0 ? withKeeper : own)].sort(compareEvidence)[0];
    if (best) expected.set(m.key, best);
  }
  const got = memberEvidence(group);
  assert.equal(got.size, expected.size);
  for (const [key, pair] of expected) assert.equal(got.get(key)?.pair, pair, key);
  assert.deepEqual(sheetOrder(group, got), sheetOrder(group));
});
