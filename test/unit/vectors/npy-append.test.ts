// The appending .npy writer (the local embed stage's embeddings.npy) and the chunked
// reader: round trips, numpy reads the appended file, the FlatIndex folder writer gives
// the folder FlatIndex.save gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeNpy, NpyAppender, readNpyFile } from '../../../shared/npy.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import { FlatIndex } from '../../../shared/vectors/flat-index.js';
import { FlatIndexWriter } from '../../../shared/vectors/flat-index-writer.js';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

async function tempDir(t: { after: (f: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-npy-append-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('NpyAppender: rows appended batch by batch read back in order; the header is 128 bytes, the shape final', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'e.npy');
  const w = await NpyAppender.create(file, 3);
  const all = Float32Array.from({ length: 3 * 7 }, (_, i) => i * 0.5 - 3);
  await w.append(all.subarray(0, 6));
  await w.append(all.subarray(6, 6));
  await w.append(all.subarray(6, 21));
  await assert.rejects(w.append(new Float32Array(4)), /not whole rows of 3/);
  assert.deepEqual(await readdir(dir), ['e.npy.partial']);
  assert.equal(await w.close(), 7);
  assert.deepEqual(await readdir(dir), ['e.npy']);
  const bytes = await readFile(file);
  assert.equal(bytes.length, 128 + 7 * 3 * 4);
  assert.equal(bytes.readUInt16LE(8), 118);
  assert.equal(bytes[127], 0x0a);
  const m = decodeNpy(bytes);
  assert.deepEqual([m.rows, m.cols], [7, 3]);
  assert.deepEqual(m.data, all);
  const shared = await readNpyFile(file, { shared: true });
  assert.ok(shared.data.buffer instanceof SharedArrayBuffer);
  assert.deepEqual(Array.from(shared.data), Array.from(all));
});

test('NpyAppender: an empty file is (0, cols); abort leaves nothing', async (t) => {
  const dir = await tempDir(t);
  const empty = await NpyAppender.create(path.join(dir, 'empty.npy'), 4);
  await empty.close();
  const m = await readNpyFile(path.join(dir, 'empty.npy'));
  assert.deepEqual([m.rows, m.cols, m.data.length], [0, 4, 0]);
  const aborted = await NpyAppender.create(path.join(dir, 'gone.npy'), 4);
  await aborted.append(new Float32Array(8));
  await aborted.abort();
  assert.deepEqual(await readdir(dir), ['empty.npy']);
});

test('numpy.load reads an appended file', { skip: hasNumpy ? false : 'python3 with numpy is not installed' }, async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'e.npy');
  const w = await NpyAppender.create(file, 5);
  for (let b = 0; b < 4; b++) await w.append(Float32Array.from({ length: 5 * (b + 1) }, (_, i) => b * 100 + i));
  await w.close();
  const py = spawnSync('python3', ['-c', `import numpy as np; a=np.load(${JSON.stringify(file)}); print(a.dtype, a.shape, a[3, 0], a[9, 4])`], { encoding: 'utf8' });
  assert.equal(py.stdout.trim(), 'float32 (10, 5) 200.0 319.0', py.stderr);
});

test('FlatIndexWriter: the folder FlatIndex.save writes, read back by FlatIndex.load; a repeated key is refused', async (t) => {
  const dir = await tempDir(t);
  const d = 4;
  const keys = ['a/1.jpg', 'a/2.jpg', 'b/"quoted".jpg', 'c/3.jpg', 'c/4.jpg'];
  const data = Float32Array.from({ length: keys.length * d }, (_, i) => Math.sin(i));
  const streamed = new LocalStorage(path.join(dir, 'streamed'));
  const saved = new LocalStorage(path.join(dir, 'saved'));
  await streamed.put('.keep', '');
  const w = await FlatIndexWriter.create(streamed, d);
  await w.append(keys.slice(0, 2), data.subarray(0, 2 * d));
  await w.append([], new Float32Array(0));
  await w.append(keys.slice(2), data.subarray(2 * d));
  await assert.rejects(w.append(['a/1.jpg'], new Float32Array(d)), /appended twice/);
  assert.equal(await w.close(), keys.length);
  await FlatIndex.fromMatrix(keys, data, d).save(saved);
  const a = await FlatIndex.load(streamed);
  const b = await FlatIndex.load(saved);
  assert.deepEqual(a.allKeys(), b.allKeys());
  assert.deepEqual(a.matrix(), b.matrix());
  assert.deepEqual(JSON.parse(await readFile(path.join(streamed.root, 'ids.json'), 'utf8')), keys);
  const empty = new LocalStorage(path.join(dir, 'empty'));
  await empty.put('.keep', '');
  await (await FlatIndexWriter.create(empty, d)).close();
  assert.equal(await (await FlatIndex.load(empty)).count(), 0);
});
