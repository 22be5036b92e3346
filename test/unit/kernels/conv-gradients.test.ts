// Gradients of conv2d / conv2dTranspose on the wasm backend (with the kernels
// from shared/model/kernels) against the 'cpu' backend, plus a small conv model
// training on wasm without leaking tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as tf from '@tensorflow/tfjs';

import { registerWasmTrainingKernels } from '../../../shared/model/kernels/index.js';
import { randomValues } from '../../support/random-values.js';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
type Pair = [number, number];
type Shape4 = [number, number, number, number];

const TOLERANCE = 1e-3;

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** max|a - b| / max|b| (normwise relative error against the reference b). */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(b[i] ?? NaN));
  }
  return diff / Math.max(scale, 1e-12);
}

async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  assert.ok(await tf.setBackend(name), `backend ${name} failed to initialise`);
}

function wasmDataIds(): number {
  return tf.engine().backend.numDataIds();
}

interface ConvCase {
  kind: 'conv2d' | 'conv2dTranspose';
  /** conv2d: x shape. conv2dTranspose: the OUTPUT shape (the conv2d "input"). */
  big: Shape4;
  kernel: Pair;
  outChannels: number; // conv2d: filters. conv2dTranspose: channels of its input.
  strides: Pair;
  pad: Pad;
}

function outSize(n: number, k: number, s: number, pad: Pad, padSum: number): number {
  if (pad === 'same') return Math.ceil(n / s);
  if (pad === 'valid') return Math.ceil((n - k + 1) / s);
  return Math.floor((n - k + padSum) / s) + 1;
}

function padSums(pad: Pad): Pair {
  if (typeof pad === 'number') return [2 * pad, 2 * pad];
  if (Array.isArray(pad)) return [pad[1][0] + pad[1][1], pad[2][0] + pad[2][1]];
  return [0, 0];
}

/** Gradients w.r.t. input and filter of sum(op(x, w) * r), as plain arrays. */
function gradients(c: ConvCase, seed: number): { dx: number[]; dw: number[]; xAfter: number[]; wAfter: number[] } {
  const [b, h, w, cin] = c.big;
  const [kh, kw] = c.kernel;
  const [ph, pw] = padSums(c.pad);
  const small: Shape4 = [b, outSize(h, kh, c.strides[0], c.pad, ph), outSize(w, kw, c.strides[1], c.pad, pw), c.outChannels];
  const filterShape: Shape4 = [kh, kw, cin, c.outChannels];
  const xShape = c.kind === 'conv2d' ? c.big : small;
  const yShape = c.kind === 'conv2d' ? small : c.big;
  let result: { dx: number[]; dw: number[]; xAfter: number[]; wAfter: number[] } | undefined;
  tf.tidy(() => {
    const x = tf.tensor4d(randomValues(size(xShape), seed), xShape);
    const filter = tf.tensor4d(randomValues(size(filterShape), seed + 1), filterShape);
    const r = tf.tensor4d(randomValues(size(yShape), seed + 2), yShape);
    const f = (xi: tf.Tensor, fi: tf.Tensor): tf.Tensor => {
      const y =
        c.kind === 'conv2d'
          ? tf.conv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, c.strides, c.pad)
          : tf.conv2dTranspose(xi as tf.Tensor4D, fi as tf.Tensor4D, c.big, c.strides, c.pad);
      assert.deepEqual(y.shape, yShape);
      return tf.sum(tf.mul(y, r));
    };
    const [dx, dw] = tf.grads(f)([x, filter]);
    assert.ok(dx !== undefined && dw !== undefined);
    result = {
      dx: Array.from(dx.dataSync()),
      dw: Array.from(dw.dataSync()),
      xAfter: Array.from(x.dataSync()),
      wAfter: Array.from(filter.dataSync()),
    };
  });
  assert.ok(result !== undefined);
  return result;
}

const CASES: ConvCase[] = [
  // The model's layers: conv 3x3/1 'same' and conv2dTranspose 2x2/2 'valid'.
  { kind: 'conv2d', big: [2, 8, 8, 3], kernel: [3, 3], outChannels: 4, strides: [1, 1], pad: 'same' },
  { kind: 'conv2d', big: [3, 6, 7, 5], kernel: [3, 3], outChannels: 7, strides: [1, 1], pad: 'same' },
  { kind: 'conv2dTranspose', big: [2, 8, 8, 3], kernel: [2, 2], outChannels: 5, strides: [2, 2], pad: 'valid' },
  { kind: 'conv2dTranspose', big: [3, 6, 10, 7], kernel: [2, 2], outChannels: 3, strides: [2, 2], pad: 'same' },
  // Wider channels, as in the deeper layers of the reference model.
  { kind: 'conv2d', big: [2, 6, 6, 64], kernel: [3, 3], outChannels: 96, strides: [1, 1], pad: 'same' },
  { kind: 'conv2d', big: [1, 4, 4, 256], kernel: [3, 3], outChannels: 129, strides: [1, 1], pad: 'same' },
  { kind: 'conv2dTranspose', big: [2, 8, 8, 32], kernel: [2, 2], outChannels: 256, strides: [2, 2], pad: 'valid' },
  // Other kernel sizes / paddings, stride 1.
  { kind: 'conv2d', big: [1, 9, 7, 1], kernel: [1, 1], outChannels: 3, strides: [1, 1], pad: 'valid' },
  { kind: 'conv2d', big: [2, 7, 9, 3], kernel: [5, 5], outChannels: 2, strides: [1, 1], pad: 'same' },
  { kind: 'conv2d', big: [2, 9, 8, 3], kernel: [5, 5], outChannels: 4, strides: [1, 1], pad: 'valid' },
  { kind: 'conv2d', big: [2, 6, 6, 2], kernel: [2, 2], outChannels: 3, strides: [1, 1], pad: 'same' },
  { kind: 'conv2d', big: [2, 8, 7, 3], kernel: [3, 2], outChannels: 5, strides: [1, 1], pad: 'valid' },
  { kind: 'conv2dTranspose', big: [2, 7, 6, 3], kernel: [3, 3], outChannels: 4, strides: [1, 1], pad: 'same' },
  // Stride 1 with the output the size of the input (the filter gradient's shifted-block
  // path): kernels larger than the image, one input channel, asymmetric explicit padding.
  { kind: 'conv2d', big: [3, 2, 3, 2], kernel: [5, 5], outChannels: 3, strides: [1, 1], pad: 'same' },
  { kind: 'conv2d', big: [4, 3, 3, 1], kernel: [3, 3], outChannels: 2, strides: [1, 1], pad: 'same' },
  { kind: 'conv2d', big: [2, 5, 4, 3], kernel: [1, 1], outChannels: 2, strides: [1, 1], pad: 'same' },
  { kind: 'conv2d', big: [3, 5, 6, 4], kernel: [3, 3], outChannels: 3, strides: [1, 1], pad: [[0, 0], [2, 0], [0, 2], [0, 0]] },
  { kind: 'conv2d', big: [2, 4, 5, 3], kernel: [4, 3], outChannels: 2, strides: [1, 1], pad: 'same' },
  // Stride 2: kernel == stride with crop (valid, odd size) / pad (same, odd size).
  { kind: 'conv2d', big: [2, 8, 8, 3], kernel: [2, 2], outChannels: 5, strides: [2, 2], pad: 'valid' },
  { kind: 'conv2d', big: [2, 9, 7, 3], kernel: [2, 2], outChannels: 5, strides: [2, 2], pad: 'valid' },
  { kind: 'conv2d', big: [2, 9, 7, 3], kernel: [2, 2], outChannels: 5, strides: [2, 2], pad: 'same' },
  // Stride 2, kernel != stride (general paths / original-kernel fallback).
  { kind: 'conv2d', big: [2, 9, 9, 3], kernel: [3, 3], outChannels: 4, strides: [2, 2], pad: 'same' },
  { kind: 'conv2d', big: [2, 10, 8, 3], kernel: [3, 3], outChannels: 4, strides: [2, 2], pad: 'valid' },
  { kind: 'conv2d', big: [1, 11, 12, 2], kernel: [5, 5], outChannels: 3, strides: [2, 2], pad: 'same' },
  { kind: 'conv2d', big: [2, 10, 9, 1], kernel: [1, 1], outChannels: 3, strides: [2, 2], pad: 'valid' },
  { kind: 'conv2d', big: [2, 8, 9, 3], kernel: [3, 3], outChannels: 2, strides: [1, 2], pad: 'same' },
  { kind: 'conv2dTranspose', big: [2, 9, 8, 3], kernel: [3, 3], outChannels: 4, strides: [2, 2], pad: 'same' },
  // Numeric and explicit padding.
  { kind: 'conv2d', big: [2, 6, 7, 3], kernel: [3, 3], outChannels: 2, strides: [1, 1], pad: 1 },
  { kind: 'conv2d', big: [2, 7, 7, 3], kernel: [3, 3], outChannels: 2, strides: [2, 2], pad: 2 },
  {
    kind: 'conv2d',
    big: [2, 7, 6, 3],
    kernel: [3, 3],
    outChannels: 2,
    strides: [1, 1],
    pad: [[0, 0], [1, 2], [0, 1], [0, 0]],
  },
];

void test('conv2d / conv2dTranspose gradients on wasm match cpu', async () => {
  registerWasmTrainingKernels();
  registerWasmTrainingKernels(); // idempotent
  const previousIsTest = tf.env().getBool('IS_TEST');
  // Makes the engine throw if a kernel leaves intermediate data ids behind.
  tf.env().set('IS_TEST', true);
  try {
    for (const [i, c] of CASES.entries()) {
      const label = `${c.kind} in=${c.big.join('x')} k=${c.kernel.join('x')} out=${c.outChannels} s=${c.strides.join(',')} pad=${JSON.stringify(c.pad)}`;
      const seed = 1000 * (i + 1);
      await useBackend('cpu');
      const ref = gradients(c, seed);
      await useBackend('wasm');
      const idsBefore = wasmDataIds();
      const tensorsBefore = tf.memory().numTensors;
      const got = gradients(c, seed);
      assert.equal(wasmDataIds(), idsBefore, `${label}: wasm data ids leaked`);
      assert.equal(tf.memory().numTensors, tensorsBefore, `${label}: tensors leaked`);
      const ex = relError(got.dx, ref.dx);
      const ew = relError(got.dw, ref.dw);
      assert.ok(ex < TOLERANCE, `${label}: dx relative error ${ex}`);
      assert.ok(ew < TOLERANCE, `${label}: dw relative error ${ew}`);
      // The kernels must never free or overwrite their inputs.
      assert.deepEqual(got.xAfter, ref.xAfter, `${label}: x changed`);
      assert.deepEqual(got.wAfter, ref.wAfter, `${label}: filter changed`);
    }
  } finally {
    tf.env().set('IS_TEST', previousIsTest);
  }
});

interface DirectCase {
  format: 'NHWC' | 'NCHW';
  x: Shape4; // in `format`
  kernel: Pair;
  outChannels: number;
  strides: Pair;
  pad: Pad;
}

const DIRECT_CASES: DirectCase[] = [
  { format: 'NHWC', x: [2, 8, 8, 3], kernel: [2, 2], outChannels: 4, strides: [2, 2], pad: 'valid' },
  { format: 'NHWC', x: [2, 7, 9, 3], kernel: [2, 2], outChannels: 4, strides: [2, 2], pad: 'same' },
  { format: 'NHWC', x: [2, 7, 6, 5], kernel: [3, 3], outChannels: 4, strides: [1, 1], pad: 'same' },
  { format: 'NHWC', x: [2, 9, 8, 3], kernel: [3, 3], outChannels: 2, strides: [2, 2], pad: 'same' },
  { format: 'NHWC', x: [2, 10, 8, 3], kernel: [3, 3], outChannels: 2, strides: [2, 2], pad: 'valid' },
  { format: 'NCHW', x: [2, 3, 7, 6], kernel: [3, 3], outChannels: 4, strides: [1, 1], pad: 'same' },
  { format: 'NCHW', x: [2, 3, 8, 6], kernel: [2, 2], outChannels: 4, strides: [2, 2], pad: 'valid' },
];

void test('direct Conv2DBackpropFilter / Conv2DBackpropInput calls match cpu and leave inputs intact', async () => {
  registerWasmTrainingKernels();
  for (const [i, c] of DIRECT_CASES.entries()) {
    const label = `${c.format} x=${c.x.join('x')} k=${c.kernel.join('x')} s=${c.strides.join(',')} pad=${JSON.stringify(c.pad)}`;
    const nchw = c.format === 'NCHW';
    const cin = nchw ? c.x[1] : c.x[3];
    const filterShape: Shape4 = [c.kernel[0], c.kernel[1], cin, c.outChannels];
    const info = tf.backend_util.computeConv2DInfo(
      c.x, filterShape, c.strides, 1, c.pad, undefined, false, nchw ? 'channelsFirst' : 'channelsLast',
    );
    const dyShape: Shape4 = nchw
      ? [c.x[0], c.outChannels, info.outHeight, info.outWidth]
      : [c.x[0], info.outHeight, info.outWidth, c.outChannels];
    const xVals = randomValues(size(c.x), 10 * i + 1);
    const dyVals = randomValues(size(dyShape), 10 * i + 2);
    const fVals = randomValues(size(filterShape), 10 * i + 3);
    const run = (checkInputs: boolean): { dw: number[]; dx: number[] } => {
      const x = tf.tensor4d(xVals, c.x);
      const dy = tf.tensor4d(dyVals, dyShape);
      const filter = tf.tensor4d(fVals, filterShape);
      const ids = wasmDataIds();
      const common = { strides: c.strides, pad: c.pad, dataFormat: c.format };
      const dw = tf.engine().runKernel<tf.Tensor>('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape });
      const dx = tf.engine().runKernel<tf.Tensor>('Conv2DBackpropInput', { dy, filter }, { ...common, inputShape: c.x });
      if (checkInputs) {
        assert.equal(wasmDataIds(), ids + 2, `${label}: data ids leaked or freed`);
        assert.deepEqual(Array.from(x.dataSync()), Array.from(new Float32Array(xVals)), `${label}: x changed`);
        assert.deepEqual(Array.from(dy.dataSync()), Array.from(new Float32Array(dyVals)), `${label}: dy changed`);
        assert.deepEqual(Array.from(filter.dataSync()), Array.from(new Float32Array(fVals)), `${label}: filter changed`);
      }
      assert.deepEqual(dw.shape, filterShape);
      assert.deepEqual(dx.shape, c.x);
      const out = { dw: Array.from(dw.dataSync()), dx: Array.from(dx.dataSync()) };
      tf.dispose([x, dy, filter, dw, dx]);
      return out;
    };
    await useBackend('cpu');
    const ref = run(false);
    await useBackend('wasm');
    const tensors = tf.memory().numTensors;
    const got = run(true);
    assert.equal(tf.memory().numTensors, tensors, `${label}: tensors leaked`);
    assert.ok(relError(got.dw, ref.dw) < TOLERANCE, `${label}: dw relative error ${relError(got.dw, ref.dw)}`);
    assert.ok(relError(got.dx, ref.dx) < TOLERANCE, `${label}: dx relative error ${relError(got.dx, ref.dx)}`);
  }
});

function buildModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }),
  );
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(
    tf.layers.conv2dTranspose({ filters: 3, kernelSize: 2, strides: 2, padding: 'valid', activation: 'sigmoid' }),
  );
  return model;
}

/** Deterministic Glorot-uniform kernels and zero biases (same on every backend). */
function seedWeights(model: tf.Sequential, seed: number): void {
  const values = model.getWeights().map((w, i) => {
    if (w.rank !== 4) return tf.zeros(w.shape);
    const [kh = 1, kw = 1, a = 1, b = 1] = w.shape;
    const limit = Math.sqrt(6 / (kh * kw * (a + b)));
    return tf.tensor(randomValues(w.size, seed + i).map((v) => v * limit), w.shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** Smooth, learnable images in [0, 1]. */
function images(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++)
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++)
        for (let c = 0; c < 3; c++) out.push(0.5 + 0.4 * Math.sin((x + 1) * (i + 1) * 0.3 + y * 0.5 + c));
  return out;
}

void test('a small conv autoencoder trains on wasm: loss decreases, no tensor leak', async () => {
  registerWasmTrainingKernels();
  await useBackend('wasm');
  const model = buildModel();
  seedWeights(model, 42);
  model.compile({ optimizer: tf.train.adam(0.03), loss: 'meanSquaredError' });
  const x = tf.tensor4d(images(8), [8, 8, 8, 3]);
  const losses: number[] = [];
  const tensorCounts: number[] = [];
  for (let step = 0; step < 25; step++) {
    const loss = await model.trainOnBatch(x, x);
    losses.push(typeof loss === 'number' ? loss : (loss[0] ?? NaN));
    tensorCounts.push(tf.memory().numTensors);
  }
  x.dispose();
  model.dispose();
  for (const l of losses) assert.ok(Number.isFinite(l), `non-finite loss in ${losses.join(', ')}`);
  const first = losses[0] ?? NaN;
  const last = losses[losses.length - 1] ?? NaN;
  assert.ok(last < 0.8 * first, `loss did not decrease: ${losses.map((l) => l.toFixed(4)).join(', ')}`);
  // The first step creates the optimizer's slot variables; after that, flat.
  const steady = tensorCounts.slice(1);
  assert.ok(
    steady.every((n) => n === steady[0]),
    `numTensors not flat across steps: ${tensorCounts.join(', ')}`,
  );
});

void test('the same training steps give the same weights on wasm and cpu', async () => {
  registerWasmTrainingKernels();
  const train = async (backend: 'cpu' | 'wasm'): Promise<{ start: number[][]; end: number[][] }> => {
    await useBackend(backend);
    const model = buildModel();
    seedWeights(model, 7);
    const start = model.getWeights().map((w) => Array.from(w.dataSync()));
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'meanSquaredError' });
    const x = tf.tensor4d(images(4), [4, 8, 8, 3]);
    for (let step = 0; step < 3; step++) await model.trainOnBatch(x, x);
    const end = model.getWeights().map((w) => Array.from(w.dataSync()));
    x.dispose();
    model.dispose();
    return { start, end };
  };
  const cpu = await train('cpu');
  const wasm = await train('wasm');
  // Compare the updates (end - start), not the weights, to be sensitive.
  for (const [i, w] of wasm.end.entries()) {
    const start = cpu.start[i] ?? [];
    assert.deepEqual(wasm.start[i], start);
    const ref = (cpu.end[i] ?? []).map((v, j) => v - (start[j] ?? NaN));
    const got = w.map((v, j) => v - (start[j] ?? NaN));
    const e = relError(got, ref);
    assert.ok(e < TOLERANCE, `weight ${i} update relative error ${e}`);
  }
});
