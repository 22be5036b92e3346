/**
 * Faster `Conv2DBackpropInput` kernel for the TensorFlow.js wasm backend.
 *
 * Why it is written here: the kernel shipped in @tensorflow/tfjs-backend-wasm
 * 4.22 is a naive scalar loop. It runs in every conv2dTranspose forward pass
 * (the decoder) and in the input gradient of every conv2d, and dominated
 * training time on wasm; no maintained package provides a faster one. This
 * version is composed from the wasm backend's own XNNPACK-backed kernels (see
 * `wasm-ops.ts`):
 *
 * - kernel == stride, no top/left padding (the 2x2/2 conv2dTranspose layers):
 *   windows do not overlap, so dx is one plain matMul
 *   [B*Ho*Wo, Cout] x [Cout, kh*kw*Cin] followed by a depth-to-space
 *   (reshape+transpose), then zero rows/cols (or a crop) at the bottom/right.
 * - stride 1 (the 3x3 'same' convs): dx is a Conv2D of dy with the filter
 *   flipped in space and with in/out channels swapped, with padding
 *   (k - 1 - padTop) on top/left and whatever makes the output H x W below.
 * - anything else (other strides, NCHW, paddings larger than the kernel): the
 *   original wasm kernel, saved when this one is registered.
 */
import {
  backend_util,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

import { WasmOps, asWasmBackend, dims4, replaceWasmKernel } from './wasm-ops.js';

export const CONV2D_BACKPROP_INPUT = 'Conv2DBackpropInput';

/** The kernel the wasm backend registered itself; used as the fallback. */
let originalKernel: KernelConfig | undefined;

/**
 * The wasm `Conv2DBackpropInput` kernel function: inputs `{dy, filter}`, attrs
 * `Conv2DBackpropInputAttrs`; returns dx with shape `attrs.inputShape`.
 */
export const conv2dBackpropInputWasm: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  if (dy === undefined || filter === undefined || attrs === undefined) {
    throw new Error('Conv2DBackpropInput (wasm): expected inputs {dy, filter} and attrs');
  }
  const a = attrs as unknown as Conv2DBackpropInputAttrs;
  if (a.dataFormat !== 'NCHW') {
    const convInfo = backend_util.computeConv2DInfo(
      a.inputShape,
      dims4(filter),
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      false,
      'channelsLast',
    );
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = convInfo;
    const { top: padTop, left: padLeft } = convInfo.padInfo;
    const [, h, w] = a.inputShape;
    const [, ho, wo] = dims4(dy);
    const ops = new WasmOps(asWasmBackend(backend));
    if (kh === sh && kw === sw && padTop === 0 && padLeft === 0) {
      return nonOverlappingInputGrad(ops, dy, filter, a.inputShape);
    }
    if (sh === 1 && sw === 1) {
      const top = kh - 1 - padTop;
      const left = kw - 1 - padLeft;
      const bottom = h + kh - 1 - ho - top;
      const right = w + kw - 1 - wo - left;
      if (top >= 0 && left >= 0 && bottom >= 0 && right >= 0) {
        return stride1InputGrad(ops, dy, filter, [top, bottom, left, right]);
      }
    }
  }
  if (originalKernel === undefined) {
    throw new Error('Conv2DBackpropInput (wasm): case not handled and the original wasm kernel is unavailable');
  }
  return originalKernel.kernelFunc(args);
};

/** kernel == stride, no top/left pad: one matMul, then depth-to-space. */
function nonOverlappingInputGrad(
  ops: WasmOps,
  dy: TensorInfo,
  filter: TensorInfo,
  inputShape: [number, number, number, number],
): TensorInfo {
  const [kh, kw, cin, cout] = dims4(filter);
  const [b, ho, wo] = dims4(dy);
  const [, h, w] = inputShape;
  const fT = ops.transpose(filter, [3, 0, 1, 2]); // [Cout, kh, kw, Cin]
  const f2 = ops.reshape(fT, [cout, kh * kw * cin]);
  ops.free(fT);
  const dy2 = ops.reshape(dy, [b * ho * wo, cout]);
  const prod = ops.matMul2d(dy2, f2); // [B*Ho*Wo, kh*kw*Cin]
  ops.free(dy2, f2);
  // [B*Ho, Wo, kh, kw*Cin] -> [B*Ho, kh, Wo, kw*Cin] = [B, Ho*kh, Wo*kw, Cin]
  const p4 = ops.reshape(prod, [b * ho, wo, kh, kw * cin]);
  ops.free(prod);
  const t = ops.transpose(p4, [0, 2, 1, 3]);
  ops.free(p4);
  const img = ops.reshape(t, [b, ho * kh, wo * kw, cin]);
  ops.free(t);
  const out = ops.fitBottomRight(img, h, w);
  if (out !== img) ops.free(img);
  return out;
}

/** stride 1: Conv2D of dy with the spatially flipped, in/out-swapped filter. */
function stride1InputGrad(
  ops: WasmOps,
  dy: TensorInfo,
  filter: TensorInfo,
  [top, bottom, left, right]: [number, number, number, number],
): TensorInfo {
  // Flipping both spatial axes of [kh, kw, ...] is reversing the kh*kw axis of
  // [kh*kw, ...]: [kh, kw, Cin, Cout] -> [kh*kw, Cout, Cin] -> reversed.
  const [kh, kw, cin, cout] = dims4(filter);
  const f3 = ops.reshape(filter, [kh * kw, cin, cout]);
  const fT = ops.transpose(f3, [0, 2, 1]);
  ops.free(f3);
  const flipped = ops.reverseAxis0(fT);
  ops.free(fT);
  const swapped = ops.reshape(flipped, [kh, kw, cout, cin]);
  ops.free(flipped);
  const out = ops.conv2d(
    dy,
    swapped,
    [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    [1, 1],
  );
  ops.free(swapped);
  return out;
}

/**
 * Replace the wasm backend's own kernel with this one (keeping it as the
 * fallback, see `replaceWasmKernel`); idempotent.
 */
export function registerConv2DBackpropInputWasm(): void {
  originalKernel = replaceWasmKernel(CONV2D_BACKPROP_INPUT, conv2dBackpropInputWasm);
}
