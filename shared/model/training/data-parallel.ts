// Data-parallel training step for single-threaded tfjs backends (wasm, cpu): the
// batch is split into `threads` shards; the main thread computes the gradient of
// its shard while `threads - 1` worker threads (worker.ts, each with its own
// backend instance and a replica of the model) compute theirs; the gradients are
// averaged with weights shardSize / batchSize — exactly the gradient of the mean
// loss over the whole batch — and the optimizer (Adam, with its state) is applied
// once, on the main thread, whose variables stay the only source of truth. Before
// every step the main thread writes the current weights into a SharedArrayBuffer
// that the workers read; each worker writes its gradients into its own one.
//
// The result equals single-thread training on the same batches up to float
// rounding (test/unit/model/training/train-parallel.test.ts). Workers are terminated
// by close(), which the trainer calls in a finally block; a worker that fails or
// exits rejects the pending step.
import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { spawnModuleThread } from '../../spawn-module.js';
import type { FromWorker, StepMessage, ToWorker } from './protocol.js';

export interface DataParallelOptions {
  encoder: tf.LayersModel;
  decoder: tf.LayersModel;
  /** The trainable variables, in the order the trainer uses (encoder's, then decoder's). */
  variables: tf.Variable[];
  optimizer: tf.Optimizer;
  /** Threads in all, ≥ 2: the main thread plus threads − 1 workers. */
  threads: number;
  /** tfjs backend for the workers (the main thread's). */
  backend: string;
  /** Runs inside a tidy right after the optimizer update (AdamW's decoupled weight decay). */
  afterUpdate?: () => void;
}

export interface DataParallelStep {
  /**
   * One optimizer step on a batch of `count` images: input and target NHWC float32
   * in the shapes of the encoder's input and the decoder's output. Resolves to the
   * mean MSE over the batch (before the update, as optimizer.minimize returns).
   */
  step(input: Float32Array, target: Float32Array, count: number): Promise<number>;
  /** numTensors of each worker after its last step (for leak checks). */
  workerTensors(): number[];
  /** Terminate the workers; idempotent. */
  close(): Promise<void>;
}

/** Start the workers (each builds its replica) and resolve once all are ready. */
export async function createDataParallelStep(o: DataParallelOptions): Promise<DataParallelStep> {
  if (!Number.isInteger(o.threads) || o.threads < 2) throw new Error(`data-parallel training needs ≥ 2 threads, received ${o.threads}`);
  const inputShape = imageShape(o.encoder.inputs[0]?.shape, 'encoder input');
  const targetShape = imageShape(o.decoder.outputs[0]?.shape, 'decoder output');
  const perInput = inputShape[0] * inputShape[1] * inputShape[2];
  const perTarget = targetShape[0] * targetShape[1] * targetShape[2];
  const total = o.variables.reduce((s, v) => s + v.size, 0);
  const weightsBuffer = new SharedArrayBuffer(total * 4);
  const weights = new Float32Array(weightsBuffer);
  const workers: GradientWorker[] = [];
  const encoderJson = o.encoder.toJSON(undefined, false);
  const decoderJson = o.decoder.toJSON(undefined, false);
  let lastTensors: number[] = [];
  let closed = false;

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.all(workers.map((w) => w.close()));
  };

  try {
    for (let i = 1; i < o.threads; i++) {
      const gradsBuffer = new SharedArrayBuffer(total * 4);
      workers.push(new GradientWorker(gradsBuffer));
    }
    await Promise.all(
      workers.map((w) =>
        w.request({
          type: 'init',
          backend: o.backend,
          encoderJson,
          decoderJson,
          shapes: o.variables.map((v) => v.shape),
          weights: weightsBuffer,
          grads: w.gradsBuffer,
        }),
      ),
    );
  } catch (error) {
    await close();
    throw error;
  }

  const step = async (input: Float32Array, target: Float32Array, count: number): Promise<number> => {
    if (closed) throw new Error('data-parallel step after close()');
    if (input.length !== count * perInput || target.length !== count * perTarget) {
      throw new Error(`data-parallel step: expected ${count} images of ${inputShape.join('×')} → ${targetShape.join('×')}`);
    }
    let offset = 0;
    for (const v of o.variables) {
      weights.set(v.dataSync<'float32'>(), offset);
      offset += v.size;
    }
    const counts = shardCounts(count, o.threads);
    const starts = counts.map((_, i) => counts.slice(0, i).reduce((a, b) => a + b, 0));
    const pending = workers.map((w, i): Promise<FromWorker | undefined> => {
      const n = counts[i + 1] as number;
      if (n === 0) return Promise.resolve(undefined);
      const s = starts[i + 1] as number;
      const message: StepMessage = {
        type: 'step',
        input: input.slice(s * perInput, (s + n) * perInput),
        target: target.slice(s * perTarget, (s + n) * perTarget),
        count: n,
        inputShape,
        targetShape,
      };
      return w.request(message, [message.input.buffer as ArrayBuffer, message.target.buffer as ArrayBuffer]);
    });
    // Gradients of the main thread's shard, while the workers compute theirs.
    const n0 = counts[0] as number;
    let main: { value: tf.Scalar; grads: tf.NamedTensorMap };
    try {
      main = tf.tidy(() => {
        const x = tf.tensor4d(input.subarray(0, n0 * perInput), [n0, ...inputShape]);
        const y = tf.tensor4d(target.subarray(0, n0 * perTarget), [n0, ...targetShape]);
        return tf.variableGrads(
          () => tf.losses.meanSquaredError<tf.Tensor, tf.Scalar>(y, o.decoder.apply(o.encoder.apply(x)) as tf.Tensor),
          o.variables,
        );
      });
    } catch (error) {
      await Promise.allSettled(pending);
      throw error;
    }
    try {
      const replies = await Promise.all(pending);
      let loss = ((await main.value.data())[0] as number) * n0;
      const tensors: number[] = [];
      replies.forEach((r, i) => {
        if (r === undefined) return;
        if (r.type !== 'done') throw new Error(`unexpected worker reply ${r.type}`);
        loss += r.loss * (counts[i + 1] as number);
        tensors.push(r.numTensors);
      });
      lastTensors = tensors;
      tf.tidy(() => {
        const named: tf.NamedTensorMap = {};
        let at = 0;
        for (const v of o.variables) {
          const own = main.grads[v.name];
          if (own === undefined) throw new Error(`no gradient for ${v.name}`);
          let g = tf.mul(own, n0 / count);
          workers.forEach((w, i) => {
            const n = counts[i + 1] as number;
            if (n === 0) return;
            g = tf.add(g, tf.mul(tf.tensor(w.grads.subarray(at, at + v.size), v.shape), n / count));
          });
          named[v.name] = g;
          at += v.size;
        }
        o.optimizer.applyGradients(named);
        o.afterUpdate?.();
      });
      return loss / count;
    } finally {
      main.value.dispose();
      tf.dispose(main.grads);
    }
  };

  return { step, close, workerTensors: () => [...lastTensors] };
}

/** Images per shard: as even as possible, the main thread's (index 0) the largest. */
export function shardCounts(count: number, threads: number): number[] {
  const base = Math.floor(count / threads);
  const extra = count % threads;
  return Array.from({ length: threads }, (_, i) => base + (i < extra ? 1 : 0));
}

function imageShape(shape: ReadonlyArray<number | null> | undefined, what: string): [number, number, number] {
  const [, h, w, c] = shape ?? [];
  if (typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number') {
    throw new Error(`data-parallel training: the ${what} shape ${JSON.stringify(shape)} is not [batch, h, w, c]`);
  }
  return [h, w, c];
}

/** One worker thread with at most one request in flight. */
class GradientWorker {
  readonly grads: Float32Array;
  private readonly worker: Worker;
  private pending: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(readonly gradsBuffer: SharedArrayBuffer) {
    this.grads = new Float32Array(gradsBuffer);
    this.worker = spawnModuleThread(import.meta.url, 'worker');
    this.worker.on('message', (m: FromWorker) => {
      const p = this.pending;
      this.pending = undefined;
      if (m.type === 'error') {
        const e = new Error(`training worker: ${m.message}`);
        if (m.stack) e.stack = `${e.message}\n${m.stack}`;
        p?.reject(e);
      } else {
        p?.resolve(m);
      }
    });
    this.worker.on('error', (e) => this.fail(e instanceof Error ? e : new Error(String(e))));
    this.worker.on('exit', (code) => this.fail(new Error(`training worker exited (code ${code})`)));
  }

  request(message: ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error('training worker: a request is already in flight'));
    return new Promise<FromWorker>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message, transfer);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('training worker closed');
    this.pending?.reject(this.failure);
    this.pending = undefined;
    await this.worker.terminate();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.pending?.reject(e);
    this.pending = undefined;
  }
}

/**
 * The trainer's entry point: a data-parallel step for `threads` ≥ 2 on the
 * single-threaded backends (wasm, cpu); undefined for 1 thread or a native
 * TensorFlow backend (already multi-threaded), where the trainer keeps its
 * single-thread path.
 */
export async function startDataParallel(
  o: Omit<DataParallelOptions, 'backend' | 'threads'> & { threads: number | undefined; backend: string },
): Promise<DataParallelStep | undefined> {
  const threads = o.threads ?? 1;
  if (threads <= 1 || (o.backend !== 'wasm' && o.backend !== 'cpu')) return undefined;
  return createDataParallelStep({ ...o, threads });
}
