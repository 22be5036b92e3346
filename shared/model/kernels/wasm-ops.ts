/**
 * Thin, typed wrappers that call the wasm backend's OWN kernel functions
 * (Transpose, PadV2, Conv2D, BatchMatMul, Reshape, Reverse, Slice) directly on
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
 */
import {
  getKernel,
  type DataId,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/** The part of `BackendWasm` these kernels rely on. */
export interface WasmBackendLike {
  disposeData(dataId: DataId, force?: boolean): boolean;
}

/** Narrow the untyped `backend` a KernelFunc receives. */
export function asWasmBackend(backend: unknown): WasmBackendLike {
  if (
    typeof backend !== 'object' ||
    backend === null ||
    typeof (backend as { disposeData?: unknown }).disposeData !== 'function'
  ) {
    throw new Error('imgsim wasm kernels: backend has no disposeData(); not the wasm backend?');
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

  reverse(x: TensorInfo, dims: number[]): TensorInfo {
    return this.run('Reverse', { x }, { dims });
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
