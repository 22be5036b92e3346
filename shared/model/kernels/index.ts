/**
 * Training kernels for the TensorFlow.js wasm backend.
 *
 * @tensorflow/tfjs-backend-wasm 4.22 cannot train conv models out of the box:
 * it has no `Conv2DBackpropFilter` kernel (the filter gradient of conv2d and
 * conv2dTranspose throws), and its `Conv2DBackpropInput`, `MaxPoolGrad` and
 * outer-axes `Sum` (bias gradients) are slow, and its `Identity` (which the engine
 * runs on every tensor saved for a backward pass) copies. No maintained package provides
 * better kernels, so they are written here, built from the wasm backend's own
 * XNNPACK-backed kernels or as plain loops on the wasm heap.
 *
 * Usage: call `registerWasmTrainingKernels()` once at start-up, before or
 * after `await tf.setBackend('wasm')` (registration does not need the backend
 * to be initialised). Importing this module imports
 * '@tensorflow/tfjs-backend-wasm' for its side effect (registering the wasm
 * backend and its kernels), because the original `Conv2DBackpropInput` must
 * be registered before it can be replaced.
 */
import '@tensorflow/tfjs-backend-wasm';

import { registerConv2DBackpropFilterWasm } from './conv2d-backprop-filter.js';
import { registerConv2DBackpropInputWasm } from './conv2d-backprop-input.js';
import { registerIdentityShareWasm } from './identity-share.js';
import { registerMaxPoolGradWasm } from './max-pool-grad.js';
import { registerSumLeadingWasm } from './sum-leading.js';

export { conv2dBackpropFilterWasm, registerConv2DBackpropFilterWasm } from './conv2d-backprop-filter.js';
export { conv2dBackpropInputWasm, registerConv2DBackpropInputWasm } from './conv2d-backprop-input.js';
export { identityShareWasm, registerIdentityShareWasm } from './identity-share.js';
export { maxPoolGradWasm, registerMaxPoolGradWasm } from './max-pool-grad.js';
export { sumLeadingWasm, registerSumLeadingWasm } from './sum-leading.js';

/**
 * Register `Conv2DBackpropFilter` and the faster `Conv2DBackpropInput`,
 * `MaxPoolGrad` and leading-axes `Sum` (bias gradients), and the data-sharing
 * `Identity`, for the 'wasm' backend. Idempotent: safe to call any number of times.
 */
export function registerWasmTrainingKernels(): void {
  registerConv2DBackpropFilterWasm();
  registerConv2DBackpropInputWasm();
  registerMaxPoolGradWasm();
  registerSumLeadingWasm();
  registerIdentityShareWasm();
}
