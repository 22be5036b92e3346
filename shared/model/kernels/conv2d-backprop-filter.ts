/**
 * `Conv2DBackpropFilter` kernel for the TensorFlow.js wasm backend.
 *
 * Why it is written here: @tensorflow/tfjs-backend-wasm 4.22 ships no
 * `Conv2DBackpropFilter` kernel at all, so computing the gradient of a conv2d
 * (or conv2dTranspose) w.r.t. its filter throws on wasm, i.e. no conv model can
 * train there; no maintained package provides one. This kernel is composed
 * from the wasm backend's own XNNPACK-backed kernels (see `wasm-ops.ts`), which
 * is far faster than a naive loop, and never touches the kernel's inputs
 * beyond reading them.
 *
 * dW[i,j,c,o] = sum_{b,y,x} xpad[b, y*sh + i, x*sw + j, c] * dy[b, y, x, o]
 *
 * - kernel == stride, no top/left padding (the 2x2/2 conv2dTranspose layers):
 *   the windows do not overlap, so the patches are a pure reshape+transpose of
 *   x and the whole gradient is one plain matMul
 *   [kh*kw*Cin, B*Ho*Wo] x [B*Ho*Wo, Cout] (no transposed operands: matMul with
 *   transposeA is ~20x slower on wasm).
 * - otherwise (stride 1, e.g. the 3x3 'same' convs, and any other stride): one
 *   wasm Conv2D that treats x as Cin images of B channels ([Cin, H, W, B]) and
 *   dy as the filter ([Ho, Wo, B, Cout]), with the conv's padding as explicit
 *   padding and the stride as the dilation; its [Cin, kh, kw, Cout] output is
 *   transposed to [kh, kw, Cin, Cout].
 *
 * Handles any stride, kernel size, padding ('same', 'valid', a number, or
 * explicit), NHWC and NCHW (NCHW is transposed to NHWC first); dilation 1 only
 * (as in tfjs-core's conv2d gradient).
 */
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

import { WasmOps, asWasmBackend, dims4 } from './wasm-ops.js';

export const CONV2D_BACKPROP_FILTER = 'Conv2DBackpropFilter';

/** Filter/stride/padding geometry of the forward conv, NHWC. */
interface Geometry {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
}

/**
 * The wasm `Conv2DBackpropFilter` kernel function: inputs `{x, dy}`, attrs
 * `Conv2DBackpropFilterAttrs`; returns the filter gradient [kh, kw, Cin, Cout].
 */
export const conv2dBackpropFilterWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const ops = new WasmOps(asWasmBackend(backend));
  const { x, dy } = inputs;
  if (x === undefined || dy === undefined || attrs === undefined) {
    throw new Error('Conv2DBackpropFilter (wasm): expected inputs {x, dy} and attrs');
  }
  const a = attrs as unknown as Conv2DBackpropFilterAttrs;
  const channelsLast = a.dataFormat !== 'NCHW';
  const convInfo = backend_util.computeConv2DInfo(
    dims4(x),
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    channelsLast ? 'channelsLast' : 'channelsFirst',
  );
  const geometry: Geometry = {
    kh: convInfo.filterHeight,
    kw: convInfo.filterWidth,
    sh: convInfo.strideHeight,
    sw: convInfo.strideWidth,
    padTop: convInfo.padInfo.top,
    padLeft: convInfo.padInfo.left,
  };
  const xN = channelsLast ? x : ops.transpose(x, [0, 2, 3, 1]);
  const dyN = channelsLast ? dy : ops.transpose(dy, [0, 2, 3, 1]);
  try {
    return filterGradNHWC(ops, xN, dyN, geometry);
  } finally {
    if (!channelsLast) ops.free(xN, dyN);
  }
};

function filterGradNHWC(ops: WasmOps, x: TensorInfo, dy: TensorInfo, g: Geometry): TensorInfo {
  const { kh, kw, sh, sw, padTop, padLeft } = g;
  if (kh === sh && kw === sw && padTop === 0 && padLeft === 0) {
    return nonOverlappingFilterGrad(ops, x, dy, g);
  }
  return convFilterGrad(ops, x, dy, g);
}

/** kernel == stride, no top/left pad: patches by reshape+transpose, one matMul. */
function nonOverlappingFilterGrad(ops: WasmOps, x: TensorInfo, dy: TensorInfo, g: Geometry): TensorInfo {
  const { kh, kw } = g;
  const [b, , , cin] = dims4(x);
  const [, ho, wo, cout] = dims4(dy);
  // Rows/cols beyond the last window are cut off; missing ones (bottom/right
  // padding) are zeros.
  const xFit = ops.fitBottomRight(x, ho * kh, wo * kw);
  // [B*Ho, kh, Wo, kw*Cin] -> [kh, kw*Cin, B*Ho, Wo] = patches [kh*kw*Cin, B*Ho*Wo]
  const x4 = ops.reshape(xFit, [b * ho, kh, wo, kw * cin]);
  if (xFit !== x) ops.free(xFit);
  const xT = ops.transpose(x4, [1, 3, 0, 2]);
  ops.free(x4);
  const patches = ops.reshape(xT, [kh * kw * cin, b * ho * wo]);
  ops.free(xT);
  const dy2 = ops.reshape(dy, [b * ho * wo, cout]);
  const prod = ops.matMul2d(patches, dy2);
  ops.free(patches, dy2);
  const out = ops.reshape(prod, [kh, kw, cin, cout]);
  ops.free(prod);
  return out;
}

/** General case: one Conv2D with x as [Cin,H,W,B] images and dy as the filter. */
function convFilterGrad(ops: WasmOps, x: TensorInfo, dy: TensorInfo, g: Geometry): TensorInfo {
  const { kh, kw, sh, sw, padTop, padLeft } = g;
  const [, h, w, cin] = dims4(x);
  const [, ho, wo, cout] = dims4(dy);
  // Rows of (padded) x the forward conv reads: [-padTop, -padTop + needH).
  const padBottom = (ho - 1) * sh + kh - h - padTop;
  const padRight = (wo - 1) * sw + kw - w - padLeft;
  const xT = ops.transpose(x, [3, 1, 2, 0]); // [Cin, H, W, B]
  const dyT = ops.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, B, Cout]
  // A negative bottom/right pad means trailing rows/cols of x are never read:
  // pad by 0 instead and drop the extra output rows/cols below.
  const conv = ops.conv2d(
    xT,
    dyT,
    [
      [0, 0],
      [padTop, Math.max(0, padBottom)],
      [padLeft, Math.max(0, padRight)],
      [0, 0],
    ],
    [sh, sw],
  );
  ops.free(xT, dyT);
  let grad = conv; // [Cin, kh (+extra), kw (+extra), Cout]
  if (padBottom < 0 || padRight < 0) {
    grad = ops.slice(conv, [0, 0, 0, 0], [cin, kh, kw, cout]);
    ops.free(conv);
  }
  const out = ops.transpose(grad, [1, 2, 0, 3]);
  ops.free(grad);
  return out;
}

/** Register (or re-register) the kernel for the wasm backend; idempotent. */
export function registerConv2DBackpropFilterWasm(): void {
  const existing = getKernel(CONV2D_BACKPROP_FILTER, 'wasm') as KernelConfig | undefined;
  if (existing?.kernelFunc === conv2dBackpropFilterWasm) return;
  if (existing !== undefined) unregisterKernel(CONV2D_BACKPROP_FILTER, 'wasm');
  registerKernel({
    kernelName: CONV2D_BACKPROP_FILTER,
    backendName: 'wasm',
    kernelFunc: conv2dBackpropFilterWasm,
  });
}
