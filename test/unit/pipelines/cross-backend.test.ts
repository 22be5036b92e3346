// A model trained on one backend loads and produces the same embeddings (within
// float tolerance) on another: a tiny CAE trained for a few steps on wasm (with the
// custom training kernels, and data-parallel over 2 threads), saved with
// shared/model/store.ts, loaded and run on 'cpu' (and on wasm again).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { batchFloats, type DecodedImages } from '../../../shared/images/decoded.js';
import { encodeBatch } from '../../../pipelines/embed.js';
import { trainAutoencoder } from '../../../shared/model/training/index.js';
import { loadLayersModel, saveLayersModel } from '../../../shared/model/store.js';
import { initBackend } from '../../../shared/model/backend.js';
import { createRng } from '../../../shared/random.js';
import { LocalStorage } from '../../../shared/storage/local.js';

const SIZE = 16;

function images(n: number): DecodedImages {
  const rng = createRng(9);
  const per = SIZE * SIZE * 3;
  const pixels = new Uint8Array(n * per);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        for (let c = 0; c < 3; c++) pixels[i * per + (y * SIZE + x) * 3 + c] = Math.round(120 + 100 * Math.sin((x + i) * 0.4 + y * 0.3 + c) * rng());
      }
    }
  }
  const keys = Array.from({ length: n }, (_, i) => `${i}.png`);
  return { size: SIZE, keys, etags: keys.map(() => 'e'), widths: keys.map(() => SIZE), heights: keys.map(() => SIZE), pixels };
}

test('a model trained on wasm gives the same embeddings on cpu after save and load', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-cross-backend-'));
  try {
    const storage = new LocalStorage(dir);
    const data = images(24);
    await initBackend('wasm');
    const trained = await trainAutoencoder(data, {
      filters: [4, 8],
      kernelSize: 3,
      epochs: 3,
      batchSize: 8,
      learningRate: 1e-2,
      optimizer: 'adam',
      weightDecay: 0,
      patience: 0,
      validationSplit: 0.25,
      seed: 4,
      fit: 'crop',
      source: 'file:///toy',
      progressBar: false,
      trainThreads: 2,
    });
    const losses = trained.meta.losses.map((l) => l.train);
    assert.ok((losses.at(-1) as number) < (losses[0] as number), `training did not reduce the loss: ${losses.join(', ')}`);
    const idx = Array.from({ length: data.keys.length }, (_, i) => i);
    const input = batchFloats(data, idx);
    const onWasm = encodeBatch(trained.encoder, input, idx.length, SIZE);
    await saveLayersModel(trained.encoder, storage, 'model/encoder/');
    trained.encoder.dispose();
    trained.decoder.dispose();

    const embedOn = async (backend: 'cpu' | 'wasm'): Promise<Float32Array> => {
      assert.ok(await tf.setBackend(backend));
      const encoder = await loadLayersModel(storage, 'model/encoder/');
      try {
        return encodeBatch(encoder, input, idx.length, SIZE);
      } finally {
        encoder.dispose();
      }
    };
    const onCpu = await embedOn('cpu');
    const reloadedWasm = await embedOn('wasm');
    assert.equal(onCpu.length, onWasm.length);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < onWasm.length; i++) {
      diff = Math.max(diff, Math.abs((onCpu[i] as number) - (onWasm[i] as number)));
      scale = Math.max(scale, Math.abs(onWasm[i] as number));
    }
    assert.ok(scale > 0, 'embeddings are all zero');
    assert.ok(diff <= 1e-4 * scale, `cpu embeddings differ from wasm by ${diff} (scale ${scale})`);
    assert.deepEqual(Array.from(reloadedWasm), Array.from(onWasm), 'wasm embeddings changed by save + load');
  } finally {
    await rm(dir, { recursive: true, force: true });
    await tf.setBackend('wasm');
  }
});
