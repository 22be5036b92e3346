// Data-parallel training (shared/model/training/data-parallel.ts) on the wasm
// backend: a step with 2 or 3 threads updates the weights as one thread does on the
// same batch (Adam, within float tolerance), numTensors stays flat on the main thread
// and in the workers, the workers end with close(), and trainAutoencoder with
// trainThreads 2 follows the single-thread loss curve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { DecodedImages } from '../../../../shared/images/decoded.js';
import { createDataParallelStep, shardCounts, trainAutoencoder } from '../../../../shared/model/training/index.js';
import { buildAutoencoder, type Autoencoder } from '../../../../shared/model/architecture.js';
import { initBackend } from '../../../../shared/model/backend.js';
import { createRng } from '../../../../shared/random.js';
import { tinyTrainOptions } from '../../../support/train-options.js';

const SIZE = 16;
const ARCH = { inputSize: SIZE, filters: [4, 8], kernelSize: 3, seed: 11 };

function batch(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n * SIZE * SIZE * 3 }, () => rng());
}

function variablesOf(m: Autoencoder): tf.Variable[] {
  return [...m.encoder.trainableWeights, ...m.decoder.trainableWeights].map((w) => w.read() as tf.Variable);
}

function weightsOf(m: Autoencoder): Float32Array[] {
  return variablesOf(m).map((v) => v.dataSync() as Float32Array);
}

/** max |a − b| / max |b − start| over all weights: the error relative to the update's size. */
function updateError(got: Float32Array[], ref: Float32Array[], start: Float32Array[]): number {
  let diff = 0;
  let scale = 0;
  ref.forEach((r, i) => {
    const g = got[i] as Float32Array;
    const s = start[i] as Float32Array;
    for (let j = 0; j < r.length; j++) {
      diff = Math.max(diff, Math.abs((g[j] as number) - (r[j] as number)));
      scale = Math.max(scale, Math.abs((r[j] as number) - (s[j] as number)));
    }
  });
  return diff / scale;
}

test('shard sizes: even, the main thread largest, every image once', () => {
  assert.deepEqual(shardCounts(32, 2), [16, 16]);
  assert.deepEqual(shardCounts(7, 3), [3, 2, 2]);
  assert.deepEqual(shardCounts(1, 2), [1, 0]);
});

test('data-parallel steps (3 threads) give the weights and losses of single-thread steps; no leaks; workers close', async () => {
  await initBackend('wasm');
  for (const threads of [3]) {
    const count = 7; // uneven shards (3, 2, 2); 2 threads: the trainAutoencoder test below
    const single = buildAutoencoder(ARCH);
    const multi = buildAutoencoder(ARCH);
    const start = weightsOf(single);
    assert.deepEqual(weightsOf(multi), start, 'replicas must start equal');
    const optSingle = tf.train.adam(1e-2);
    const optMulti = tf.train.adam(1e-2);
    const parallel = await createDataParallelStep({ ...multi, variables: variablesOf(multi), optimizer: optMulti, threads, backend: 'wasm' });
    const singleLosses: number[] = [];
    const multiLosses: number[] = [];
    const mainTensors: number[] = [];
    const workerTensors: number[][] = [];
    try {
      for (let s = 0; s < 4; s++) {
        const x = batch(count, 100 + s);
        const cost = tf.tidy(() => {
          const t = tf.tensor4d(x, [count, SIZE, SIZE, 3]);
          return optSingle.minimize(
            () => tf.losses.meanSquaredError<tf.Tensor, tf.Scalar>(t, single.decoder.apply(single.encoder.apply(t)) as tf.Tensor),
            true,
            variablesOf(single),
          ) as tf.Scalar;
        });
        singleLosses.push(cost.dataSync()[0] as number);
        cost.dispose();
        multiLosses.push(await parallel.step(x, x, count));
        mainTensors.push(tf.memory().numTensors);
        workerTensors.push(parallel.workerTensors());
        const e = updateError(weightsOf(multi), weightsOf(single), start);
        assert.ok(e < 1e-3, `${threads} threads, step ${s + 1}: weights differ from single-thread by ${e} of the update`);
      }
    } finally {
      await parallel.close();
    }
    await parallel.close(); // idempotent
    await assert.rejects(parallel.step(batch(1, 1), batch(1, 1), 1), /after close/);
    singleLosses.forEach((l, i) => assert.ok(Math.abs(l - (multiLosses[i] as number)) < 1e-5 * Math.max(1, l), `loss ${l} vs ${multiLosses[i]}`));
    // After the first step (Adam creates its slots), flat on every thread.
    assert.ok(mainTensors.slice(1).every((n) => n === mainTensors[1]), `main numTensors ${mainTensors.join(',')}`);
    assert.equal(workerTensors[0]?.length, threads - 1);
    for (let w = 0; w < threads - 1; w++) {
      const seq = workerTensors.map((t) => t[w]);
      assert.ok(seq.every((n) => n === seq[0]), `worker ${w} numTensors ${seq.join(',')}`);
    }
    optSingle.dispose();
    optMulti.dispose();
    single.encoder.dispose();
    single.decoder.dispose();
    multi.encoder.dispose();
    multi.decoder.dispose();
  }
});

function toyImages(n: number): DecodedImages {
  const rng = createRng(5);
  const per = SIZE * SIZE * 3;
  const pixels = new Uint8Array(n * per);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round(rng() * 255);
  const keys = Array.from({ length: n }, (_, i) => `${i}.png`);
  return { size: SIZE, keys, etags: keys.map(() => 'e'), widths: keys.map(() => SIZE), heights: keys.map(() => SIZE), pixels };
}

test('trainAutoencoder with trainThreads 2 follows the single-thread run (adamw)', async () => {
  await initBackend('wasm');
  const options = { ...tinyTrainOptions({ batchSize: 6, optimizer: 'adamw', weightDecay: 1e-2 }), epochs: 2 };

  const images = toyImages(20);
  const tensors = tf.memory().numTensors;
  const one = await trainAutoencoder(images, { ...options, trainThreads: 1 });
  const two = await trainAutoencoder(images, { ...options, trainThreads: 2 });
  one.meta.losses.forEach((l, i) => {
    const m = two.meta.losses[i];
    assert.ok(m !== undefined);
    assert.ok(Math.abs(l.train - m.train) < 1e-4 * l.train, `epoch ${l.epoch} train loss ${l.train} vs ${m.train}`);
    assert.ok(Math.abs(l.validation - m.validation) < 1e-4 * l.validation, `epoch ${l.epoch} validation ${l.validation} vs ${m.validation}`);
  });
  for (const r of [one, two]) {
    r.encoder.dispose();
    r.decoder.dispose();
  }
  assert.equal(tf.memory().numTensors, tensors, 'tensors left after training');
});
