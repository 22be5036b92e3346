// embedImages, the embed stage (decode ahead of the encoder, in a pipeline): same vectors, in
// the order of the objects, as decoding everything first and encoding in one go;
// failures listed and left out; no tensors left behind; any batch size/concurrency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { embedImages, encodeBatch } from '../../../pipelines/embed.js';
import { decodeObjects } from '../../../pipelines/ingest.js';
import { buildEncoder } from '../../../shared/model/architecture.js';
import { initBackend } from '../../../shared/model/backend.js';
import { decodeImage } from '../../../shared/images/decode.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import type { LoadedModel } from '../../../shared/model/store.js';

const SIZE = 16;

test('embedImages: the vectors of decode-all-then-encode, in order, failures left out', async () => {
  await initBackend('wasm');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-embed-stream-'));
  const encoder = buildEncoder({ inputSize: SIZE, filters: [4, 8], kernelSize: 3, seed: 2 });
  try {
    const keys: string[] = [];
    for (let i = 0; i < 11; i++) {
      const raw = Buffer.alloc(40 * 30 * 3);
      for (let j = 0; j < raw.length; j++) raw[j] = (j * (i + 3) + i * 17) % 256;
      const key = `img${String(i).padStart(2, '0')}.png`;
      await writeFile(path.join(dir, key), await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } }).png().toBuffer());
      keys.push(key);
    }
    await writeFile(path.join(dir, 'img05b.jpg'), Buffer.from('not a jpeg'));
    keys.splice(6, 0, 'img05b.jpg');
    const storage = new LocalStorage(dir);
    const objects = keys.map((key) => ({ key, etag: '', size: 0 }));
    const opts = { size: SIZE, fit: 'crop' as const, maxPixels: 1e8 };

    const good = keys.filter((k) => k !== 'img05b.jpg');
    const per = SIZE * SIZE * 3;
    const all = new Float32Array(good.length * per);
    for (const [i, key] of good.entries()) all.set((await decodeImage(await storage.get(key), opts)).data, i * per);
    const expected = encodeBatch(encoder, all, good.length, SIZE);

    for (const [batchSize, concurrency] of [[3, 2], [1, 1], [5, 8], [64, 4]] as const) {
      const tensors = tf.memory().numTensors;
      const model = { encoder, meta: { modelId: 'm', inputSize: SIZE, fit: 'crop' } } as unknown as LoadedModel;
      const { embedded: embeddings, failures } = await embedImages({ source: storage, objects, model, settings: { maxPixels: 1e8, batchSize, concurrency }, progressBar: false });
      const label = `batch ${batchSize}, concurrency ${concurrency}`;
      assert.equal(tf.memory().numTensors, tensors, `${label}: tensors leaked`);
      assert.deepEqual(embeddings.keys, good, `${label}: keys`);
      assert.deepEqual(embeddings.widths, good.map(() => 40), `${label}: widths`);
      assert.deepEqual(embeddings.heights, good.map(() => 30), `${label}: heights`);
      assert.deepEqual(failures.map((f) => f.key), ['img05b.jpg'], `${label}: failures`);
      assert.equal(embeddings.vectors.length, expected.length);
      for (let j = 0; j < expected.length; j++) {
        assert.ok(Math.abs((embeddings.vectors[j] as number) - (expected[j] as number)) < 1e-5, `${label}: value ${j}`);
      }
    }

    // Images decoded already (the local run's training sample) are not read again, and give the same values.
    const { images: predecoded } = await decodeObjects(storage, objects.slice(0, 6), { ...opts, concurrency: 2 });
    let reads = 0;
    const counting = { ...storage, uri: storage.uri, get: (key: string) => (reads++, storage.get(key)) } as unknown as LocalStorage;
    const model = { encoder, meta: { modelId: 'm', inputSize: SIZE, fit: 'crop' } } as unknown as LoadedModel;
    const reused = await embedImages({ source: counting, objects, model, settings: { maxPixels: 1e8, batchSize: 4, concurrency: 2 }, predecoded, progressBar: false });
    assert.equal(reads, objects.length - predecoded.keys.length);
    assert.deepEqual(reused.embedded.keys, good);
    assert.deepEqual([...reused.embedded.vectors], [...expected]);
  } finally {
    encoder.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});
