// QdrantStore / QdrantVectorIndex against the in-process emulator, or — the contract
// suite — against a real Qdrant when QDRANT_URL is set (QDRANT_API_KEY if it needs one):
//   QDRANT_URL=http://localhost:6333 node --import tsx --test test/integration/qdrant/adapter.test.ts
// Each test uses its own collection and deletes it afterwards. With the emulator every
// test also checks that no request or response broke the OpenAPI-derived schema.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { QdrantClient } from '@qdrant/js-client-rest';
import { UserError, isTransient } from '../../../shared/errors.js';
import { createRng } from '../../../shared/random.js';
import { FlatIndex } from '../../../shared/vectors/flat-index.js';
import { maxTotalDelay } from '../../../shared/retry.js';
import { QDRANT_RETRY, type QdrantRetryInfo } from '../../../shared/vectors/qdrant/adapter.js';
import { QdrantError, QdrantStore, QdrantVectorIndex, pointId, type PointInput } from '../../../shared/vectors/qdrant/index.js';
import { startQdrantEmulator, type QdrantEmulator, type QdrantEmulatorOptions } from '../../support/qdrant-emulator/index.js';

const emulator: QdrantEmulator | undefined = process.env.QDRANT_URL ? undefined : await startQdrantEmulator();
const target = {
  url: process.env.QDRANT_URL ?? (emulator as QdrantEmulator).url,
  ...(process.env.QDRANT_API_KEY ? { apiKey: process.env.QDRANT_API_KEY } : {}),
};
const store = new QdrantStore(target);
const raw = new QdrantClient({ ...target, checkCompatibility: false });
const onEmulator = { skip: emulator ? false : 'checks the emulator itself' };

test.after(() => emulator?.close());

/** A fresh collection name, deleted (with its aliases) after the test; then the schema check. */
function setup(t: TestContext): { name: (tag?: string) => string; requestsSince: (method: string, path: RegExp) => number } {
  const created: string[] = [];
  const errorsBefore = emulator?.errors.length ?? 0;
  const requestsBefore = emulator?.requests.length ?? 0;
  t.after(async () => {
    for (const c of created) await store.deleteCollection(c);
    if (emulator) assert.deepEqual(emulator.errors.slice(errorsBefore), [], 'the emulator saw no schema violation or unmodelled call');
  });
  return {
    name: (tag = 'c') => {
      const n = `imgsim-test-${tag}-${randomUUID().slice(0, 8)}`;
      created.push(n);
      return n;
    },
    requestsSince: (method, path) =>
      (emulator?.requests ?? []).slice(requestsBefore).filter((r) => r.method === method && path.test(r.path)).length,
  };
}

/** The adapter's retry budget with short waits, for tests that exercise it. */
const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20 };

/**
 * An emulator of the test's own (for keep-alive settings and injected faults, whatever
 * QDRANT_URL says), closed after the test; it must have seen no schema violation.
 */
async function ownEmulator(t: TestContext, options: QdrantEmulatorOptions = {}): Promise<QdrantEmulator> {
  const em = await startQdrantEmulator(options);
  t.after(async () => {
    await em.close();
    assert.deepEqual(em.errors, [], 'the emulator saw no schema violation or unmodelled call');
  });
  return em;
}

/** Blocks this thread for `ms`, as CPU-bound work on a worker's event loop does (t-SNE, k-means…). */
function blockEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: no timer, no socket event is handled meanwhile
  }
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function randomVectors(n: number, dim: number, seed: number): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => rng() * 2 - 1));
}

function points(vectors: Float32Array[], opts: { dataset?: string; keyOf?: (i: number) => string; etag?: string } = {}): PointInput[] {
  return vectors.map((vector, i) => ({
    dataset: opts.dataset ?? 'ds',
    key: opts.keyOf ? opts.keyOf(i) : `img-${String(i).padStart(4, '0')}.jpg`,
    vector,
    payload: { etag: opts.etag ?? `e${i}`, modelId: 'm1', width: 64, height: 48 },
  }));
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

function bruteForce(data: PointInput[], q: Float32Array, k: number, keep: (p: PointInput) => boolean = () => true): Array<{ key: string; score: number }> {
  return data
    .filter(keep)
    .map((p) => ({ key: p.key, score: cosine(p.vector, q) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

function assertSameRanking(got: Array<{ key: string; score: number }>, want: Array<{ key: string; score: number }>): void {
  assert.deepEqual(got.map((h) => h.key), want.map((h) => h.key));
  got.forEach((h, i) => assert.ok(Math.abs(h.score - (want[i] as { score: number }).score) < 1e-5, `score of ${h.key}: ${h.score} vs ${want[i]?.score}`));
}

test('ensureCollection creates a cosine collection with payload indexes and is idempotent', async (t) => {
  const s = setup(t);
  const name = s.name();
  await store.ensureCollection(name, 16);
  await store.ensureCollection(name, 16);
  assert.equal(await store.collectionExists(name), true);
  assert.ok((await store.listCollections()).includes(name));
  const info = await raw.getCollection(name);
  const vectors = info.config.params.vectors as { size?: number; distance?: string } | undefined;
  assert.equal(vectors?.size, 16);
  assert.equal(vectors?.distance, 'Cosine');
  for (const [field, type] of Object.entries({ dataset: 'keyword', key: 'keyword', dirs: 'keyword', modelId: 'keyword', cluster: 'integer' })) {
    assert.equal(info.payload_schema[field]?.data_type, type, field);
  }
  if (emulator) {
    assert.equal(s.requestsSince('PUT', /^\/collections\/[^/]+$/), 1, 'created once');
    assert.equal(s.requestsSince('PUT', /\/index$/), 5, 'indexes created once');
  }
});

test('ensureCollection refuses an existing collection of another size or distance', async (t) => {
  const s = setup(t);
  const name = s.name();
  await store.ensureCollection(name, 8);
  await assert.rejects(store.ensureCollection(name, 16), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, new RegExp(`"${name}".*8-dimensional Cosine.*16-dimensional Cosine`));
    return true;
  });
  const dot = s.name('dot');
  await raw.createCollection(dot, { vectors: { size: 8, distance: 'Dot' } });
  await assert.rejects(store.ensureCollection(dot, 8), /8-dimensional Dot vectors/);
  await assert.rejects(store.ensureCollection(s.name('bad'), 0), UserError);
});

test('upsert sends batches, and re-upserting the same keys replaces points instead of adding', async (t) => {
  const s = setup(t);
  const name = s.name();
  await store.ensureCollection(name, 8);
  const data = points(randomVectors(600, 8, 1));
  await store.upsert(name, data, 256);
  assert.equal(await store.count(name), 600);
  if (emulator) assert.equal(s.requestsSince('PUT', /\/points$/), 3, '600 points in batches of 256');
  await store.upsert(name, points(randomVectors(600, 8, 2), { etag: 'v2' }));
  assert.equal(await store.count(name), 600);
  const versions = await store.indexedVersions(name, 'ds');
  assert.equal(versions.size, 600);
  assert.ok(data.every((p) => versions.holds(p.key, 'v2') && !versions.holds(p.key, 'v1')));
  await assert.rejects(store.upsert(name, [{ ...(data[0] as PointInput), vector: Float32Array.of(1, Number.NaN, 0, 0, 0, 0, 0, 0) }]), /non-finite/);
  await assert.rejects(store.upsert(name, points(randomVectors(1, 4, 3))), (e: unknown) => e instanceof QdrantError && e.status === 400);
});

test('search returns the nearest points with brute-force cosine scores', async (t) => {
  const s = setup(t);
  const name = s.name();
  await store.ensureCollection(name, 12);
  const data = points(randomVectors(300, 12, 4));
  await store.upsert(name, data);
  for (const [i, q] of randomVectors(3, 12, 5).entries()) {
    const hits = await store.search(name, q, { k: 10, exact: i === 0 });
    assertSameRanking(hits, bruteForce(data, q, 10));
    const first = hits[0];
    assert.ok(first);
    assert.deepEqual(first.payload, { ...data.find((p) => p.key === first.key)?.payload, dataset: 'ds', key: first.key, dirs: [] });
  }
  assert.deepEqual(await store.search(name, Float32Array.from({ length: 12 }, () => 1), { k: 0 }), []);
});

test('filters by dataset, key prefix (folder) and cluster; count applies them too', async (t) => {
  const s = setup(t);
  const name = s.name();
  await store.ensureCollection(name, 8);
  const folders = ['a/', 'a/b/', 'a/bc/', 'c/', ''];
  const a = points(randomVectors(100, 8, 6), { dataset: 'A', keyOf: (i) => `${folders[i % 5]}${i}.png` });
  const b = points(randomVectors(50, 8, 7), { dataset: 'B', keyOf: (i) => `a/b/${i}.png` });
  await store.upsert(name, [...a, ...b]);
  await store.setPayload(name, 'A', a.map((p, i) => ({ key: p.key, payload: { cluster: i % 3 } })));
  const all = [...a, ...b];
  const q = Float32Array.from(randomVectors(1, 8, 8)[0] as Float32Array);
  const clusterOf = (p: PointInput): number => Number(p.key.match(/(\d+)\.png$/)?.[1]) % 3;

  assertSameRanking(await store.search(name, q, { k: 5, filter: { dataset: 'B' } }), bruteForce(all, q, 5, (p) => p.dataset === 'B'));
  assertSameRanking(
    await store.search(name, q, { k: 5, filter: { dataset: 'A', keyPrefix: 'a/b/' } }),
    bruteForce(all, q, 5, (p) => p.dataset === 'A' && p.key.startsWith('a/b/')),
  );
  // 'a/b' is the folder a/b/: it does not reach into a/bc/.
  const underAB = await store.search(name, q, { k: 100, filter: { keyPrefix: 'a/b' } });
  assert.equal(underAB.length, 20 + 50);
  assert.ok(underAB.every((h) => h.key.startsWith('a/b/')));
  assertSameRanking(
    await store.search(name, q, { k: 7, filter: { dataset: 'A', cluster: 2 } }),
    bruteForce(all, q, 7, (p) => p.dataset === 'A' && clusterOf(p) === 2),
  );
  assert.equal(await store.count(name, { dataset: 'A' }), 100);
  assert.equal(await store.count(name, { keyPrefix: 'a/' }), 60 + 50);
  assert.equal(await store.count(name, { dataset: 'A', keyPrefix: 'a/', cluster: 0 }), a.filter((p) => p.key.startsWith('a/') && clusterOf(p) === 0).length);
  assert.equal(await store.count(name, { dataset: 'nope' }), 0);
});

test('excludeKeys leaves keys out (by id within a dataset, by key across datasets)', async (t) => {
  const s = setup(t);
  const name = s.name();
  await store.ensureCollection(name, 8);
  const data = points(randomVectors(80, 8, 9));
  const other = points(randomVectors(80, 8, 9), { dataset: 'other' }); // same keys and vectors
  await store.upsert(name, [...data, ...other]);
  const q = data[0]?.vector as Float32Array;
  const top = bruteForce(data, q, 3).map((h) => h.key);
  const hits = await store.search(name, q, { k: 5, filter: { dataset: 'ds' }, excludeKeys: new Set(top) });
  assertSameRanking(hits, bruteForce(data, q, 5, (p) => !top.includes(p.key)));
  const anyDataset = await store.search(name, q, { k: 10, excludeKeys: top });
  assert.equal(anyDataset.length, 10);
  assert.ok(anyDataset.every((h) => !top.includes(h.key)));
});

test('searchByKey queries by the stored point and leaves the point itself out', async (t) => {
  const s = setup(t);
  const name = s.name();
  await store.ensureCollection(name, 8);
  const data = points(randomVectors(120, 8, 10));
  await store.upsert(name, [...data, ...points(randomVectors(20, 8, 11), { dataset: 'other' })]);
  const probe = data[7] as PointInput;
  const hits = await store.searchByKey(name, 'ds', probe.key, { k: 6 });
  assertSameRanking(hits, bruteForce(data, probe.vector, 6, (p) => p.key !== probe.key));
  const excluding = await store.searchByKey(name, 'ds', probe.key, { k: 3, excludeKeys: [hits[0]?.key as string] });
  assert.deepEqual(excluding.map((h) => h.key), hits.slice(1, 4).map((h) => h.key));
  await assert.rejects(store.searchByKey(name, 'ds', 'missing.jpg', { k: 3 }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /"missing\.jpg" is not indexed in dataset "ds"/);
    return true;
  });
});

test('sparse vectors with the idf modifier: neighbours by a point\'s own sparse vector, scored by shared idf-weighted dimensions', async (t) => {
  const { name } = setup(t);
  const c = name('sparse');
  await store.ensureSparseCollection(c, 'words');
  await store.ensureSparseCollection(c, 'words'); // idempotent
  const ones = (n: number): number[] => Array.from({ length: n }, () => 1);
  // a shares 3 dimensions with b (one of them, 1, held by every point), 1 with d; c shares none with a.
  const points = [
    { key: 'a', indices: [1, 10, 11, 12, 4_000_000] },
    { key: 'b', indices: [1, 10, 11, 20] },
    { key: 'c', indices: [1, 30, 31] },
    { key: 'd', indices: [1, 4_000_000, 40] },
    { key: 'e', indices: [1, 50] },
  ].map((p) => ({ dataset: 'ds', key: p.key, indices: p.indices, values: ones(p.indices.length), payload: { etag: `e-${p.key}`, phash: [1, 2] } }));
  await store.upsertSparse(c, 'words', points, 2);
  assert.equal(await store.count(c, { dataset: 'ds' }), 5);
  const idf = (n: number, total = 5): number => Math.log((total - n + 0.5) / (n + 0.5) + 1);
  const hits = await store.neighboursOfKeys(c, 'ds', ['a', 'c', 'missing'], 3, 64, 'words');
  const a = hits.get('a') ?? [];
  assert.deepEqual(a.map((h) => h.key).slice(0, 2), ['b', 'd'], 'the point itself left out, best first');
  assert.ok(Math.abs((a[0]?.score ?? 0) - (idf(5) + 2 * idf(2))) < 1e-4, `b: ${a[0]?.score}`);
  assert.ok(Math.abs((a[1]?.score ?? 0) - (idf(5) + idf(2))) < 1e-4, `d: ${a[1]?.score}`);
  assert.equal(hits.has('missing'), false, 'a key without a point gets no entry');
  // Overwritten and deleted points leave the index (document frequencies change with them).
  await store.upsertSparse(c, 'words', [{ dataset: 'ds', key: 'b', indices: [60], values: [1], payload: { etag: 'e-b2' } }]);
  await store.deleteKeys(c, 'ds', ['d']);
  const after = (await store.neighboursOfKeys(c, 'ds', ['a'], 3, 64, 'words')).get('a') ?? [];
  assert.deepEqual(after.map((h) => h.key).sort(), ['c', 'e']);
  assert.ok(Math.abs((after[0]?.score ?? 0) - idf(3, 4)) < 1e-4, `only the shared dimension 1: ${after[0]?.score}`);
  const payloads = [];
  for await (const p of store.scroll(c, { dataset: 'ds', payloadFields: ['etag', 'phash'] })) payloads.push([p.key, p.payload.etag, (p.payload as { phash?: unknown }).phash]);
  assert.deepEqual(payloads.sort().slice(0, 2), [['a', 'e-a', [1, 2]], ['b', 'e-b2', undefined]]);
  await assert.rejects(store.ensureCollection(c, 4), UserError, 'not a dense collection');
});

test('deleteKeys removes points; absent keys are ignored', async (t) => {
  const s = setup(t);
  const name = s.name();
  await store.ensureCollection(name, 8);
  const data = points(randomVectors(50, 8, 12));
  await store.upsert(name, data);
  const gone = data.slice(0, 10).map((p) => p.key);
  await store.deleteKeys(name, 'ds', [...gone, 'never-there.jpg'], 4);
  assert.equal(await store.count(name), 40);
  const hits = await store.search(name, data[0]?.vector as Float32Array, { k: 50 });
  assert.equal(hits.length, 40);
  assert.ok(hits.every((h) => !gone.includes(h.key)));
  assert.equal((await store.indexedVersions(name, 'ds')).has(gone[0] as string), false);
});

test('setPayload merges cluster labels and coordinates into existing points', async (t) => {
  const s = setup(t);
  const name = s.name();
  await store.ensureCollection(name, 8);
  const data = points(randomVectors(30, 8, 13), { keyOf: (i) => `x/y/${i}.jpg` });
  await store.upsert(name, data);
  await store.setPayload(name, 'ds', data.map((p, i) => ({ key: p.key, payload: { cluster: i % 4, x: i / 10, y: -i - 1 } })), 8);
  if (emulator) assert.equal(s.requestsSince('POST', /\/points\/batch$/), 4, '30 updates in batches of 8');
  const seen = new Map<string, unknown>();
  for await (const p of store.scroll(name, { dataset: 'ds' })) seen.set(p.key, p.payload);
  data.forEach((p, i) =>
    assert.deepEqual(seen.get(p.key), { ...p.payload, dataset: 'ds', key: p.key, dirs: ['x/', 'x/y/'], cluster: i % 4, x: i / 10, y: -i - 1 }),
  );
  assert.equal(await store.count(name, { cluster: 3 }), 7);
  await assert.rejects(store.setPayload(name, 'ds', [{ key: data[0]?.key as string, payload: { key: 'other' } }]), /overwrite key/);
  await assert.rejects(store.setPayload(name, 'ds', [{ key: 'missing.jpg', payload: { cluster: 1 } }]), (e: unknown) => e instanceof QdrantError && e.status === 404);
});

test('scroll pages through every point (next_page_offset) with vectors on request', async (t) => {
  const s = setup(t);
  const name = s.name();
  await store.ensureCollection(name, 8);
  const data = points(randomVectors(230, 8, 14));
  await store.upsert(name, [...data, ...points(randomVectors(20, 8, 15), { dataset: 'other' })]);
  const byKey = new Map(data.map((p) => [p.key, p]));
  const seen = new Set<string>();
  for await (const p of store.scroll(name, { dataset: 'ds', withVectors: true, pageSize: 50 })) {
    assert.equal(p.dataset, 'ds');
    assert.ok(!seen.has(p.key), `${p.key} seen twice`);
    seen.add(p.key);
    const original = byKey.get(p.key)?.vector as Float32Array;
    assert.ok(p.vector && Math.abs(cosine(p.vector, original) - 1) < 1e-5);
  }
  assert.equal(seen.size, 230);
  if (emulator) assert.equal(s.requestsSince('POST', /\/points\/scroll$/), 5, '230 points in pages of 50');
  let all = 0;
  for await (const p of store.scroll(name)) all += p.vector === undefined ? 1 : 0;
  assert.equal(all, 250);
});

test('indexedVersions maps key → etag for one dataset', async (t) => {
  const s = setup(t);
  const name = s.name();
  await store.ensureCollection(name, 8);
  const data = points(randomVectors(40, 8, 16));
  await store.upsert(name, [...data, ...points(randomVectors(5, 8, 17), { dataset: 'other', etag: 'zzz' })]);
  const versions = await store.indexedVersions(name, 'ds');
  assert.equal(versions.size, 40);
  assert.ok(data.every((p) => versions.holds(p.key, p.payload.etag) && !versions.holds(p.key, 'zzz')));
  assert.equal(versions.has('never-indexed.jpg'), false);
  assert.equal((await store.indexedVersions(name, 'empty')).size, 0);
});

test('swapAlias repoints an alias in one request; searches through the alias follow it', async (t) => {
  const s = setup(t);
  const [c1, c2] = [s.name('v1'), s.name('v2')];
  const alias = `imgsim-test-alias-${randomUUID().slice(0, 8)}`;
  await store.ensureCollection(c1, 8);
  await store.ensureCollection(c2, 8);
  await store.upsert(c1, points(randomVectors(10, 8, 18), { keyOf: (i) => `old-${i}` }));
  await store.upsert(c2, points(randomVectors(10, 8, 19), { keyOf: (i) => `new-${i}` }));
  const q = Float32Array.from({ length: 8 }, (_, i) => i - 3);

  assert.equal(await store.getAliasTarget(alias), undefined);
  assert.equal(await store.swapAlias(alias, c1), undefined);
  assert.equal(await store.getAliasTarget(alias), c1);
  assert.ok((await store.search(alias, q, { k: 3 })).every((h) => h.key.startsWith('old-')));

  const before = emulator?.requests.length ?? 0;
  assert.equal(await store.swapAlias(alias, c2), c1);
  if (emulator) {
    const aliasCalls = emulator.requests.slice(before).filter((r) => r.method === 'POST' && r.path === '/collections/aliases');
    assert.equal(aliasCalls.length, 1, 'delete + create travel in one request');
  }
  assert.equal(await store.getAliasTarget(alias), c2);
  assert.ok((await store.search(alias, q, { k: 3 })).every((h) => h.key.startsWith('new-')));
  assert.equal(await store.count(alias), 10);
  assert.ok(!(await store.listCollections()).includes(alias), 'an alias is not a collection');
  await store.deleteCollection(c2);
  assert.equal(await store.getAliasTarget(alias), undefined, 'deleting a collection drops its aliases');
});

test('QdrantVectorIndex behaves like the embedded FlatIndex', async (t) => {
  const s = setup(t);
  const name = s.name();
  const index = await QdrantVectorIndex.open(store, { collection: name, dataset: 'ds', modelId: 'm1', dim: 8 });
  const flat = new FlatIndex(8);
  const vectors = randomVectors(60, 8, 20);
  const batch = vectors.map((vector, i) => ({ key: `k${i}`, vector }));
  await index.upsert(batch);
  await flat.upsert(batch);
  assert.equal(await index.count(), 60);
  const q = vectors[3] as Float32Array;
  const options = { k: 5, excludeKeys: new Set(['k3']) };
  assertSameRanking(await index.search(q, options), await flat.search(q, options));
  const stored = await index.vectorOf('k3');
  assert.ok(stored && Math.abs(cosine(stored, q) - 1) < 1e-6, 'the same direction (Qdrant normalises)');
  assert.equal(await index.vectorOf('nope'), undefined);
  await index.remove(['k0', 'k1']);
  assert.equal(await index.count(), 58);
  await assert.rejects(index.search(new Float32Array(4), { k: 1 }), UserError);
  const [hit] = await store.search(name, q, { k: 1 });
  assert.deepEqual(hit?.payload, { etag: '', modelId: 'm1', width: 0, height: 0, dataset: 'ds', key: 'k3', dirs: [] });
});

test('errors name Qdrant and the URL; Qdrant refusals carry its status text', async (t) => {
  const s = setup(t);
  const secret = 'sk-do-not-print-1234';
  const port = await freePort();
  const retries: QdrantRetryInfo[] = [];
  const down = new QdrantStore({ url: `https://user:hunter2@127.0.0.1:${port}`, apiKey: secret, timeoutMs: 5000, retry: FAST_RETRY, onRetry: (i) => retries.push(i) });
  await assert.rejects(down.count('anything'), (e: unknown) => {
    assert.ok(e instanceof QdrantError);
    assert.match(e.message, new RegExp(`^Qdrant at https://127\\.0\\.0\\.1:${port} is unreachable: .*ECONNREFUSED`));
    assert.ok(!e.message.includes(secret) && !e.message.includes('hunter2'));
    assert.ok(isTransient(e), 'unreachable is transient: the job-level retry takes over');
    return true;
  });
  assert.equal(retries.length, QDRANT_RETRY.attempts - 1, 'refused connections were retried up to the budget');
  assert.ok(retries.every((r) => r.action === 'count points of "anything"'));
  const missing = s.name('missing');
  await assert.rejects(store.search(missing, new Float32Array(8).fill(1), { k: 1 }), (e: unknown) => {
    assert.ok(e instanceof QdrantError);
    assert.equal(e.status, 404);
    assert.match(e.message, new RegExp(`^Qdrant at ${target.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} refused to search .*404 Not Found: .*${missing}`));
    return true;
  });
  assert.equal(await store.deleteCollection(missing), false);
  assert.equal(await store.collectionExists(missing), false);
});

test('the emulator rejects a malformed request with 400 naming the path, and records it', onEmulator, async () => {
  const em = emulator as QdrantEmulator;
  const before = em.errors.length;
  const name = `imgsim-test-raw-${randomUUID().slice(0, 8)}`;
  await store.ensureCollection(name, 4);
  try {
    const bad = await fetch(`${em.url}/collections/${name}/points?wait=true`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ points: [{ id: pointId('ds', 'a'), vector: [1, 2, 3, 4] }, { id: 'not-a-uuid', vector: [1, 2, 3, 4] }] }),
    });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { status: { error: string } };
    assert.match(body.status.error, /^Format error in JSON body: \$\.points\[1\]\.id: /);
    const query = await fetch(`${em.url}/collections/${name}/points/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: [1, 0, 0, 0], limit: 0, with_payload: 'yes' }),
    });
    assert.equal(query.status, 400);
    const queryError = ((await query.json()) as { status: { error: string } }).status.error;
    assert.match(queryError, /\$\.limit: 0 is below the minimum 1/);
    assert.match(queryError, /\$\.with_payload/);
    const flag = await fetch(`${em.url}/collections/${name}/points?wait=maybe`, { method: 'PUT', body: '{"points": []}' });
    assert.equal(flag.status, 400);
    assert.match(((await flag.json()) as { status: { error: string } }).status.error, /\?wait: expected boolean/);
    const unknown = await fetch(`${em.url}/collections/${name}/points/recommend`, { method: 'POST', body: '{}' });
    assert.equal(unknown.status, 404);
    assert.deepEqual(
      em.errors.slice(before).map((e) => e.kind),
      ['request', 'request', 'request', 'route'],
    );
    assert.equal(await store.count(name), 0, 'nothing of the rejected upsert was applied');
  } finally {
    await store.deleteCollection(name);
    em.errors.splice(before);
  }
});

// ---- retries (issue 10) ------------------------------------------------------------------

test('a pooled socket the server closed while the event loop was blocked is retried at once', async (t) => {
  // The drill of issue 10, shortened: the server closes idle keep-alive sockets after 0.5 s
  // (+1 s Node adds), and sends no Keep-Alive hint, so undici keeps the socket pooled; the
  // thread is then blocked longer than that, and the next call goes out on the dead socket.
  const em = await ownEmulator(t, { keepAliveTimeoutMs: 500, advertiseKeepAlive: false });
  const retries: QdrantRetryInfo[] = [];
  const s = new QdrantStore({ url: em.url, onRetry: (i) => retries.push(i) });
  const name = `imgsim-test-stale-${randomUUID().slice(0, 8)}`;
  await s.ensureCollection(name, 8);
  const data = points(randomVectors(20, 8, 30));
  await s.upsert(name, data);
  assert.equal(retries.length, 0);

  blockEventLoop(2_000);
  await s.setPayload(name, 'ds', data.map((p, i) => ({ key: p.key, payload: { cluster: i % 2 } })));

  assert.equal(retries.length, 1, 'the call on the stale socket failed once, then passed');
  const retry = retries[0];
  assert.ok(retry);
  assert.equal(retry.delayMs, 0, 'a stale socket is retried at once');
  assert.match(retry.action, /^set payload of 20 points in /);
  assert.ok(retry.error instanceof QdrantError && retry.error.status === undefined, String(retry.error));
  assert.match(retry.error.message, /is unreachable: /);
  const hits = await s.search(name, data[3]?.vector as Float32Array, { k: 1 });
  assert.equal(hits[0]?.key, data[3]?.key);
  assert.equal(hits[0]?.payload.cluster, 1);
  assert.equal(await s.count(name, { cluster: 0 }), 10);
  assert.equal(em.requests.filter((r) => r.path.endsWith('/points/batch')).length, 1, 'the failed attempt never reached the handler');
});

test('5xx, 429 and dropped connections are retried (first at once, then backoff); other 4xx never', async (t) => {
  const em = await ownEmulator(t);
  const retries: QdrantRetryInfo[] = [];
  const s = new QdrantStore({ url: em.url, retry: FAST_RETRY, onRetry: (i) => retries.push(i) });
  const name = `imgsim-test-faults-${randomUUID().slice(0, 8)}`;
  await s.ensureCollection(name, 4);
  await s.upsert(name, points(randomVectors(3, 4, 31)));
  const counts = (): number[] => em.requests.filter((r) => r.path.endsWith('/points/count')).map((r) => r.status);

  for (const fault of [503, 'reset', 429, 502] as const) em.failNext(1, fault);
  assert.equal(await s.count(name), 3);
  assert.deepEqual(counts(), [503, 0, 429, 502, 200]);
  assert.deepEqual(retries.map((r) => r.attempt), [1, 2, 3, 4]);
  assert.equal(retries[0]?.delayMs, 0, 'the first retry goes at once');
  assert.ok(retries.every((r) => r.delayMs <= FAST_RETRY.maxDelayMs));
  assert.equal((retries[0]?.error as QdrantError).status, 503);

  for (const status of [400, 401, 403, 404, 409, 422]) {
    retries.length = 0;
    const before = counts().length;
    em.failNext(1, status);
    await assert.rejects(s.count(name), (e: unknown) => e instanceof QdrantError && e.status === status && !isTransient(e));
    assert.equal(counts().length - before, 1, `${status} is sent once`);
    assert.equal(retries.length, 0, `${status} is not retried`);
  }

  // The budget is bounded: a server that keeps failing fails the call, as a transient error.
  retries.length = 0;
  const before = counts().length;
  em.failNext(QDRANT_RETRY.attempts, 503);
  await assert.rejects(s.count(name), (e: unknown) => e instanceof QdrantError && e.status === 503 && isTransient(e));
  assert.equal(counts().length - before, QDRANT_RETRY.attempts);
  assert.equal(retries.length, QDRANT_RETRY.attempts - 1);
  assert.equal(await s.count(name), 3, 'no fault left over');

  // retry: false sends each request once.
  const once = new QdrantStore({ url: em.url, retry: false });
  em.failNext(1, 503);
  await assert.rejects(once.count(name), (e: unknown) => e instanceof QdrantError && e.status === 503);
  assert.equal(await once.count(name), 3);
});

test('the default retry budget: 6 attempts, at most 15 s of waiting, none after 20 s', () => {
  assert.equal(QDRANT_RETRY.attempts, 6);
  assert.equal(QDRANT_RETRY.immediateFirstRetry, true);
  assert.equal(maxTotalDelay(QDRANT_RETRY), 15_000);
  assert.equal(QDRANT_RETRY.maxElapsedMs, 20_000);
});

test('a request applied whose answer was lost is sent again without harm (every call is idempotent)', async (t) => {
  const em = await ownEmulator(t);
  const s = new QdrantStore({ url: em.url, retry: FAST_RETRY });
  const tag = randomUUID().slice(0, 8);
  const [c1, c2, alias] = [`imgsim-test-lost-a-${tag}`, `imgsim-test-lost-b-${tag}`, `imgsim-test-lost-alias-${tag}`];
  const sent = (method: string, path: RegExp): number => em.requests.filter((r) => r.method === method && path.test(r.path)).length;

  em.failNext(1, 'lost-answer', { method: 'PUT', path: /^\/collections\/[^/]+$/ }); // created; the repeat gets 409
  await s.ensureCollection(c1, 4);
  assert.equal(sent('PUT', /^\/collections\/[^/]+$/), 2);
  await s.ensureCollection(c2, 4);

  const data = points(randomVectors(10, 4, 32));
  em.failNext(1, 'lost-answer', { method: 'PUT', path: /\/points$/ });
  await s.upsert(c1, data);
  assert.equal(sent('PUT', /\/points$/), 2);
  assert.equal(await s.count(c1), 10, 'the repeated upsert overwrote the same points');

  em.failNext(1, 'lost-answer', { path: /\/points\/batch$/ });
  await s.setPayload(c1, 'ds', [{ key: (data[0] as PointInput).key, payload: { cluster: 3 } }]);
  assert.equal(await s.count(c1, { cluster: 3 }), 1);

  em.failNext(1, 'lost-answer', { path: /\/points\/delete$/ });
  await s.deleteKeys(c1, 'ds', [(data[0] as PointInput).key]);
  assert.equal(await s.count(c1), 9);

  em.failNext(1, 'lost-answer', { method: 'POST', path: /^\/collections\/aliases$/ });
  assert.equal(await s.swapAlias(alias, c1), undefined);
  assert.equal(await s.getAliasTarget(alias), c1);
  em.failNext(1, 'lost-answer', { method: 'POST', path: /^\/collections\/aliases$/ });
  assert.equal(await s.swapAlias(alias, c2), c1);
  assert.equal(await s.getAliasTarget(alias), c2);
  // A refused swap (here injected) whose alias already points where asked is done; one that does not is an error.
  em.failNext(1, 400, { method: 'POST', path: /^\/collections\/aliases$/ });
  assert.equal(await s.swapAlias(alias, c2), c2);
  await assert.rejects(s.swapAlias(alias, `imgsim-test-lost-none-${tag}`), (e: unknown) => e instanceof QdrantError && e.status === 404);

  em.failNext(1, 'lost-answer', { method: 'DELETE' });
  assert.equal(await s.deleteCollection(c1), true, 'it existed, though the repeated delete found nothing');
  assert.equal(await s.collectionExists(c1), false);
  assert.equal(await s.deleteCollection(c1), false);
  assert.equal(await s.deleteCollection(c2), true);
});
