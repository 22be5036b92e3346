import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../shared/model/backend.js';
import { createRng } from '../../../../shared/random.js';
import { batchFloats, type DecodedImages } from '../../../../shared/images/decoded.js';
import { splitIndices, trainAutoencoder } from '../../../../shared/model/training/index.js';
import { tinyTrainOptions } from '../../../support/train-options.js';

/** Two kinds of 16×16 images: bright left half vs bright bottom half, with noise. */
function toyImages(n: number, size = 16): DecodedImages {
  const rng = createRng(5);
  const per = size * size * 3;
  const pixels = new Uint8Array(n * per);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const on = i % 2 === 0 ? x < size / 2 : y >= size / 2;
        for (let c = 0; c < 3; c++) pixels[i * per + (y * size + x) * 3 + c] = Math.round((on ? 200 : 40) + rng() * 30);
      }
    }
  }
  const keys = Array.from({ length: n }, (_, i) => `${i % 2 ? 'b' : 'a'}/${i}.png`);
  return { size, keys, etags: keys.map(() => 'e'), widths: keys.map(() => size), heights: keys.map(() => size), pixels };
}

const base = tinyTrainOptions({ optimizer: 'adamw', weightDecay: 1e-4 });

test('seeded 75/25 split: disjoint, complete, reproducible', () => {
  const a = splitIndices(40, 0.25, 7);
  assert.equal(a.validation.length, 10);
  assert.equal(a.train.length, 30);
  assert.deepEqual(new Set([...a.train, ...a.validation]).size, 40);
  assert.deepEqual(splitIndices(40, 0.25, 7), a);
  assert.notDeepEqual(splitIndices(40, 0.25, 8).validation, a.validation);
  assert.throws(() => splitIndices(1, 0.25, 1), /at least 2 images/);
});

test('training on wasm lowers the loss, keeps the best epoch, and records meta', async () => {
  await initBackend('wasm');
  const images = toyImages(48);
  const r = await trainAutoencoder(images, { ...base, epochs: 6 });
  const losses = r.meta.losses;
  assert.equal(losses.length, 6);
  assert.ok((losses.at(-1)?.train ?? 1) < (losses[0]?.train ?? 0), `train loss falls: ${losses.map((l) => l.train.toFixed(4)).join(' ')}`);
  const best = Math.min(...losses.map((l) => l.validation));
  assert.equal(r.meta.training.bestValidationLoss, best);
  assert.equal(losses[r.meta.training.bestEpoch - 1]?.validation, best);
  assert.equal(r.meta.backend, 'wasm');
  assert.equal(r.meta.training.trainImages, 36);
  assert.equal(r.meta.training.validationImages, 12);
  assert.equal(r.meta.embeddingDim, 4 * 4 * 8);
  // The trained encoder maps every image to a code of embeddingDim values.
  const codes = tf.tidy(() => r.encoder.predict(tf.tensor4d(batchFloats(images, images.keys.map((_, i) => i)), [48, 16, 16, 3])) as tf.Tensor);
  assert.equal(codes.size, 48 * r.meta.embeddingDim);
  assert.ok(codes.dataSync().every(Number.isFinite));
  codes.dispose();
  r.encoder.dispose();
  r.decoder.dispose();
});

test('early stopping ends training when validation stops improving', async () => {
  await initBackend('wasm');
  // With a zero learning rate the validation loss never improves after epoch 1.
  const r = await trainAutoencoder(toyImages(24), { ...base, optimizer: 'adam', learningRate: 0, epochs: 30, patience: 2 });
  assert.equal(r.meta.training.stoppedEarly, true);
  assert.equal(r.meta.training.epochsRun, 3);
  assert.equal(r.meta.training.bestEpoch, 1);
  r.encoder.dispose();
  r.decoder.dispose();
});

test('tf.memory().numTensors stays flat across training batches, and nothing leaks after', async () => {
  await initBackend('wasm');
  const images = toyImages(64);
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  const r = await trainAutoencoder(images, {
    ...base,
    epochs: 3,
    onBatch: () => {
      counts.push(tf.memory().numTensors);
    },
  });
  // After the first batch (optimizer slots created) and the first epoch's best-weights
  // snapshot, the count is the same at every batch.
  const steady = counts.slice(counts.length / 3);
  assert.equal(new Set(steady).size, 1, `tensor counts per batch: ${counts.join(' ')}`);
  r.encoder.dispose();
  r.decoder.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('a training that fails (the loss diverges, or onBatch throws) leaves no tensors behind', async () => {
  await initBackend('wasm');
  const images = toyImages(24);
  const before = tf.memory().numTensors;
  let batches = 0;
  await assert.rejects(
    trainAutoencoder(images, {
      ...base,
      epochs: 3,
      onBatch: () => {
        // Fails in the second epoch, once a best epoch's weights have been copied.
        if (++batches > 2 * Math.ceil(18 / base.batchSize)) throw new Error('stop here');
      },
    }),
    /stop here/,
  );
  assert.equal(tf.memory().numTensors, before);
});
