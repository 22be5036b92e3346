import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../../shared/storage/local.js';
import { FlatIndex } from '../../../shared/vectors/flat-index.js';
import { TopK } from '../../../shared/vectors/top-k.js';
import { allNearestNeighbours } from '../../../shared/vectors/all-neighbours.js';
import { createRng } from '../../../shared/random.js';

function randomMatrix(n: number, d: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n * d }, () => rng() * 2 - 1);
}

function bruteForce(data: Float32Array, d: number, q: Float32Array): Array<{ row: number; score: number }> {
  const n = data.length / d;
  const rows = [];
  for (let r = 0; r < n; r++) {
    let dot = 0;
    let a = 0;
    let b = 0;
    for (let j = 0; j < d; j++) {
      dot += (q[j] as number) * (data[r * d + j] as number);
      a += (q[j] as number) ** 2;
      b += (data[r * d + j] as number) ** 2;
    }
    rows.push({ row: r, score: dot / Math.sqrt(a * b) });
  }
  return rows.sort((x, y) => y.score - x.score);
}

test('top-K keeps the k highest scores in order', () => {
  const top = new TopK(3);
  [5, 1, 9, 3, 7, 9.5].forEach((s, i) => top.push(i, s));
  assert.deepEqual(top.sorted().map((x) => x.score), [9.5, 9, 7]);
});

test('cosine kNN matches brute force, with scores', async () => {
  const d = 24;
  const data = randomMatrix(300, d, 1);
  const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
  const index = FlatIndex.fromMatrix(keys, data, d);
  const queries = randomMatrix(5, d, 2);
  for (let qi = 0; qi < 5; qi++) {
    const q = queries.subarray(qi * d, (qi + 1) * d);
    const got = await index.search(q, { k: 10 });
    const want = bruteForce(data, d, q).slice(0, 10);
    assert.deepEqual(got.map((n) => n.key), want.map((w) => `k${w.row}`));
    got.forEach((n, i) => assert.ok(Math.abs(n.score - (want[i] as { score: number }).score) < 1e-5));
  }
});

test('exclude-self, upsert by key (no duplicates), remove, save and load', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-index-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const index = new FlatIndex(3);
  await index.upsert([
    { key: 'a', vector: Float32Array.of(1, 0, 0) },
    { key: 'b', vector: Float32Array.of(0.9, 0.1, 0) },
    { key: 'c', vector: Float32Array.of(0, 1, 0) },
  ]);
  await index.upsert([{ key: 'c', vector: Float32Array.of(0, 0, 1) }]);
  assert.equal(await index.count(), 3);
  const self = await index.search(Float32Array.of(1, 0, 0), { k: 1, excludeKeys: new Set(['a']) });
  assert.equal(self[0]?.key, 'b');
  assert.deepEqual(await index.vectorOf('c'), Float32Array.of(0, 0, 1));
  await index.remove(['b']);
  const storage = new LocalStorage(dir);
  await index.save(storage);
  const loaded = await FlatIndex.load(storage);
  assert.deepEqual(loaded.allKeys(), ['a', 'c']);
  assert.deepEqual((await loaded.search(Float32Array.of(0, 0, 2), { k: 2 })).map((n) => n.key), ['c', 'a']);
  await assert.rejects(FlatIndex.load(new LocalStorage(path.join(dir, 'missing'))), /Cannot read the index/);
  assert.throws(() => loaded.searchSync(Float32Array.of(1, 2), { k: 1 }), /2 dimensions, the index has 3/);
});

test('all-pairs neighbours on the tfjs backend agree with the flat index', () => {
  const d = 16;
  const n = 120;
  const data = randomMatrix(n, d, 3);
  const keys = Array.from({ length: n }, (_, i) => String(i));
  const index = FlatIndex.fromMatrix(keys, data, d);
  const nn = allNearestNeighbours(data, n, d, 5, 32);
  for (let i = 0; i < n; i += 7) {
    const want = index.searchSync(data.subarray(i * d, (i + 1) * d), { k: 5, excludeKeys: new Set([String(i)]) }).map((x) => Number(x.key));
    assert.deepEqual(Array.from(nn.subarray(i * 5, i * 5 + 5)), want);
  }
});

test('search in worker threads gives searchSync and brute force answers, with exclusions and filters', async () => {
  const d = 20;
  const n = 500;
  const data = randomMatrix(n, d, 4);
  const keys = Array.from({ length: n }, (_, i) => `${i % 2 === 0 ? 'even' : 'odd'}/${i}`);
  const index = FlatIndex.fromMatrix(keys, data, d);
  index.largeFrom = 0; // every search takes the large-index path
  index.int8 = false; // worker threads
  await index.setClusters(keys.map((key, i) => ({ key, x: 0, y: 0, label: i % 3 })));
  const queries = randomMatrix(4, d, 5);
  for (let qi = 0; qi < 4; qi++) {
    const q = queries.subarray(qi * d, (qi + 1) * d);
    const want = bruteForce(data, d, q);
    const got = await index.search(q, { k: 7 });
    assert.deepEqual(got.map((h) => h.key), want.slice(0, 7).map((w) => keys[w.row]));
    assert.deepEqual(got, index.searchSync(q, { k: 7 }));
    const excluded = new Set(want.slice(0, 3).map((w) => keys[w.row] as string));
    const ex = await index.search(q, { k: 5, excludeKeys: excluded });
    assert.deepEqual(ex.map((h) => h.key), want.slice(3, 8).map((w) => keys[w.row]));
    const filter = { keyPrefix: 'odd', cluster: 1 };
    const filtered = await index.search(q, { k: 5, filter });
    const wantFiltered = want.filter((w) => w.row % 2 === 1 && w.row % 3 === 1).slice(0, 5);
    assert.deepEqual(filtered.map((h) => h.key), wantFiltered.map((w) => keys[w.row]));
    assert.ok(filtered.every((h) => h.cluster === 1));
    assert.deepEqual(filtered, index.searchSync(q, { k: 5, filter }));
  }
  assert.deepEqual(await index.search(queries.subarray(0, d), { k: 0 }), []);
});

test('adopt keeps the given matrix (no copy) and finds what fromMatrix finds', () => {
  const d = 8;
  const data = randomMatrix(50, d, 6);
  const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
  const adopted = FlatIndex.adopt(keys, data, d);
  assert.equal(adopted.view().buffer, data.buffer);
  const q = data.subarray(3 * d, 4 * d);
  assert.deepEqual(adopted.searchSync(q, { k: 5 }), FlatIndex.fromMatrix(keys, data, d).searchSync(q, { k: 5 }));
});
