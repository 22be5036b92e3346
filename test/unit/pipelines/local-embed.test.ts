// The local run's embed and index steps stream (embedLocally): each batch appended to
// embeddings.npy, ids.json and manifest.json. The folder they leave is the one the
// all-in-memory path gave (embedImages → FlatIndex → save): same keys, same vectors, same
// manifest; a stage that fails leaves no half-written files. A large index also gets its
// int8 search copy (embeddings.int8), a small one none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { embedImages } from '../../../pipelines/embed.js';
import { listSource } from '../../../pipelines/ingest.js';
import { embedLocally } from '../../../pipelines/local-run.js';
import { loadConfig } from '../../../shared/config/load.js';
import { buildEncoder } from '../../../shared/model/architecture.js';
import { initBackend } from '../../../shared/model/backend.js';
import type { LoadedModel } from '../../../shared/model/store.js';
import { decodeNpy } from '../../../shared/npy.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import { FlatIndex } from '../../../shared/vectors/flat-index.js';
import { int8ScanAvailable } from '../../../shared/vectors/int8-scan.js';

const SIZE = 16;

test('embedLocally streams into the folder the in-memory path wrote; a failed stage leaves no partial files', async () => {
  await initBackend('wasm');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-local-embed-'));
  const encoder = buildEncoder({ inputSize: SIZE, filters: [4, 8], kernelSize: 3, seed: 2 });
  try {
    const data = path.join(dir, 'data');
    await mkdir(path.join(data, 'sub'), { recursive: true });
    for (let i = 0; i < 13; i++) {
      const raw = Buffer.alloc(24 * 20 * 3);
      for (let j = 0; j < raw.length; j++) raw[j] = (j * (i + 5) + i * 29) % 256;
      await writeFile(path.join(data, i % 3 === 0 ? 'sub' : '', `img${String(i).padStart(2, '0')}.png`), await sharp(raw, { raw: { width: 24, height: 20, channels: 3 } }).png().toBuffer());
    }
    await writeFile(path.join(data, 'broken.jpg'), Buffer.from('not a jpeg'));
    await writeFile(path.join(data, 'notes.txt'), 'text');
    const source = new LocalStorage(data);
    const listing = await listSource(source);
    const config = loadConfig({}, { embedBatchSize: 4, decodeConcurrency: 2 });
    const model = { encoder, meta: { modelId: 'm1', inputSize: SIZE, fit: 'crop' } } as unknown as LoadedModel;
    const out = new LocalStorage(path.join(dir, 'out'));
    await mkdir(out.root, { recursive: true });

    const streamed = await embedLocally({ source, out, config }, listing, model, 'model/');
    const before = await embedImages({ source, objects: listing.images, model, settings: { maxPixels: config.maxPixels, batchSize: 4, concurrency: 2 }, progressBar: false });
    const e = before.embedded;
    assert.deepEqual(streamed.embedded.keys, e.keys);
    assert.deepEqual(Array.from(streamed.embedded.vectors), Array.from(e.vectors));
    assert.deepEqual(streamed.index.allKeys(), e.keys);

    const expected = FlatIndex.fromMatrix(e.keys, e.vectors, e.dim);
    const saved = new LocalStorage(path.join(dir, 'saved'));
    await expected.save(saved);
    assert.deepEqual(await readFile(path.join(out.root, 'ids.json'), 'utf8').then(JSON.parse), e.keys);
    assert.deepEqual(await readFile(path.join(out.root, 'embeddings.npy')).then((b) => decodeNpy(b)), decodeNpy(await readFile(path.join(saved.root, 'embeddings.npy'))));
    const manifest: unknown = JSON.parse(await readFile(path.join(out.root, 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest, {
      source: source.uri,
      listed: 15,
      decoded: 13,
      failed: 2,
      size: SIZE,
      fit: 'crop',
      images: e.keys.map((key, i) => ({ key, etag: e.etags[i], width: 24, height: 20 })),
    });
    const index = JSON.parse(await readFile(path.join(out.root, 'index.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(index.count, 13);
    assert.equal(index.modelId, 'm1');
    const q = e.vectors.subarray(0, e.dim);
    assert.deepEqual(await streamed.index.search(q, { k: 3 }), await expected.search(q, { k: 3 }));

    // A small index gets no int8 search copy; a large one (the threshold lowered) gets it
    // beside embeddings.npy, and a process loading the folder reads it; the next run's
    // index replaces it (removed when that index is small).
    assert.ok(!(await readdir(out.root)).includes('embeddings.int8'));
    if (int8ScanAvailable()) {
      await embedLocally({ source, out, config, largeIndexFrom: 0 }, listing, model, 'model/');
      assert.ok((await readdir(out.root)).includes('embeddings.int8'));
      const loaded = await FlatIndex.load(out);
      loaded.largeFrom = 0;
      assert.deepEqual(await loaded.search(q, { k: 3 }), await expected.search(q, { k: 3 }));
      assert.equal(loaded.int8Copy(), 'stored');
      await embedLocally({ source, out, config }, listing, model, 'model/');
      assert.ok(!(await readdir(out.root)).includes('embeddings.int8'));
    }

    // The store fails half-way (not an image's fault): the stage throws, the previous index stays whole, nothing partial is left.
    let reads = 0;
    const failing = Object.assign(Object.create(source) as LocalStorage, {
      get: (key: string) => (++reads > 6 ? Promise.reject(new Error('store unreachable')) : source.get(key)),
    });
    await assert.rejects(embedLocally({ source: failing, out, config }, listing, model, 'model/'), /store unreachable/);
    const files = await readdir(out.root);
    assert.ok(!files.some((f) => f.endsWith('.partial')), files.join(', '));
    assert.deepEqual((await FlatIndex.load(out)).allKeys(), e.keys);
  } finally {
    encoder.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});
