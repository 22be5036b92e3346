// Scoring of eval-duplicates (shared/duplicates/scoring.ts): pair precision and recall from
// groups and families, per tier, per kind of edit, distinct originals grouped, recall@k.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { falseEdges, foundInTop, groupsOf, kindScores, originalsGrouped, pairScore, tierScores, type Edge } from '../../../shared/duplicates/scoring.js';

// Two families: A (A, a1, a2, a3) and B (B, b1); C and D alone.
const families = new Map([
  ['A', 'A'],
  ['a1', 'A'],
  ['a2', 'A'],
  ['a3', 'A'],
  ['B', 'B'],
  ['b1', 'B'],
  ['C', 'C'],
  ['D', 'D'],
]);

describe('pairScore', () => {
  test('perfect groups: precision and recall 1', () => {
    const s = pairScore(
      [
        ['A', 'a1', 'a2', 'a3'],
        ['B', 'b1'],
      ],
      families,
    );
    assert.deepEqual(s, { truePairs: 7, predicted: 7, correct: 7, precision: 1, recall: 1 });
  });

  test('a missed copy and a wrong merge: counted by pairs, not by images', () => {
    // a3 missed (3 of A's 6 pairs found), B's family merged with C: 3 pairs predicted, 1 correct.
    const s = pairScore(
      [
        ['A', 'a1', 'a2'],
        ['B', 'C', 'b1'],
      ],
      families,
    );
    assert.equal(s.truePairs, 7);
    assert.equal(s.predicted, 3 + 3);
    assert.equal(s.correct, 3 + 1);
    assert.equal(s.precision, 4 / 6);
    assert.equal(s.recall, 4 / 7);
  });

  test('nothing predicted: precision null, recall 0; no families: recall null', () => {
    assert.deepEqual(pairScore([], families), { truePairs: 7, predicted: 0, correct: 0, precision: null, recall: 0 });
    const alone = pairScore([['x', 'y']], new Map());
    assert.deepEqual(alone, { truePairs: 0, predicted: 1, correct: 0, precision: 0, recall: null });
  });

  test('large groups are counted without listing pairs', () => {
    const big = new Map(Array.from({ length: 2000 }, (_, i) => [`k${i}`, 'F']));
    const s = pairScore([[...big.keys()]], big);
    assert.equal(s.predicted, 1999000);
    assert.equal(s.recall, 1);
  });
});

describe('groups and tiers', () => {
  const edges: Edge[] = [
    { a: 'A', b: 'a1', tier: 'exact' },
    { a: 'A', b: 'a2', tier: 'perceptual' },
    { a: 'a2', b: 'a3', tier: 'verified' },
    { a: 'B', b: 'b1', tier: 'verified' },
    { a: 'b1', b: 'C', tier: 'learned' },
  ];

  test('groupsOf joins by transitivity at or above the tier asked for', () => {
    assert.deepEqual(groupsOf(edges, 'verified'), [
      ['A', 'a1', 'a2', 'a3'],
      ['B', 'b1'],
    ]);
    assert.deepEqual(groupsOf(edges, 'exact'), [['A', 'a1']]);
    assert.deepEqual(groupsOf(edges, 'learned')[1], ['B', 'C', 'b1']);
  });

  test('tierScores: each tier its own pairs’ precision; cumulative recall grows tier by tier', () => {
    const t = tierScores(edges, families);
    assert.deepEqual([t.exact.pairs, t.perceptual.pairs, t.verified.pairs, t.learned.pairs], [1, 1, 2, 1]);
    assert.equal(t.verified.precision, 1);
    assert.equal(t.learned.precision, 0);
    assert.equal(t.exact.cumulative.recall, 1 / 7);
    assert.equal(t.perceptual.cumulative.recall, 3 / 7);
    assert.equal(t.verified.cumulative.recall, 1);
    assert.equal(t.verified.cumulative.precision, 1);
    assert.equal(t.learned.cumulative.precision, 7 / 9);
    assert.deepEqual(falseEdges(edges, families), [{ a: 'b1', b: 'C', tier: 'learned' }]);
  });

  test('kindScores: grouped with the original (transitively) vs paired with it directly', () => {
    const copies = [
      { key: 'a1', original: 'A', kind: 'exact' },
      { key: 'a2', original: 'A', kind: 'crop' },
      { key: 'a3', original: 'A', kind: 'rotate' },
      { key: 'b1', original: 'B', kind: 'rotate' },
    ] as const;
    const s = kindScores(['crop', 'rotate', 'exact', 'flip'], copies, edges, 'verified');
    assert.deepEqual(s.exact, { copies: 1, grouped: 1, recall: 1, direct: 1, directRate: 1, directTiers: { exact: 1 }, missed: [] });
    assert.deepEqual(s.rotate, { copies: 2, grouped: 2, recall: 1, direct: 1, directRate: 0.5, directTiers: { verified: 1 }, missed: [] });
    assert.deepEqual(s.flip, { copies: 0, grouped: 0, recall: null, direct: 0, directRate: null, directTiers: {}, missed: [] });
    const strict = kindScores(['rotate'], copies.filter((c) => c.kind === 'rotate'), edges, 'perceptual');
    assert.equal(strict.rotate.recall, 0, 'at min tier perceptual the verified pairs do not group');
    assert.deepEqual(strict.rotate.missed, ['a3', 'b1']);
    assert.deepEqual(strict.rotate.directTiers, { verified: 1 }, 'the direct pair is still reported with its tier');
  });

  test('originalsGrouped counts pairs of distinct originals sharing a group', () => {
    const originals = new Set(['A', 'B', 'C', 'D']);
    assert.equal(originalsGrouped(groupsOf(edges, 'verified'), originals), 0);
    assert.equal(originalsGrouped(groupsOf(edges, 'learned'), originals), 1);
    assert.equal(originalsGrouped([['A', 'B', 'C', 'a1']], originals), 3);
  });
});

describe('foundInTop', () => {
  test('the original among the first k, skipped keys left out of the count', () => {
    const ranked = ['a2', 'a1', 'X', 'Y', 'A'];
    assert.equal(foundInTop(ranked, 'A', 5), true);
    assert.equal(foundInTop(ranked, 'A', 4), false);
    assert.equal(foundInTop(ranked, 'A', 3, (k) => k.startsWith('a')), true);
    assert.equal(foundInTop(ranked, 'A', 2, (k) => k.startsWith('a')), false);
    assert.equal(foundInTop([], 'A', 5), false);
  });
});
