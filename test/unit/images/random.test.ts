// shared/random.ts: seeded generator and shuffles are deterministic and well-formed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, randomInt, shuffleInPlace, shuffled } from '../../../shared/random.js';

void test('createRng: same seed, same sequence; values in [0, 1)', () => {
  const a = createRng(42);
  const b = createRng(42);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(Array.from({ length: 1000 }, () => b()), xs);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.notDeepEqual(Array.from({ length: 10 }, createRng(43)), xs.slice(0, 10));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  assert.throws(() => createRng(Number.NaN), RangeError);
});

void test('randomInt stays within its inclusive bounds and reaches both', () => {
  const rng = createRng(1);
  const seen = new Set(Array.from({ length: 500 }, () => randomInt(rng, 3, 6)));
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6]);
});

void test('shuffles are seeded permutations', () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const s1 = shuffled(items, createRng(9));
  assert.deepEqual(shuffled(items, createRng(9)), s1);
  assert.deepEqual([...s1].sort((x, y) => x - y), items);
  assert.notDeepEqual(s1, items);
  assert.deepEqual(items, Array.from({ length: 50 }, (_, i) => i), 'shuffled leaves its input alone');
  const inPlace = [...items];
  assert.equal(shuffleInPlace(inPlace, createRng(9)), inPlace);
  assert.deepEqual(inPlace, s1);
});
