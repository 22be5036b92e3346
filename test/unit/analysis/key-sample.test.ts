// The map sample is chosen by a hash of the key: the same points whatever order a scan
// yields them in, and a point offered twice counts once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keyHash, KeySample } from '../../../shared/analysis/key-sample.js';
import { createRng, shuffled } from '../../../shared/random.js';

describe('KeySample', () => {
  const dim = 3;
  const keys = Array.from({ length: 500 }, (_, i) => `photos/${String(i).padStart(4, '0')}.jpg`);
  const vector = (i: number): Float32Array => Float32Array.from([i + 1, 2, 3]);

  test('the same sample, sorted by key, whatever the order; the smallest hashes', () => {
    const take = (order: readonly number[]): { keys: string[]; vectors: Float32Array } => {
      const s = new KeySample(40, dim, 7);
      for (const i of order) s.offer(keys[i] as string, vector(i));
      return s.sorted();
    };
    const ascending = take(keys.map((_, i) => i));
    const random = take(shuffled(keys.map((_, i) => i), createRng(3)));
    assert.deepEqual(random, ascending);
    assert.equal(ascending.keys.length, 40);
    assert.deepEqual(ascending.keys, [...ascending.keys].sort());
    const expected = [...keys].sort((a, b) => keyHash(7, a) - keyHash(7, b)).slice(0, 40).sort();
    assert.deepEqual(ascending.keys, expected);
    // Unit vectors.
    const i = keys.indexOf(ascending.keys[0] as string);
    const norm = Math.hypot(i + 1, 2, 3);
    assert.ok(Math.abs((ascending.vectors[0] as number) - (i + 1) / norm) < 1e-6);
  });

  test('another seed, another sample; a repeated key is one point', () => {
    const a = new KeySample(40, dim, 7);
    const b = new KeySample(40, dim, 8);
    for (let i = 0; i < keys.length; i++) {
      a.offer(keys[i] as string, vector(i));
      b.offer(keys[i] as string, vector(i));
    }
    assert.notDeepEqual(a.sorted().keys, b.sorted().keys);
    const small = new KeySample(10, dim, 1);
    for (let r = 0; r < 3; r++) for (let i = 0; i < 5; i++) small.offer(keys[i] as string, vector(i));
    assert.equal(small.length, 5);
  });
});
