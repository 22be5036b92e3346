// MaxPoolGrad and leading-axes Sum on the wasm backend (the kernels from
// shared/model/kernels) against the 'cpu' backend: random inputs, inputs with
// many ties (ReLU outputs, rounded values), every pooling config the kernel
// handles (the model's 2x2/2 'valid', other non-overlapping windows, overlapping
// and padded windows), and no leaked data ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as tf from '@tensorflow/tfjs';

import { registerWasmTrainingKernels } from '../../../shared/model/kernels/index.js';
import { randomValues } from '../../support/random-values.js';

type Shape4 = [number, number, number, number];

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  assert.ok(await tf.setBackend(name), `backend ${name} failed to initialise`);
}

interface PoolCase {
  x: Shape4;
  pool: [number, number];
  strides: [number, number];
  pad: 'valid' | 'same' | number;
  /** 'random': distinct values; 'ties': ReLU of values rounded to a few levels (many equal maxima). */
  values: 'random' | 'ties';
}

const POOL_CASES: PoolCase[] = [
  // The model factories' pools.
  { x: [2, 8, 8, 3], pool: [2, 2], strides: [2, 2], pad: 'valid', values: 'random' },
  { x: [2, 8, 8, 3], pool: [2, 2], strides: [2, 2], pad: 'valid', values: 'ties' },
  { x: [3, 16, 16, 16], pool: [2, 2], strides: [2, 2], pad: 'valid', values: 'ties' },
  // Odd sizes: the last row/column is in no window ('valid') or a padded one ('same').
  { x: [2, 7, 9, 4], pool: [2, 2], strides: [2, 2], pad: 'valid', values: 'ties' },
  { x: [2, 7, 9, 4], pool: [2, 2], strides: [2, 2], pad: 'same', values: 'ties' },
  // Other non-overlapping windows.
  { x: [2, 9, 9, 2], pool: [3, 3], strides: [3, 3], pad: 'valid', values: 'ties' },
  { x: [1, 8, 6, 3], pool: [2, 3], strides: [2, 3], pad: 'valid', values: 'random' },
  // Overlapping and padded windows.
  { x: [2, 9, 8, 3], pool: [3, 3], strides: [2, 2], pad: 'same', values: 'ties' },
  { x: [2, 6, 6, 2], pool: [3, 3], strides: [1, 1], pad: 'same', values: 'random' },
  { x: [2, 7, 7, 2], pool: [2, 2], strides: [1, 1], pad: 'valid', values: 'ties' },
  { x: [1, 7, 7, 3], pool: [3, 3], strides: [2, 2], pad: 1, values: 'ties' },
];

function inputValues(c: PoolCase, seed: number): number[] {
  const v = randomValues(size(c.x), seed);
  return c.values === 'random' ? v : v.map((a) => Math.max(0, Math.round(a * 3) / 3));
}

/** dx of sum(maxPool(x) * r), and dy = r. */
function poolGrad(c: PoolCase, seed: number): number[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(inputValues(c, seed), c.x);
    const f = (xi: tf.Tensor): tf.Tensor => {
      const y = tf.maxPool(xi as tf.Tensor4D, c.pool, c.strides, c.pad);
      const r = tf.tensor(randomValues(y.size, seed + 1), y.shape);
      return tf.sum(tf.mul(y, r));
    };
    return Array.from(tf.grad(f)(x).dataSync());
  });
}

void test('MaxPoolGrad on wasm matches cpu, ties included (gradient to the first max)', async () => {
  registerWasmTrainingKernels();
  const previousIsTest = tf.env().getBool('IS_TEST');
  tf.env().set('IS_TEST', true);
  try {
    for (const [i, c] of POOL_CASES.entries()) {
      const label = `x=${c.x.join('x')} pool=${c.pool.join('x')} s=${c.strides.join(',')} pad=${c.pad} ${c.values}`;
      await useBackend('cpu');
      const ref = poolGrad(c, 100 * (i + 1));
      await useBackend('wasm');
      const ids = tf.engine().backend.numDataIds();
      const tensors = tf.memory().numTensors;
      const got = poolGrad(c, 100 * (i + 1));
      assert.equal(tf.engine().backend.numDataIds(), ids, `${label}: data ids leaked`);
      assert.equal(tf.memory().numTensors, tensors, `${label}: tensors leaked`);
      assert.equal(got.length, ref.length);
      for (let j = 0; j < ref.length; j++) {
        assert.ok(Math.abs((got[j] as number) - (ref[j] as number)) < 1e-5, `${label}: dx[${j}] = ${got[j]}, cpu ${ref[j]}`);
      }
    }
  } finally {
    tf.env().set('IS_TEST', previousIsTest);
  }
});

void test('MaxPoolGrad on wasm: NaN and -Infinity windows as on cpu', async () => {
  registerWasmTrainingKernels();
  const xVals = [NaN, 1, 1, NaN, -Infinity, -Infinity, -Infinity, -Infinity, 2, 2, 2, 2, NaN, NaN, NaN, NaN];
  const run = (): number[] =>
    tf.tidy(() => {
      const dy = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
      const x = tf.tensor4d(xVals, [1, 4, 4, 1]);
      // Layout of the 4x4 as 2x2 windows: values above are row-major over the 4x4 image.
      const dx = tf.engine().runKernel<tf.Tensor>('MaxPoolGrad', { dy, input: x, output: tf.maxPool(x, 2, 2, 'valid') }, {
        filterSize: 2,
        strides: 2,
        pad: 'valid',
      });
      return Array.from(dx.dataSync());
    });
  await useBackend('cpu');
  const ref = run();
  await useBackend('wasm');
  assert.deepEqual(run(), ref);
});

void test('Sum over leading axes on wasm matches cpu; other axes still work', async () => {
  registerWasmTrainingKernels();
  const cases: Array<{ shape: number[]; axis: number | number[]; keepDims: boolean }> = [
    { shape: [4, 5, 6, 7], axis: [0, 1, 2], keepDims: false },
    { shape: [4, 5, 6, 7], axis: [2, 0, 1], keepDims: true },
    { shape: [32, 33], axis: 0, keepDims: false },
    // Column counts handled four at a time, with and without a remainder, and below four.
    { shape: [3, 4, 4, 16], axis: [0, 1, 2], keepDims: false },
    { shape: [5, 3, 2], axis: [0, 1], keepDims: false },
    { shape: [7, 3, 1], axis: [0, 1], keepDims: true },
    { shape: [3, 4, 5], axis: [0, 1, 2], keepDims: false },
    { shape: [3, 4, 5], axis: [1, 2], keepDims: false },
    { shape: [3, 4, 5], axis: [0, 2], keepDims: true },
    { shape: [3, 4, 5], axis: -1, keepDims: false },
  ];
  for (const [i, c] of cases.entries()) {
    const run = (): { shape: number[]; values: number[] } =>
      tf.tidy(() => {
        const y = tf.sum(tf.tensor(randomValues(size(c.shape), i + 7), c.shape), c.axis, c.keepDims);
        return { shape: y.shape, values: Array.from(y.dataSync()) };
      });
    await useBackend('cpu');
    const ref = run();
    await useBackend('wasm');
    const ids = tf.engine().backend.numDataIds();
    const got = run();
    assert.equal(tf.engine().backend.numDataIds(), ids, `case ${i}: data ids leaked`);
    assert.deepEqual(got.shape, ref.shape, `case ${i}: shape`);
    for (let j = 0; j < ref.values.length; j++) {
      assert.ok(Math.abs((got.values[j] as number) - (ref.values[j] as number)) < 1e-4, `case ${i}: [${j}] ${got.values[j]} vs ${ref.values[j]}`);
    }
  }
});
