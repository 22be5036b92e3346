// OpenCV (WebAssembly build from @techstark/opencv-js 4.5.2), loaded lazily and once.
//
// Nothing happens at import time: the 7.6 MB module is imported and its wasm compiled
// on the first loadOpenCv() call (~0.2–0.7 s), and every later call gets the same
// instance. The package's default export is an Emscripten Module that may be a Promise
// or an object that becomes ready when `onRuntimeInitialized` fires. It also has a
// `then` method that hands over the module itself: awaiting it (or returning it from an
// async function) never settles, so it travels wrapped as `{ cv }` until it is ready and
// its `then` is removed.
//
// Memory: every cv.Mat / vector / algorithm object lives on the wasm heap and must be
// deleted explicitly. Callers use `withCvScope`, which deletes everything it tracked
// in a finally block. `liveCvObjects()` counts tracked objects not yet deleted, and
// `wasmHeapMark()` gives the address a large allocation would get now, which rises
// when memory leaks (tests use both).
//
// The types below are the small part of OpenCV's API this project uses; the package
// ships broad but loose types (mirada), so we declare what we rely on instead.

export interface CvDeletable {
  delete(): void;
}

export interface CvMat extends CvDeletable {
  rows: number;
  cols: number;
  data: Uint8Array;
  data32F: Float32Array;
  data64F: Float64Array;
  type(): number;
  empty(): boolean;
}

export interface CvKeyPoint {
  pt: { x: number; y: number };
  size: number;
  angle: number;
  response: number;
  octave: number;
  class_id: number;
}

export interface CvDMatch {
  queryIdx: number;
  trainIdx: number;
  imgIdx: number;
  distance: number;
}

export interface CvVector<T> extends CvDeletable {
  size(): number;
  get(i: number): T;
  push_back(value: T): void;
}

export interface CvOrb extends CvDeletable {
  detectAndCompute(image: CvMat, mask: CvMat, keypoints: CvVector<CvKeyPoint>, descriptors: CvMat, useProvidedKeypoints: boolean): void;
}

export interface CvBfMatcher extends CvDeletable {
  knnMatch(query: CvMat, train: CvMat, matches: CvVector<CvVector<CvDMatch>>, k: number): void;
}

export interface Cv {
  Mat: new (rows?: number, cols?: number, type?: number) => CvMat;
  KeyPointVector: new () => CvVector<CvKeyPoint>;
  DMatchVectorVector: new () => CvVector<CvVector<CvDMatch>>;
  ORB: new (
    nfeatures?: number,
    scaleFactor?: number,
    nlevels?: number,
    edgeThreshold?: number,
    firstLevel?: number,
    WTA_K?: number,
    scoreType?: number,
    patchSize?: number,
    fastThreshold?: number,
  ) => CvOrb;
  BFMatcher: new (normType: number, crossCheck: boolean) => CvBfMatcher;
  matFromArray(rows: number, cols: number, type: number, array: ArrayLike<number>): CvMat;
  findHomography(src: CvMat, dst: CvMat, method: number, ransacReprojThreshold: number, mask: CvMat): CvMat;
  /** A 2 × 3 affine transform (CV_64F) by RANSAC; `inliers` gets one byte a point. */
  estimateAffine2D(from: CvMat, to: CvMat, inliers: CvMat, method: number, ransacReprojThreshold: number, maxIters: number, confidence: number, refineIters: number): CvMat;
  CV_8U: number;
  CV_8UC1: number;
  CV_32FC2: number;
  NORM_HAMMING: number;
  RANSAC: number;
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

let loading: Promise<{ cv: Cv }> | undefined;
let live = 0;

/** The OpenCV module, loaded on first use (the same instance afterwards). */
export async function loadOpenCv(): Promise<Cv> {
  loading ??= importOpenCv().catch((error: unknown) => {
    loading = undefined; // let a later call try again
    throw error;
  });
  return (await loading).cv;
}

async function importOpenCv(): Promise<{ cv: Cv }> {
  // The module registers process-wide 'uncaughtException' and 'unhandledRejection'
  // (abort) handlers when it loads; keep the process's own error handling instead.
  const events = ['uncaughtException', 'unhandledRejection'];
  const emitter = process as unknown as NodeJS.EventEmitter;
  const before = new Set<unknown>(events.flatMap((e) => emitter.listeners(e)));
  const imported = (await import('@techstark/opencv-js')) as unknown as { default: unknown };
  for (const event of events) {
    for (const listener of emitter.listeners(event)) {
      if (!before.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  let module: unknown = imported.default;
  if (module instanceof Promise) module = await (module as Promise<unknown>);
  const emscripten = module as Partial<Cv> & { then?: (ready: (m: Cv) => void) => unknown; onRuntimeInitialized?: () => void };
  if (typeof emscripten.Mat === 'function') return { cv: notThenable(emscripten as Cv) };
  // Not initialised yet. Wait through the module's own then() when it has one: under
  // some ESM/CJS interop layers (tsx) the default export is a copy of the module
  // object, so a callback set on it would never fire, while then() hands over the
  // real module.
  return new Promise<{ cv: Cv }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('OpenCV (opencv-js) did not initialise within 60 s')), 60_000);
    const ready = (cv: Cv): void => {
      clearTimeout(timer);
      resolve({ cv: notThenable(cv) });
    };
    if (typeof emscripten.then === 'function') emscripten.then(ready);
    else emscripten.onRuntimeInitialized = () => ready(emscripten as Cv);
  });
}

/**
 * Emscripten's Module.then(cb) calls cb(Module) — and Module is itself thenable, so
 * resolving a promise with it (returning it from an async function) loops forever in
 * microtasks. Once the module is ready, `then` has no use left: remove it.
 */
function notThenable(cv: Cv): Cv {
  delete (cv as Partial<Record<'then', unknown>>).then;
  return cv;
}

/** Tracks OpenCV objects created inside a scope; all of them are deleted when it ends. */
export class CvScope {
  private readonly owned: CvDeletable[] = [];

  track<T extends CvDeletable>(obj: T): T {
    this.owned.push(obj);
    live++;
    return obj;
  }

  /** Deletes every tracked object (newest first); safe to call twice. */
  close(): void {
    while (this.owned.length > 0) {
      const obj = this.owned.pop() as CvDeletable;
      live--;
      try {
        obj.delete();
      } catch {
        // already deleted (e.g. by OpenCV itself): nothing left to free
      }
    }
  }
}

/** Runs `fn` with a scope whose objects are deleted afterwards, even when it throws. */
export function withCvScope<T>(fn: (scope: CvScope) => T): T {
  const scope = new CvScope();
  try {
    return fn(scope);
  } finally {
    scope.close();
  }
}

/** Tracked OpenCV objects not deleted yet (0 between calls unless something leaks). */
export function liveCvObjects(): number {
  return live;
}

/** Where a 4 MiB allocation would land now: grows when wasm memory is leaked (for tests). */
export function wasmHeapMark(cv: Cv): number {
  const ptr = cv._malloc(4 << 20);
  cv._free(ptr);
  return ptr;
}
