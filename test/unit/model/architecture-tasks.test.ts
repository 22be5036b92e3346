import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildAutoencoder, forward, outputSide } from '../../../shared/model/architecture.js';
import { UserError } from '../../../shared/errors.js';
import { initBackend } from '../../../shared/model/backend.js';
import { checkTaskSize } from '../../../shared/tasks/index.js';

test('superres ×2 and ×4: encoder takes the low-res side, decoder outputs factor × larger', async () => {
  await initBackend('wasm');
  for (const upscale of [2, 4]) {
    const o = { inputSize: 8, filters: [4, 8], kernelSize: 3, seed: 1, upscale };
    const { encoder, decoder } = buildAutoencoder(o);
    assert.deepEqual(encoder.inputs[0]?.shape, [null, 8, 8, 3]);
    assert.deepEqual(encoder.outputs[0]?.shape, [null, 2, 2, 8]);
    assert.deepEqual(decoder.outputs[0]?.shape, [null, 8 * upscale, 8 * upscale, 3]);
    assert.equal(outputSide(o), 8 * upscale);
    const deconvs = decoder.layers.filter((l) => l.getClassName() === 'Conv2DTranspose');
    assert.equal(deconvs.length, 2 + Math.log2(upscale), 'log2(factor) extra 2×2 stride-2 stages');
    const S = 8 * upscale;
    assert.deepEqual(decoder.inputs.map((i) => i.shape), [[null, 2, 2, 8], [null, S, S, 3]], 'latent, and the upscaled input (residual skip)');
    // Untrained, the residual is zero: the output is the interpolated input.
    const y = tf.tidy(() => forward({ encoder, decoder }, tf.fill<tf.Rank.R4>([2, 8, 8, 3], 0.5), { predict: true }));
    assert.ok(Array.from(y.dataSync()).every((v) => Math.abs(v - 0.5) < 1e-6));
    assert.deepEqual(y.shape, [2, 8 * upscale, 8 * upscale, 3]);
    y.dispose();
    encoder.dispose();
    decoder.dispose();
  }
});

test('upscale 1 (default) builds the plain decoder; other factors are refused', async () => {
  await initBackend('wasm');
  const plain = buildAutoencoder({ inputSize: 16, filters: [4, 8], kernelSize: 3, seed: 1 });
  const one = buildAutoencoder({ inputSize: 16, filters: [4, 8], kernelSize: 3, seed: 1, upscale: 1 });
  assert.deepEqual(
    plain.decoder.layers.map((l) => l.name),
    one.decoder.layers.map((l) => l.name),
  );
  assert.deepEqual(plain.decoder.outputs[0]?.shape, [null, 16, 16, 3]);
  for (const m of [plain, one]) {
    m.encoder.dispose();
    m.decoder.dispose();
  }
  assert.throws(() => buildAutoencoder({ inputSize: 16, filters: [4], kernelSize: 3, seed: 1, upscale: 3 }), (e: unknown) => e instanceof UserError && /scale: expected 2 or 4.*received 3/.test(e.message));
});

test('checkTaskSize: the input side per task, and sizes that do not divide are refused naming the flags', () => {
  assert.equal(checkTaskSize({ task: 'superres', scale: 2 }, 64, [8, 16]), 32);
  assert.equal(checkTaskSize({ task: 'superres', scale: 4 }, 64, [8, 16]), 16);
  assert.equal(checkTaskSize({ task: 'colorize' }, 32, [8, 16, 32]), 32);
  assert.throws(() => checkTaskSize({ task: 'superres', scale: 4 }, 48, [8, 16, 32]), /--size must be a multiple of 32 \(--scale 4 × 2\^3: the 12-px low-res input goes through 3 pooling stages: --filters 8,16,32\), got 48; try 64/);
  assert.throws(() => checkTaskSize({ task: 'denoise', noise: { kinds: ['gaussian'], sigma: 0.1, saltPepperAmount: 0, crosshairWidth: [1, 1], eraseFraction: 0.2, eraseFill: 'noise' } }, 36, [8, 16, 32]), /--size must be a multiple of 8 \(2\^3, for 3 pooling stages: --filters 8,16,32\), got 36; try 40/);
});
