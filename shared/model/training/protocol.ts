// Messages between the data-parallel trainer (data-parallel.ts, main thread) and
// its gradient workers (worker.ts). Weights go main → workers through one
// SharedArrayBuffer (written before every step, read by every worker); each worker
// writes its gradients into its own SharedArrayBuffer. Both are the trainable
// variables' values concatenated in the trainer's variable order, float32.

/** Main → worker, once: build the replica. */
export interface InitMessage {
  type: 'init';
  /** tfjs backend to run on ('wasm', 'cpu', 'tensorflow', …): the main thread's. */
  backend: string;
  /** `LayersModel.toJSON(null, false)` of the encoder and decoder (topology only). */
  encoderJson: unknown;
  decoderJson: unknown;
  /** Shapes of the trainable variables, in order; checked against the replica's. */
  shapes: number[][];
  weights: SharedArrayBuffer;
  grads: SharedArrayBuffer;
}

/** Main → worker, per step: compute the gradient of the mean loss over this shard. */
export interface StepMessage {
  type: 'step';
  /** NHWC float32, `count` images of inputShape / targetShape (per image, [h, w, c]). */
  input: Float32Array;
  target: Float32Array;
  count: number;
  inputShape: [number, number, number];
  targetShape: [number, number, number];
}

export interface CloseMessage {
  type: 'close';
}

export type ToWorker = InitMessage | StepMessage | CloseMessage;

export type FromWorker =
  | { type: 'ready' }
  /** Gradients are in the worker's grads buffer; loss is the shard's mean loss. */
  | { type: 'done'; loss: number; numTensors: number }
  | { type: 'error'; message: string; stack?: string };
