import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../shared/model/backend.js';
import { modelMetaSchema } from '../../../../shared/model/meta.js';
import { createRng } from '../../../../shared/random.js';
import type { DecodedImages } from '../../../../shared/images/decoded.js';
import { trainAutoencoder } from '../../../../shared/model/training/index.js';
import { DEFAULT_NOISE, taskSpecFromConfig, taskSpecFromMeta, taskPreview } from '../../../../shared/tasks/index.js';
import { tinyTrainOptions } from '../../../support/train-options.js';

function toyImages(n: number, size = 16): DecodedImages {
  const rng = createRng(5);
  const per = size * size * 3;
  const pixels = new Uint8Array(n * per);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < size * size; p++) {
      const on = i % 2 === 0 ? p % size < size / 2 : p >= (size * size) / 2;
      pixels[i * per + p * 3] = on ? 220 : 30;
      pixels[i * per + p * 3 + 1] = Math.round(60 + rng() * 20);
      pixels[i * per + p * 3 + 2] = on ? 40 : 200;
    }
  }
  const keys = Array.from({ length: n }, (_, i) => `${i}.png`);
  return { size, keys, etags: keys.map(() => 'e'), widths: keys.map(() => size), heights: keys.map(() => size), pixels };
}

const base = tinyTrainOptions();

const denoise = { task: 'denoise' as const, noise: { ...DEFAULT_NOISE, kinds: ['gaussian' as const, 'crosshair' as const] } };

test('denoise: the validation corruption is fixed (lr 0 → the same validation loss every epoch), meta has task, params, metrics', async () => {
  await initBackend('wasm');
  const r = await trainAutoencoder(toyImages(24), { ...base, learningRate: 0, epochs: 2, taskSpec: denoise });
  assert.equal(r.meta.losses[0]?.validation, r.meta.losses[1]?.validation);
  assert.equal(r.meta.task, 'denoise');
  assert.deepEqual(r.meta.taskParams?.noise?.kinds, ['gaussian', 'crosshair']);
  assert.equal(r.meta.metrics?.images, 6);
  assert.equal(r.meta.metrics?.baseline.method, 'input');
  modelMetaSchema.parse(JSON.parse(JSON.stringify(r.meta)));
  r.encoder.dispose();
  r.decoder.dispose();
});

test('colorize and superres train (loss falls) with tensor counts flat per batch; superres outputs scale × input', async () => {
  await initBackend('wasm');
  for (const taskSpec of [{ task: 'colorize' as const }, { task: 'superres' as const, scale: 2 as const }]) {
    const images = toyImages(32);
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const r = await trainAutoencoder(images, { ...base, epochs: 4, taskSpec, onBatch: () => void counts.push(tf.memory().numTensors) });
    const steady = counts.slice(counts.length / 2);
    assert.equal(new Set(steady).size, 1, `${taskSpec.task}: tensor counts ${counts.join(' ')}`);
    const l = r.meta.losses;
    assert.ok((l.at(-1)?.train ?? 1) < (l[0]?.train ?? 0), `${taskSpec.task} loss falls: ${l.map((x) => x.train.toFixed(4)).join(' ')}`);
    assert.equal(r.meta.inputSize, taskSpec.task === 'superres' ? 8 : 16);
    assert.equal(r.meta.taskParams?.outputSize, 16);
    assert.equal(r.meta.metrics?.baseline.method, taskSpec.task === 'superres' ? 'bicubic' : 'grey-input');
    const preview = taskPreview(r, images, [0, 1], taskSpecFromMeta(r.meta), 1);
    assert.equal(preview.rows.length, 3);
    assert.ok(preview.rows.every((row) => row.every((img) => img.length === 16 * 16 * 3)));
    r.encoder.dispose();
    r.decoder.dispose();
    assert.equal(tf.memory().numTensors, before);
  }
});

test('reconstruct keeps the old meta shape; an old meta.json (no task params, no metrics) is still readable', async () => {
  await initBackend('wasm');
  const r = await trainAutoencoder(toyImages(16), { ...base, epochs: 1 });
  assert.equal(r.meta.task, 'reconstruct');
  assert.equal(r.meta.taskParams, undefined);
  assert.equal(r.meta.metrics?.baseline.psnr, null, 'input = target: PSNR Infinity stored as null');
  const old = JSON.parse(JSON.stringify(r.meta)) as Record<string, unknown>;
  delete old.metrics;
  const parsed = modelMetaSchema.parse(old);
  assert.deepEqual(taskSpecFromMeta(parsed), { task: 'reconstruct' });
  r.encoder.dispose();
  r.decoder.dispose();
});

test('taskSpecFromConfig builds each task from settings', () => {
  const c = {
    task: 'denoise' as const,
    noise: ['erase' as const],
    noiseSigma: 0.2,
    saltPepperAmount: 0.1,
    crosshairWidth: [2, 4] as [number, number],
    eraseFraction: 0.3,
    eraseFill: 'constant' as const,
    superresScale: 4 as const,
  };
  assert.deepEqual(taskSpecFromConfig(c), {
    task: 'denoise',
    noise: { kinds: ['erase'], sigma: 0.2, saltPepperAmount: 0.1, crosshairWidth: [2, 4], eraseFraction: 0.3, eraseFill: 'constant' },
  });
  assert.deepEqual(taskSpecFromConfig({ ...c, task: 'superres' }), { task: 'superres', scale: 4 });
  assert.deepEqual(taskSpecFromConfig({ ...c, task: 'colorize' }), { task: 'colorize' });
});
