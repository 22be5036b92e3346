/**
 * Faster `Sum` over leading axes for the TensorFlow.js wasm backend.
 *
 * Why it is written here: a bias gradient is `Sum(dy, axes [0, 1, 2])` of an
 * NHWC tensor, i.e. a sum over the OUTER axes. The wasm backend's Sum only
 * reduces innermost axes, so it first transposes the whole tensor (C to the
 * front), which cost ~20-25 ms per training step of the reference CAE. Summing
 * rows into a per-channel accumulator needs no transpose: this kernel does it
 * in plain JavaScript on the wasm heap (float64 accumulators), and delegates
 * every other case (other axes, all axes, non-float32) to the original kernel.
 */
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  util,
  type KernelConfig,
  type KernelFunc,
  type SumAttrs,
} from '@tensorflow/tfjs-core';

import { asWasmBackend } from './wasm-ops.js';

export const SUM = 'Sum';

let originalKernel: KernelConfig | undefined;

export const sumLeadingWasm: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  if (x === undefined || attrs === undefined) throw new Error('Sum (wasm): expected input {x} and attrs');
  const a = attrs as unknown as SumAttrs;
  const rank = x.shape.length;
  const axes = [...new Set(util.parseAxisParam(a.axis, x.shape))].sort((p, q) => p - q);
  const leading = axes.length > 0 && axes.length < rank && axes.every((ax, i) => ax === i);
  if (x.dtype !== 'float32' || !leading) {
    if (originalKernel === undefined) throw new Error('Sum (wasm): case not handled and the original wasm kernel is unavailable');
    return originalKernel.kernelFunc(args);
  }
  const outer = util.sizeFromShape(x.shape.slice(0, axes.length));
  const innerShape = x.shape.slice(axes.length);
  const inner = util.sizeFromShape(innerShape);
  const outShape = a.keepDims ? backend_util.expandShapeToKeepDim(innerShape, axes) : innerShape;
  const wasm = asWasmBackend(backend);
  const out = wasm.makeOutput(outShape, 'float32');
  const xv = wasm.typedArrayFromHeap(x) as Float32Array;
  const ov = wasm.typedArrayFromHeap(out) as Float32Array;
  const acc = new Float64Array(inner);
  for (let i = 0, p = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++, p++) acc[j] = (acc[j] as number) + (xv[p] as number);
  }
  ov.set(acc);
  return out;
};

/** Replace the wasm backend's Sum with this one (the original handles all other cases); idempotent. */
export function registerSumLeadingWasm(): void {
  const existing = getKernel(SUM, 'wasm') as KernelConfig | undefined;
  if (existing?.kernelFunc === sumLeadingWasm) return;
  originalKernel = existing;
  if (existing !== undefined) unregisterKernel(SUM, 'wasm');
  registerKernel({
    kernelName: SUM,
    backendName: 'wasm',
    kernelFunc: sumLeadingWasm,
    setupFunc: existing?.setupFunc,
    disposeFunc: existing?.disposeFunc,
  });
}
