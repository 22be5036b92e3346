import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildAutoencoder, embeddingDim, REFERENCE_FILTERS } from '../../../shared/model/architecture.js';
import { UserError } from '../../../shared/errors.js';
import { initBackend } from '../../../shared/model/backend.js';

test('reference architecture: 5 stages, 64×64 → 2×2×256 = 1024-d embedding, decoder back to 64×64×3', async () => {
  await initBackend('wasm');
  const o = { inputSize: 64, filters: REFERENCE_FILTERS, kernelSize: 3, seed: 1 };
  const { encoder, decoder } = buildAutoencoder(o);
  assert.deepEqual(encoder.outputs[0]?.shape, [null, 2, 2, 256]);
  assert.deepEqual(decoder.outputs[0]?.shape, [null, 64, 64, 3]);
  assert.equal(embeddingDim(o), 1024);
  const convs = encoder.layers.filter((l) => l.getClassName() === 'Conv2D');
  assert.deepEqual(convs.map((l) => (l.getConfig() as { filters: number }).filters), [16, 32, 64, 128, 256]);
  const y = tf.tidy(() => decoder.predict(encoder.predict(tf.zeros([2, 64, 64, 3])) as tf.Tensor) as tf.Tensor);
  assert.deepEqual(y.shape, [2, 64, 64, 3]);
  const values = y.dataSync();
  assert.ok(values.every((v) => v >= 0 && v <= 1), 'sigmoid output in [0, 1]');
  y.dispose();
  encoder.dispose();
  decoder.dispose();
});

test('parametrised: tiny sizes, other filters and kernel sizes', async () => {
  await initBackend('wasm');
  const o = { inputSize: 16, filters: [4, 8], kernelSize: 5, seed: 2 };
  const { encoder, decoder } = buildAutoencoder(o);
  assert.deepEqual(encoder.outputs[0]?.shape, [null, 4, 4, 8]);
  assert.deepEqual(decoder.outputs[0]?.shape, [null, 16, 16, 3]);
  assert.equal(embeddingDim(o), 128);
  encoder.dispose();
  decoder.dispose();
});

test('same seed gives the same initial weights', async () => {
  await initBackend('wasm');
  const a = buildAutoencoder({ inputSize: 16, filters: [4, 8], kernelSize: 3, seed: 9 });
  const b = buildAutoencoder({ inputSize: 16, filters: [4, 8], kernelSize: 3, seed: 9 });
  const wa = a.encoder.getWeights()[0]?.dataSync();
  const wb = b.encoder.getWeights()[0]?.dataSync();
  assert.deepEqual(wa, wb);
  for (const m of [a, b]) {
    m.encoder.dispose();
    m.decoder.dispose();
  }
});

test('a size not divisible by 2^stages is refused with a suggestion', () => {
  assert.throws(
    () => buildAutoencoder({ inputSize: 50, filters: REFERENCE_FILTERS, kernelSize: 3, seed: 1 }),
    (e: unknown) => e instanceof UserError && /size: 50 is not divisible by 2\^5 = 32.*try 64/.test(e.message),
  );
});
