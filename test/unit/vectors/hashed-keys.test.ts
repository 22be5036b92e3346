// Compact key sets (shared/vectors/hashed-keys.ts): what an incremental run compares a
// listing with. Membership and versions answer as a Map and a Set would, for keys of the
// shapes buckets have (paths, unicode, near-identical names), at 8–12 bytes a key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeySet, KeyVersions } from '../../../shared/vectors/hashed-keys.js';

const keys = Array.from({ length: 50_000 }, (_, i) => `photos/${Math.floor(i / 1000)}/IMG_${String(i).padStart(6, '0')}.jpg`);

test('KeySet answers as a Set does', () => {
  const set = new KeySet();
  for (const k of keys.filter((_, i) => i % 3 !== 0)) set.add(k);
  set.seal();
  assert.equal(set.size, keys.length - Math.ceil(keys.length / 3));
  keys.forEach((k, i) => assert.equal(set.has(k), i % 3 !== 0, k));
  assert.equal(set.has('photos/0/IMG_000001.jpg '), false);
  assert.equal(set.has('fotos/é/ß.png'), false);
  assert.throws(() => set.add('late.jpg'), /add after seal/);
});

test('KeyVersions answers as a Map of key → version does', () => {
  const versions = new KeyVersions();
  keys.forEach((k, i) => versions.add(k, `"etag-${i}"`));
  versions.add('fotos/é/ß.png', 'v1');
  versions.seal();
  assert.equal(versions.size, keys.length + 1);
  keys.forEach((k, i) => {
    assert.ok(versions.holds(k, `"etag-${i}"`));
    assert.ok(!versions.holds(k, `"etag-${i + 1}"`));
  });
  assert.ok(versions.holds('fotos/é/ß.png', 'v1'));
  assert.ok(versions.has('fotos/é/ß.png'));
  assert.ok(!versions.has('fotos/e/ß.png'));
  assert.equal(new KeyVersions().seal().size, 0);
});
