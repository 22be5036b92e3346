/**
 * Faster `MaxPoolGrad` kernel for the TensorFlow.js wasm backend.
 *
 * Why it is written here: the kernel shipped in @tensorflow/tfjs-backend-wasm
 * 4.22 is a scalar loop that took ~75-135 ms per training step of the
 * reference CAE (64x64, batch 32), about a sixth of the step. The gradient of
 * a max pool is a scatter: each dy value goes to the position of its window's
 * maximum. This kernel does that in plain JavaScript directly on the wasm
 * heap (the inputs and the output are Float32Array views of the backend's
 * memory, as the backend's own Slice kernel does), a few milliseconds.
 *
 * Semantics match the cpu backend (tfjs-backend-cpu `maxPoolGrad` /
 * `maxPoolPositions`): the window is scanned row by row, a value becomes the
 * maximum only if it is strictly greater than the maximum so far (starting at
 * -Infinity), so with ties the gradient goes to the FIRST maximal position; NaN
 * never becomes the maximum, and a window without any value > -Infinity sends
 * its gradient nowhere. Where windows overlap, a position collects the sum of
 * the dy of every window whose maximum it is.
 *
 * - kernel == stride, no padding inside the input (the 2x2/2 'valid' pools of
 *   the model factories): windows do not overlap, every dx value is written once (zero or
 *   one dy value); 2x2 has its own unrolled loop.
 * - any other window/stride/padding: a general scatter-add loop (dilation is
 *   always 1 for MaxPoolGrad).
 * - non-float32 inputs: the original wasm kernel, saved at registration.
 */
import {
  backend_util,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
} from '@tensorflow/tfjs-core';

import { asWasmBackend, dims4, replaceWasmKernel } from './wasm-ops.js';

export const MAX_POOL_GRAD = 'MaxPoolGrad';

let originalKernel: KernelConfig | undefined;

/** Pool geometry, NHWC. */
interface PoolGeometry {
  b: number;
  h: number;
  w: number;
  c: number;
  ho: number;
  wo: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
}

/**
 * The wasm `MaxPoolGrad` kernel function: inputs `{dy, input, output}`, attrs
 * `MaxPoolGradAttrs`; returns dx with the shape of `input`.
 */
export const maxPoolGradWasm: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const { dy, input } = inputs;
  if (dy === undefined || input === undefined || attrs === undefined) {
    throw new Error('MaxPoolGrad (wasm): expected inputs {dy, input} and attrs');
  }
  if (input.dtype !== 'float32' || dy.dtype !== 'float32') {
    if (originalKernel === undefined) throw new Error('MaxPoolGrad (wasm): non-float32 input and no original kernel');
    return originalKernel.kernelFunc(args);
  }
  const a = attrs as unknown as MaxPoolGradAttrs;
  const info = backend_util.computePool2DInfo(dims4(input), a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const g: PoolGeometry = {
    b: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    ho: info.outHeight,
    wo: info.outWidth,
    kh: info.effectiveFilterHeight,
    kw: info.effectiveFilterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
  const wasm = asWasmBackend(backend);
  const dx = wasm.makeOutput(input.shape, 'float32');
  // Views are taken after makeOutput, which may grow (and move) the heap.
  const xv = wasm.typedArrayFromHeap(input) as Float32Array;
  const dyv = wasm.typedArrayFromHeap(dy) as Float32Array;
  const dxv = wasm.typedArrayFromHeap(dx) as Float32Array;
  const nonOverlapping = g.kh === g.sh && g.kw === g.sw && g.padTop === 0 && g.padLeft === 0;
  if (nonOverlapping && g.ho * g.kh <= g.h && g.wo * g.kw <= g.w) {
    if (g.ho * g.kh !== g.h || g.wo * g.kw !== g.w) dxv.fill(0); // rows/cols no window covers
    if (g.kh === 2 && g.kw === 2) scatter2x2(xv, dyv, dxv, g);
    else scatterNonOverlapping(xv, dyv, dxv, g);
  } else {
    dxv.fill(0);
    scatterGeneral(xv, dyv, dxv, g);
  }
  return dx;
};

/** 2x2 windows, stride 2, no padding: each dx value written exactly once. */
function scatter2x2(x: Float32Array, dy: Float32Array, dx: Float32Array, g: PoolGeometry): void {
  const { b, h, w, c, ho, wo } = g;
  const row = w * c;
  for (let n = 0; n < b; n++) {
    for (let oy = 0; oy < ho; oy++) {
      let dyAt = ((n * ho + oy) * wo) * c;
      let p0 = ((n * h + 2 * oy) * w) * c; // top-left of the first window of this row
      for (let ox = 0; ox < wo; ox++) {
        const p1 = p0 + c;
        const p2 = p0 + row;
        const p3 = p2 + c;
        for (let ch = 0; ch < c; ch++) {
          const v0 = x[p0 + ch] as number;
          const v1 = x[p1 + ch] as number;
          const v2 = x[p2 + ch] as number;
          const v3 = x[p3 + ch] as number;
          let m = -Infinity;
          let pos = -1;
          if (v0 > m) {
            m = v0;
            pos = 0;
          }
          if (v1 > m) {
            m = v1;
            pos = 1;
          }
          if (v2 > m) {
            m = v2;
            pos = 2;
          }
          if (v3 > m) pos = 3;
          const d = dy[dyAt + ch] as number;
          dx[p0 + ch] = pos === 0 ? d : 0;
          dx[p1 + ch] = pos === 1 ? d : 0;
          dx[p2 + ch] = pos === 2 ? d : 0;
          dx[p3 + ch] = pos === 3 ? d : 0;
        }
        p0 += 2 * c;
        dyAt += c;
      }
    }
  }
}

/** kh x kw windows with stride (kh, kw), no padding: each covered dx value written once. */
function scatterNonOverlapping(x: Float32Array, dy: Float32Array, dx: Float32Array, g: PoolGeometry): void {
  const { b, h, w, c, ho, wo, kh, kw } = g;
  for (let n = 0; n < b; n++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        const dyAt = ((n * ho + oy) * wo + ox) * c;
        const corner = ((n * h + oy * kh) * w + ox * kw) * c;
        for (let ch = 0; ch < c; ch++) {
          let m = -Infinity;
          let best = -1;
          for (let i = 0; i < kh; i++) {
            for (let j = 0; j < kw; j++) {
              const p = corner + (i * w + j) * c + ch;
              const v = x[p] as number;
              dx[p] = 0;
              if (v > m) {
                m = v;
                best = p;
              }
            }
          }
          if (best >= 0) dx[best] = dy[dyAt + ch] as number;
        }
      }
    }
  }
}

/** Any window, stride and padding (dilation 1): scatter-add into a zeroed dx. */
function scatterGeneral(x: Float32Array, dy: Float32Array, dx: Float32Array, g: PoolGeometry): void {
  const { b, h, w, c, ho, wo, kh, kw, sh, sw, padTop, padLeft } = g;
  for (let n = 0; n < b; n++) {
    for (let oy = 0; oy < ho; oy++) {
      const y0 = oy * sh - padTop;
      const yMin = Math.max(0, y0);
      const yMax = Math.min(h, y0 + kh);
      for (let ox = 0; ox < wo; ox++) {
        const x0 = ox * sw - padLeft;
        const xMin = Math.max(0, x0);
        const xMax = Math.min(w, x0 + kw);
        const dyAt = ((n * ho + oy) * wo + ox) * c;
        for (let ch = 0; ch < c; ch++) {
          let m = -Infinity;
          let best = -1;
          for (let yy = yMin; yy < yMax; yy++) {
            for (let xx = xMin; xx < xMax; xx++) {
              const p = ((n * h + yy) * w + xx) * c + ch;
              const v = x[p] as number;
              if (v > m) {
                m = v;
                best = p;
              }
            }
          }
          if (best >= 0) dx[best] = (dx[best] as number) + (dy[dyAt + ch] as number);
        }
      }
    }
  }
}

/**
 * Replace the wasm backend's own kernel with this one (keeping it as the
 * fallback for non-float32 inputs); idempotent.
 */
export function registerMaxPoolGradWasm(): void {
  originalKernel = replaceWasmKernel(MAX_POOL_GRAD, maxPoolGradWasm);
}
