// Identity on the wasm backend (shared/model/kernels/identity-share.ts): a clone shares
// the input's memory (no new data id), reads the same values, outlives the original,
// frees the memory with the last tensor, and strings still clone.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as tf from '@tensorflow/tfjs';

import { registerWasmTrainingKernels } from '../../../shared/model/kernels/index.js';

void test('wasm Identity shares data, keeps it alive for the clone, frees it with the last tensor', async () => {
  registerWasmTrainingKernels();
  assert.ok(await tf.setBackend('wasm'));
  const ids = (): number => tf.engine().backend.numDataIds();
  const before = ids();
  const tensorsBefore = tf.memory().numTensors;
  const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
  const y = tf.clone(x);
  assert.equal(ids(), before + 1, 'the clone must share the data, not copy it');
  assert.deepEqual(y.shape, [2, 3]);
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4, 5, 6], 'clone readable after the original is disposed');
  y.dispose();
  assert.equal(ids(), before, 'data freed with the last tensor');
  assert.equal(tf.memory().numTensors, tensorsBefore);

  // A variable snapshot (clone) is unaffected by later assignments of the variable.
  const v = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3])));
  const snap = v.clone();
  tf.tidy(() => v.assign(tf.tensor1d([7, 8, 9])));
  assert.deepEqual(Array.from(snap.dataSync()), [1, 2, 3]);
  assert.deepEqual(Array.from(v.dataSync()), [7, 8, 9]);
  tf.dispose([snap, v]);
  assert.equal(ids(), before);

  const s = tf.tensor1d(['a', 'bc'], 'string');
  const sc = tf.clone(s);
  s.dispose();
  assert.deepEqual(sc.dataSync(), ['a', 'bc']);
  sc.dispose();
});
