/**
 * `Identity` for the TensorFlow.js wasm backend that shares the input's memory
 * instead of copying it.
 *
 * Why it is written here: while recording gradients, the tfjs engine clones
 * (`Identity`) every tensor a kernel saves for its backward pass
 * (`saveTensorsForBackwardMode`): the conv inputs and filters, ReLU inputs,
 * pool inputs and outputs, … The wasm backend's Identity copies the data (a
 * malloc and a memcpy each, ~70 calls and ~5 ms per training step of the
 * reference CAE at 64x64, batch 32), the cpu backend's only takes a reference.
 * Tensors are immutable and no kernel writes its inputs, so this kernel does as
 * the cpu backend does: it increments the data's reference count and returns the
 * same data id (as the wasm backend's own Reshape does); the memory is freed
 * when the last tensor using it is disposed. Strings keep the original kernel.
 */
import type { DataId, KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';

import { replaceWasmKernel } from './wasm-ops.js';

export const IDENTITY = 'Identity';

let originalKernel: KernelConfig | undefined;

interface RefCounting {
  incRef(dataId: DataId): void;
}

export const identityShareWasm: KernelFunc = (args) => {
  const { inputs, backend } = args;
  const { x } = inputs;
  if (x === undefined) throw new Error('Identity (wasm): expected input {x}');
  const b = backend as Partial<RefCounting> | null;
  if (x.dtype === 'string' || typeof b?.incRef !== 'function') {
    if (originalKernel === undefined) throw new Error('Identity (wasm): case not handled and the original wasm kernel is unavailable');
    return originalKernel.kernelFunc(args);
  }
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

/** Replace the wasm backend's Identity with this one (the original handles strings); idempotent. */
export function registerIdentityShareWasm(): void {
  originalKernel = replaceWasmKernel(IDENTITY, identityShareWasm);
}
