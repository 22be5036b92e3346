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
 * - otherwise (stride 1, e.g. the 3x3 'same' convs, and any other stride): the
 *   transposed patch matrix [kh*kw*Cin, B*Ho*Wo] is written by a plain loop on
 *   the wasm heap from x transposed to [Cin, B, H, W] (sequential copies, zeros
 *   for padding), then one plain matMul with dy [B*Ho*Wo, Cout] gives the
 *   gradient in [kh, kw, Cin, Cout] order. (An earlier version ran one wasm
 *   Conv2D with x as [Cin, H, W, B] images and dy as the filter; the patch
 *   matrix + matMul is ~1.5x faster on the reference CAE's layers.)
 *   (Building and multiplying it a few images at a time, to keep it in cache,
 *   measured no faster in training steps: ~4x more matMul calls, each packing
 *   its dy rows.)
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
  return im2colFilterGrad(ops, x, dy, g);
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

/**
 * Any stride/padding: the transposed patch matrix P^T [kh*kw*Cin, B*Ho*Wo]
 * (rows ordered (i, j, c), zeros where a window reads padding), then one plain
 * matMul P^T x dy [B*Ho*Wo, Cout], which is the gradient in [kh, kw, Cin, Cout]
 * order already. P^T is written by a plain loop on the wasm heap from x
 * transposed to [Cin, B, H, W], so every row segment is a sequential copy.
 */
function im2colFilterGrad(ops: WasmOps, x: TensorInfo, dy: TensorInfo, g: Geometry): TensorInfo {
  const { kh, kw, sh, sw } = g;
  const [b, h, w, cin] = dims4(x);
  const [, ho, wo, cout] = dims4(dy);
  const n = b * ho * wo;
  const xT = cin === 1 ? ops.reshape(x, [1, b, h, w]) : ops.transpose(x, [3, 0, 1, 2]);
  const patches = ops.backend.makeOutput([kh * kw * cin, n], 'float32');
  // Views are taken after makeOutput, which may grow (and move) the heap.
  const xv = ops.backend.typedArrayFromHeap(xT) as Float32Array;
  const pv = ops.backend.typedArrayFromHeap(patches) as Float32Array;
  if (sh === 1 && sw === 1 && ho === h && wo === w) {
    shiftedPatchRows(xv, pv, g, b, h, w, cin);
  } else {
    generalPatchRows(xv, pv, g, b, h, w, cin, ho, wo);
  }
  ops.free(xT);
  const dy2 = ops.reshape(dy, [n, cout]);
  const prod = ops.matMul2d(patches, dy2);
  ops.free(patches, dy2);
  const out = ops.reshape(prod, [kh, kw, cin, cout]);
  ops.free(prod);
  return out;
}

/**
 * Stride 1, output the size of the input ('same'): row (i, j, c) of P^T is the
 * block of image planes xT[c, 0 .. B) (contiguous) shifted by the constant
 * flat offset (i - padTop) * W + (j - padLeft): ONE block copy per row, then zeros
 * where a window reads outside its image (rows at the top/bottom and columns at
 * the left/right of every image, which the block shift filled from the
 * neighbouring row or image). Per-image copies cost ~B*Cin*9 typed-array calls,
 * which dominated for the small deep layers (4x4, 8x8 planes).
 */
function shiftedPatchRows(
  xv: Float32Array,
  pv: Float32Array,
  g: Geometry,
  b: number,
  h: number,
  w: number,
  cin: number,
): void {
  const { kh, kw, padTop, padLeft } = g;
  const hw = h * w;
  const n = b * hw;
  for (let i = 0; i < kh; i++) {
    const dyOff = i - padTop; // input row = oy + dyOff
    const rowLo = Math.max(0, Math.min(h, -dyOff));
    const rowHi = Math.max(rowLo, Math.min(h, h - dyOff));
    for (let j = 0; j < kw; j++) {
      const dxOff = j - padLeft; // input col = ox + dxOff
      const colLo = Math.max(0, Math.min(w, -dxOff));
      const colHi = Math.max(colLo, Math.min(w, w - dxOff));
      const d = dyOff * w + dxOff;
      // Positions t whose source t + d lies inside the block; the rest are zeroed below.
      const lo = Math.min(n, Math.max(0, -d));
      const hi = Math.max(lo, Math.min(n, n - d));
      for (let c = 0; c < cin; c++) {
        const dst = ((i * kw + j) * cin + c) * n;
        const src = c * n;
        if (lo < hi) pv.set(xv.subarray(src + lo + d, src + hi + d), dst + lo);
        if (lo > 0) pv.fill(0, dst, dst + lo);
        if (hi < n) pv.fill(0, dst + hi, dst + n);
        if (rowLo === 0 && rowHi === h && colLo === 0 && colHi === w) continue;
        for (let base = dst; base < dst + n; base += hw) {
          for (let t = base; t < base + rowLo * w; t++) pv[t] = 0;
          for (let t = base + rowHi * w; t < base + hw; t++) pv[t] = 0;
          if (colLo > 0 || colHi < w) {
            for (let r = base + rowLo * w; r < base + rowHi * w; r += w) {
              for (let t = r; t < r + colLo; t++) pv[t] = 0;
              for (let t = r + colHi; t < r + w; t++) pv[t] = 0;
            }
          }
        }
      }
    }
  }
}

/** Any stride/padding: P^T row segments copied one output row at a time. */
function generalPatchRows(
  xv: Float32Array,
  pv: Float32Array,
  g: Geometry,
  b: number,
  h: number,
  w: number,
  cin: number,
  ho: number,
  wo: number,
): void {
  const { kh, kw, sh, sw, padTop, padLeft } = g;
  const n = b * ho * wo;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      // Output columns whose input column ox*sw + j - padLeft lies inside [0, w).
      const oxMin = Math.max(0, Math.ceil((padLeft - j) / sw));
      const oxMax = Math.max(oxMin, Math.min(wo, Math.floor((w - 1 + padLeft - j) / sw) + 1));
      for (let c = 0; c < cin; c++) {
        let row = ((i * kw + j) * cin + c) * n;
        for (let bb = 0; bb < b; bb++) {
          for (let oy = 0; oy < ho; oy++, row += wo) {
            const iy = oy * sh + i - padTop;
            if (iy < 0 || iy >= h || oxMin === oxMax) {
              pv.fill(0, row, row + wo);
              continue;
            }
            for (let ox = 0; ox < oxMin; ox++) pv[row + ox] = 0;
            for (let ox = oxMax; ox < wo; ox++) pv[row + ox] = 0;
            let src = ((c * b + bb) * h + iy) * w + oxMin * sw + j - padLeft;
            if (sw === 1) {
              for (let ox = oxMin; ox < oxMax; ox++) pv[row + ox] = xv[src++] as number;
            } else {
              for (let ox = oxMin; ox < oxMax; ox++, src += sw) pv[row + ox] = xv[src] as number;
            }
          }
        }
      }
    }
  }
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
