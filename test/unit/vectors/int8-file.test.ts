// The int8 copy stored beside a large local index (embeddings.int8): a stored copy scores
// exactly as a built one and the FlatIndex loaded from the folder uses it; a copy that is
// not the matrix's (embeddings.npy rewritten, one row changed, the file touched after
// load, truncated, garbage, a corrupted row) is ignored and the copy is built as before;
// a small index writes none (and removes one an earlier index left).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeNpy } from '../../../shared/npy.js';
import { createRng } from '../../../shared/random.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import { EMBEDDINGS_FILE, FlatIndex } from '../../../shared/vectors/flat-index.js';
import { findInt8Copy, INT8_FILE, writeInt8Copy } from '../../../shared/vectors/int8-file.js';
import { Int8Scanner, int8ScanAvailable } from '../../../shared/vectors/int8-scan.js';

const skip = int8ScanAvailable() ? false : 'WebAssembly SIMD is not available';

const D = 37; // padded to 48 in the copy
const N = 2000; // more rows than the 256 sampled when the copy is read

function clustered(n: number, d: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const centres = Float32Array.from({ length: 8 * d }, () => (rng() - 0.5) * 4);
  return Float32Array.from({ length: n * d }, (_, i) => (centres[(Math.floor(i / d) % 8) * d + (i % d)] as number) + rng() - 0.5);
}

function queries(data: Float32Array, d: number, count: number, seed: number): Float32Array[] {
  const rng = createRng(seed);
  const n = data.length / d;
  return Array.from({ length: count }, () => {
    const r = Math.floor(rng() * n);
    return Float32Array.from({ length: d }, (_, j) => (data[r * d + j] as number) + (rng() - 0.5) * 0.3);
  });
}

async function folder(t: { after: (f: () => Promise<void>) => void }): Promise<LocalStorage> {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-int8-file-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return new LocalStorage(dir);
}

/** A large-path index over `data`, saved into `storage` with its int8 copy. */
async function savedIndex(storage: LocalStorage, data: Float32Array): Promise<{ keys: string[]; index: FlatIndex }> {
  const keys = Array.from({ length: data.length / D }, (_, i) => `${i % 2 === 0 ? 'even' : 'odd'}/${i}`);
  const index = FlatIndex.fromMatrix(keys, data, D);
  index.largeFrom = 0;
  await index.save(storage);
  return { keys, index };
}

async function loadLarge(storage: LocalStorage): Promise<FlatIndex> {
  const index = await FlatIndex.load(storage);
  index.largeFrom = 0;
  return index;
}

test('a stored copy scores exactly as a built one; the loaded FlatIndex reads it and answers as the built one does', { skip }, async (t) => {
  const storage = await folder(t);
  const data = clustered(N, D, 1);
  const { index: built } = await savedIndex(storage, data);
  const file = storage.resolveKey(INT8_FILE);
  const npyBytes = (await stat(storage.resolveKey(EMBEDDINGS_FILE))).size;
  assert.equal((await stat(file)).size, Math.ceil((64 + 8 * N) / 64) * 64 + N * 48);

  const norms = Float32Array.from({ length: N }, (_, r) => Math.sqrt(data.subarray(r * D, (r + 1) * D).reduce((s, x) => s + x * x, 0)));
  const m = { data, norms, rows: N, dim: D };
  // The same bytes, whoever writes them, and the same scores, bit for bit.
  const again = path.join(storage.root, 'again.int8');
  await writeInt8Copy(again, m, npyBytes);
  assert.ok((await readFile(again)).equals(await readFile(file)));
  const stored = (await findInt8Copy(file, m, npyBytes))?.open(m);
  assert.ok(stored, 'the copy is found and read');
  const fresh = Int8Scanner.build(data, N, D, norms);
  for (const q of queries(data, D, 3, 2)) assert.deepEqual(Array.from(stored.scores(q)), Array.from(fresh.scores(q)));

  const loaded = await loadLarge(storage);
  assert.equal(loaded.int8Copy(), undefined, 'read at the first large query, not at load');
  for (const q of queries(data, D, 5, 3)) {
    assert.deepEqual(await loaded.search(q, { k: 10 }), await built.search(q, { k: 10 }));
    const filter = { keyPrefix: 'odd' };
    assert.deepEqual(await loaded.search(q, { k: 5, filter }), loaded.searchSync(q, { k: 5, filter }));
  }
  assert.equal(loaded.int8Copy(), 'stored');
  assert.equal(built.int8Copy(), 'built');

  // prepareSearch reads it too; any change drops it and the next query builds one.
  const opened = await loadLarge(storage);
  opened.prepareSearch();
  assert.equal(opened.int8Copy(), 'stored');
  const q = data.slice(0, D);
  await opened.upsert([{ key: 'new', vector: q.slice() }]);
  assert.equal(opened.int8Copy(), undefined);
  assert.equal((await opened.search(q, { k: 1, excludeKeys: new Set(['even/0']) }))[0]?.key, 'new');
  assert.equal(opened.int8Copy(), 'built');
  const removed = await loadLarge(storage);
  await removed.remove(['even/0']);
  assert.deepEqual(await removed.search(q, { k: 3 }), removed.searchSync(q, { k: 3 }));
  assert.equal(removed.int8Copy(), 'built');
});

test('a stale copy is ignored: embeddings.npy rewritten, one row changed, or the copy touched after load', { skip }, async (t) => {
  const storage = await folder(t);
  const data = clustered(N, D, 4);
  await savedIndex(storage, data);
  const copy = await readFile(storage.resolveKey(INT8_FILE));
  const check = async (what: string) => {
    const index = await loadLarge(storage);
    const view = index.view();
    for (const q of queries(view, D, 3, 5)) assert.deepEqual(await index.search(q, { k: 10 }), index.searchSync(q, { k: 10 }), what);
    assert.equal(index.int8Copy(), 'built', what);
  };

  // Other vectors of the same shape (same file size): the norms differ.
  const other = clustered(N, D, 6);
  await writeFile(storage.resolveKey(EMBEDDINGS_FILE), encodeNpy({ rows: N, cols: D, data: other }));
  await check('embeddings.npy rewritten');

  // One row (not among those re-quantised when the copy is read) changed: its norm differs.
  const one = data.slice();
  for (let j = 0; j < D; j++) one[1000 * D + j] = (one[1000 * D + j] as number) * 1.5;
  await writeFile(storage.resolveKey(EMBEDDINGS_FILE), encodeNpy({ rows: N, cols: D, data: one }));
  await check('one row changed');

  // The right npy again, and a copy made from other vectors of the same shape.
  await writeFile(storage.resolveKey(EMBEDDINGS_FILE), encodeNpy({ rows: N, cols: D, data }));
  const reference = await loadLarge(storage);
  await reference.search(data.slice(0, D), { k: 1 });
  assert.equal(reference.int8Copy(), 'stored', 'the original copy still fits the original npy');
  const foreign = new LocalStorage(path.join(storage.root, 'foreign'));
  await savedIndex(foreign, other);
  await writeFile(storage.resolveKey(INT8_FILE), await readFile(foreign.resolveKey(INT8_FILE)));
  await check('the copy of another matrix');

  // The copy replaced between load and the first query (same bytes, new mtime): not read.
  await writeFile(storage.resolveKey(INT8_FILE), copy);
  const loaded = await loadLarge(storage);
  const later = new Date(Date.now() + 5000);
  await utimes(storage.resolveKey(INT8_FILE), later, later);
  await loaded.search(data.slice(0, D), { k: 1 });
  assert.equal(loaded.int8Copy(), 'built', 'touched after load');
});

test('a truncated, garbage or corrupted copy is ignored', { skip }, async (t) => {
  const storage = await folder(t);
  const data = clustered(N, D, 7);
  await savedIndex(storage, data);
  const file = storage.resolveKey(INT8_FILE);
  const good = await readFile(file);
  const check = async (what: string) => {
    const index = await loadLarge(storage);
    for (const q of queries(data, D, 3, 8)) assert.deepEqual(await index.search(q, { k: 10 }), index.searchSync(q, { k: 10 }), what);
    assert.equal(index.int8Copy(), 'built', what);
  };
  await truncate(file, good.length - 1);
  await check('truncated by one byte');
  await writeFile(file, Buffer.concat([good, Buffer.alloc(16)]));
  await check('16 bytes too long');
  await writeFile(file, Buffer.from('not an int8 copy'));
  await check('garbage');
  const rng = createRng(9);
  await writeFile(file, Buffer.from(Array.from({ length: good.length }, () => Math.floor(rng() * 256))));
  await check('random bytes of the right size');
  // The header and the norms right, the rows not: row 0 is among those re-quantised when the copy is read.
  const corrupt = Buffer.from(good);
  const blockAt = Math.ceil((64 + 8 * N) / 64) * 64;
  corrupt[blockAt] = (corrupt[blockAt] as number) ^ 0x40;
  await writeFile(file, corrupt);
  await check('a stored row corrupted');
  await writeFile(file, good);
  const index = await loadLarge(storage);
  await index.search(data.slice(0, D), { k: 1 });
  assert.equal(index.int8Copy(), 'stored', 'the good copy again');
});

test('a small index writes no copy, and saving one removes a copy an earlier index left', async (t) => {
  const storage = await folder(t);
  const data = clustered(300, D, 10);
  const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
  const small = FlatIndex.fromMatrix(keys, data, D); // largeFrom: the default 16M values
  await small.save(storage);
  assert.equal(await storage.exists(INT8_FILE), false);
  if (!skip) {
    small.largeFrom = 0;
    await small.save(storage);
    assert.equal(await storage.exists(INT8_FILE), true);
  }
  small.largeFrom = Infinity;
  await small.save(storage);
  assert.equal(await storage.exists(INT8_FILE), false, 'removed');
  const loaded = await FlatIndex.load(storage);
  assert.deepEqual(loaded.searchSync(data.slice(0, D), { k: 3 }), small.searchSync(data.slice(0, D), { k: 3 }));
});
