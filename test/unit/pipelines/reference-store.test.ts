// The reference feature method's space is fitted once per index and stored beside it:
// a query reads it (from memory or from the store) instead of every vector of the index,
// and a changed index (another count, model or build) or an unreadable store is refitted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {  } from '../../../pipelines/features.js';
import { forgetReferenceSpaces, REFERENCE_META_FILE, ReferenceIndex, referenceIndexOf, type ReferenceStore } from '../../../pipelines/features-reference.js';
import { createRng } from '../../../shared/random.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import { FlatIndex } from '../../../shared/vectors/flat-index.js';
import { readAllVectors } from '../../../shared/vectors/read-all.js';

/** A FlatIndex that counts full scans (what the reference method must not do per query). */
class CountingIndex extends FlatIndex {
  scans = 0;
  override scan(): AsyncIterable<{ key: string; vector: Float32Array }> {
    this.scans++;
    return super.scan();
  }
}

test('the reference space is fitted once, reused from memory and from the store, refitted when stale', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-reference-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  t.after(forgetReferenceSpaces);
  const d = 16;
  const length = 64;
  const rng = createRng(3);
  const index = new CountingIndex(d);
  await index.upsert(Array.from({ length: 30 }, (_, i) => ({ key: `img/${i}.jpg`, vector: Float32Array.from({ length: d }, () => rng() - 0.5) })));
  const folder = new LocalStorage(path.join(dir, 'index'));
  const store: ReferenceStore = { storage: folder, prefix: '', modelId: 'm1', build: '2026-01-01' };
  const query = Float32Array.from({ length }, (_, i) => Math.cos(i));

  const first = await referenceIndexOf(index, length, 'the index', store);
  assert.equal(index.scans, 1);
  assert.deepEqual((await readdir(folder.root)).sort(), ['reference-embeddings.npy', 'reference-ids.json', REFERENCE_META_FILE]);
  const meta = JSON.parse(await readFile(path.join(folder.root, REFERENCE_META_FILE), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(meta, { version: 1, modelId: 'm1', build: '2026-01-01', count: 30, dim: d, length, components: 16 });
  // What the method computed before it was stored: the same space.
  const { keys, vectors } = await readAllVectors(index, { unit: true });
  const direct = ReferenceIndex.build(keys, vectors, d, length).search(query, 5);
  assert.deepEqual(first.search(query, 5), direct);
  index.scans = 0;

  assert.equal(await referenceIndexOf(index, length, 'the index', store), first, 'from memory');
  forgetReferenceSpaces();
  const stored = await referenceIndexOf(index, length, 'the index', store);
  assert.equal(index.scans, 0, 'read from the store, not from the index');
  assert.notEqual(stored, first);
  assert.deepEqual(stored.search(query, 5), direct);

  await referenceIndexOf(index, length, 'the index', { ...store, build: '2026-02-02' });
  assert.equal(index.scans, 1, 'a rebuilt index is refitted');
  await index.upsert([{ key: 'img/new.jpg', vector: Float32Array.from({ length: d }, () => rng() - 0.5) }]);
  const refit = await referenceIndexOf(index, length, 'the index', { ...store, build: '2026-02-02' });
  assert.equal(index.scans, 2, 'another count is refitted');
  assert.equal(refit.count, 31);
  assert.equal((JSON.parse(await readFile(path.join(folder.root, REFERENCE_META_FILE), 'utf8')) as { count: number }).count, 31);

  forgetReferenceSpaces();
  await writeFile(path.join(folder.root, REFERENCE_META_FILE), '{ not json');
  await referenceIndexOf(index, length, 'the index', { ...store, build: '2026-02-02' });
  assert.equal(index.scans, 3, 'an unreadable store is refitted');
  forgetReferenceSpaces();
  await referenceIndexOf(index, length, 'the index', { ...store, build: '2026-02-02', modelId: 'm2' });
  assert.equal(index.scans, 4, 'another model is refitted');

  await referenceIndexOf(index, length, 'the index');
  await referenceIndexOf(index, length, 'the index');
  assert.equal(index.scans, 6, 'without a store: fitted per call, as before');
});
