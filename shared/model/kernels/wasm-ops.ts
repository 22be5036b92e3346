/**
 * Thin, typed wrappers that call the wasm backend's OWN kernel functions
 * (Transpose, PadV2, Conv2D, BatchMatMul, Reshape, Slice) directly on
 * TensorInfos, so the training kernels in this folder can be composed from
 * fast XNNPACK-backed primitives without going through the engine.
 *
 * Why this exists: kernels run inside the engine, so they must not create
 * `tf.Tensor`s or use `tf.tidy` (a tidy frees the kernel's input TensorInfos
 * when it ends, which corrupted model weights in an earlier attempt). Instead
 * every intermediate is a raw TensorInfo owned by `WasmOps` and freed with
 * `backend.disposeData(dataId)`. The kernel's inputs are never freed: the
 * only operation applied to them is a call that reads them (Reshape only
 * bumps their refCount, which the matching `free` gives back).
 * Never write into an existing tensor's memory (only into outputs just made
 * with `makeOutput`): besides tensors sharing data (Reshape, Identity), the wasm
 * backend caches XNNPACK operators, with the weights packed at creation, by the
 * tensor id of a Conv2D filter and of a BatchMatMul right operand, so rewritten
 * weights would be silently ignored. For the same reason such an operand must be
 * a fresh tensor whenever its values are new.
 * One helper, `reverseAxis0`, copies blocks on the wasm heap itself
 * (`makeOutput` + `typedArrayFromHeap`, as the backend's own Slice kernel
 * does) because the backend's Reverse kernel is ~20x slower.
 */
import {
  getKernel,
  registerKernel,
  unregisterKernel,
  type DataId,
  type DataType,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/** The part of `BackendWasm` these kernels rely on. */
export interface WasmBackendLike {
  disposeData(dataId: DataId, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Narrow the untyped `backend` a KernelFunc receives. */
export function asWasmBackend(backend: unknown): WasmBackendLike {
  const b = backend as Partial<Record<keyof WasmBackendLike, unknown>> | null;
  if (
    typeof b !== 'object' ||
    b === null ||
    typeof b.disposeData !== 'function' ||
    typeof b.makeOutput !== 'function' ||
    typeof b.typedArrayFromHeap !== 'function'
  ) {
    throw new Error('imgsim wasm kernels: backend lacks disposeData/makeOutput/typedArrayFromHeap; not the wasm backend?');
  }
  return backend as WasmBackendLike;
}

/** Explicit NHWC padding in the form `computeConv2DInfo` accepts. */
export type Padding4 = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Runs wasm-backend kernel functions on TensorInfos. Every result returned by
 * a method is a new TensorInfo the caller owns and must `free` (or return as
 * the kernel output).
 */
export class WasmOps {
  constructor(readonly backend: WasmBackendLike) {}

  private run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap): TensorInfo {
    const config = getKernel(kernelName, 'wasm') as ReturnType<typeof getKernel> | undefined;
    if (config === undefined) {
      throw new Error(
        `imgsim wasm kernels: wasm kernel '${kernelName}' is not registered; ` +
          `import '@tensorflow/tfjs-backend-wasm' first`,
      );
    }
    const out = config.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) {
      throw new Error(`imgsim wasm kernels: '${kernelName}' returned several outputs`);
    }
    return out;
  }

  /** Release an intermediate this class returned. Never call it on a kernel input. */
  free(...infos: TensorInfo[]): void {
    for (const info of infos) this.backend.disposeData(info.dataId);
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  pad(x: TensorInfo, paddings: Array<[number, number]>): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  /**
   * Reverse the order along axis 0 by copying whole contiguous blocks on the
   * wasm heap. (The backend's Reverse/GatherV2 kernels take ~20 ms on a
   * 3x3x128x256 filter; this takes well under 1 ms.)
   */
  reverseAxis0(x: TensorInfo): TensorInfo {
    const n = x.shape[0] ?? 1;
    const out = this.backend.makeOutput(x.shape, x.dtype);
    // Views are taken after makeOutput, which may grow (and move) the heap.
    const src = this.backend.typedArrayFromHeap(x);
    const dst = this.backend.typedArrayFromHeap(out);
    const block = n > 0 ? src.length / n : 0;
    for (let i = 0; i < n; i++) {
      dst.set(src.subarray(i * block, (i + 1) * block), (n - 1 - i) * block);
    }
    return out;
  }

  /** NHWC conv, stride 1, with the given dilation and explicit padding. */
  conv2d(x: TensorInfo, filter: TensorInfo, pad: Padding4, dilations: [number, number]): TensorInfo {
    return this.run('Conv2D', { x, filter }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations });
  }

  /** Plain (non-transposed) matrix product of 2-D [M,K] x [K,N] -> [M,N]. */
  matMul2d(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  }

  /**
   * Make `x` ([B,H,W,C]) exactly `rows` x `cols` by slicing off or zero-padding
   * at the bottom/right. Returns `x` itself (not a copy) when nothing changes:
   * compare with `===` before freeing.
   */
  fitBottomRight(x: TensorInfo, rows: number, cols: number): TensorInfo {
    const [b, h, w, c] = dims4(x);
    let cur = x;
    if (h > rows || w > cols) {
      cur = this.slice(x, [0, 0, 0, 0], [b, Math.min(h, rows), Math.min(w, cols), c]);
    }
    const [, h2, w2] = dims4(cur);
    if (h2 < rows || w2 < cols) {
      const padded = this.pad(cur, [[0, 0], [0, rows - h2], [0, cols - w2], [0, 0]]);
      if (cur !== x) this.free(cur);
      cur = padded;
    }
    return cur;
  }
}

/** Shape of a rank-4 TensorInfo as a tuple (throws on other ranks). */
export function dims4(x: TensorInfo): [number, number, number, number] {
  const [a, b, c, d] = x.shape;
  if (x.shape.length !== 4 || a === undefined || b === undefined || c === undefined || d === undefined) {
    throw new Error(`imgsim wasm kernels: expected a rank-4 tensor, got shape [${x.shape.join(',')}]`);
  }
  return [a, b, c, d];
}

/** The wasm kernels replaced by `replaceWasmKernel`, by kernel name. */
const replacedWasmKernels = new Map<string, KernelConfig | undefined>();

/**
 * Register `kernelFunc` as the wasm backend's `kernelName` kernel in place of
 * the one registered before (unregistered first, which avoids tfjs's "already
 * registered" warning; its setupFunc and disposeFunc are kept so it still gets
 * initialised); idempotent. Returns the replaced kernel, the caller's fallback.
 */
export function replaceWasmKernel(kernelName: string, kernelFunc: KernelFunc): KernelConfig | undefined {
  const existing = getKernel(kernelName, 'wasm') as KernelConfig | undefined;
  if (existing?.kernelFunc === kernelFunc) return replacedWasmKernels.get(kernelName);
  replacedWasmKernels.set(kernelName, existing);
  if (existing !== undefined) unregisterKernel(kernelName, 'wasm');
  registerKernel({
    kernelName,
    backendName: 'wasm',
    kernelFunc,
    setupFunc: existing?.setupFunc,
    disposeFunc: existing?.disposeFunc,
  });
  return existing;
}
