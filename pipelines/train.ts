// Train: fit the convolutional autoencoder on decoded images with an MSE
// reconstruction loss. Seeded train/validation split, Adam or AdamW, early stopping on
// the validation loss (mean over every validation image), the best epoch's weights
// kept, a progress bar with loss and ETA. The event loop is given a turn after every
// batch so a worker's job lock keeps renewing during long epochs.
//
// Image-to-image tasks (o.task, see pipelines/tasks.ts): the loss is
// MSE(decoder(encoder(input(x))), x) with the input made from each clean batch on the
// fly from a seeded stream; the validation loss uses a fixed corruption per validation
// image, so epochs are comparable. Reconstruct keeps the original single-tensor path.
// After training, PSNR/SSIM of the output and of the baseline on the validation split
// go into meta.metrics.
import * as tf from '@tensorflow/tfjs';
import { yieldToEventLoop } from '../shared/concurrency.js';
import { UserError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { buildAutoencoder, embeddingDim, forward, type Autoencoder } from '../shared/model/architecture.js';
import { activeBackend } from '../shared/model/backend.js';
import type { ModelMeta } from '../shared/model/meta.js';
import { createProgress } from '../shared/progress.js';
import { upscaleBicubic } from '../shared/tasks/index.js';
import { createRng, shuffleInPlace, type Rng } from '../shared/random.js';
import { batchFloats, type DecodedImages } from '../shared/images/decoded.js';
import { checkTaskSize, evaluateTask, fixedRngs, taskBatch, taskParams, type TaskSpec } from '../shared/tasks/index.js';
import { startDataParallel, type DataParallelStep } from './train-parallel/data-parallel.js';

export interface TrainOptions {
  filters: readonly number[];
  kernelSize: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'adam' | 'adamw';
  weightDecay: number;
  patience: number;
  validationSplit: number;
  seed: number;
  fit: 'crop' | 'letterbox';
  source: string;
  logger?: Logger;
  progressBar?: boolean;
  /** Image-to-image task (default reconstruct: the embedding autoencoder). */
  taskSpec?: TaskSpec;
  /**
   * Threads computing gradients (data-parallel over worker threads on the wasm/cpu
   * backends, pipelines/train-parallel/); 1 (the default) trains on this thread only.
   */
  trainThreads?: number;
  /** Called after every training batch (progress reporting, job heartbeats, tests). */
  onBatch?: (info: { epoch: number; batch: number; batches: number; loss: number }) => void | Promise<void>;
}

export interface TrainResult extends Autoencoder {
  meta: ModelMeta;
  /** Indices (into the images) of the validation split, for previews. */
  validationIndices: number[];
}

export function splitIndices(n: number, validationSplit: number, seed: number): { train: number[]; validation: number[] } {
  if (n < 2) throw new UserError(`Training needs at least 2 images, found ${n}`);
  const order = shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng(seed));
  const nVal = Math.min(n - 1, Math.max(1, Math.round(n * validationSplit)));
  return { validation: order.slice(0, nVal).sort((a, b) => a - b), train: order.slice(nVal) };
}

export async function trainAutoencoder(images: DecodedImages, o: TrainOptions): Promise<TrainResult> {
  const spec: TaskSpec = o.taskSpec ?? { task: 'reconstruct' };
  const inputSize = checkTaskSize(spec, images.size, o.filters);
  let threads = o.trainThreads ?? 1;
  if (spec.task === 'superres' && threads > 1) {
    // Its decoder takes a second input (the bicubic upscale) that the worker threads do not pass.
    o.logger?.warn({ trainThreads: threads }, 'superres trains on one thread: --train-threads is ignored for it');
    threads = 1;
  }
  const arch = {
    inputSize,
    filters: o.filters,
    kernelSize: o.kernelSize,
    seed: o.seed,
    ...(spec.task === 'superres' ? { upscale: spec.scale } : {}),
  };
  const model = buildAutoencoder(arch);
  const split = splitIndices(images.keys.length, o.validationSplit, o.seed);
  const variables = [...model.encoder.trainableWeights, ...model.decoder.trainableWeights].map((w) => w.read() as tf.Variable);
  const decayed = variables.filter((v) => v.shape.length > 1); // kernels, not biases
  const optimizer = tf.train.adam(o.learningRate);
  const rng = createRng(o.seed + 1);
  const noiseSeed = o.seed + 2;
  const noiseRng = createRng(noiseSeed);
  const lossOf = (x: tf.Tensor4D, target: tf.Tensor4D, upscaled?: tf.Tensor4D): tf.Scalar =>
    tf.losses.meanSquaredError<tf.Tensor, tf.Scalar>(target, forward(model, x, upscaled ? { upscaled } : {}));
  /**
   * Input, target (and for superres the bicubic upscale of the input) tensors of a batch;
   * one tensor for input and target when reconstructing: no extra copy.
   */
  const tensorsOf = (idx: readonly number[], rngFor: (i: number) => Rng): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D?] => {
    const b = taskBatch(spec, images, idx, rngFor); // reconstruct: input is target
    const x = tf.tensor4d(b.input, [b.n, b.inputSize, b.inputSize, 3]);
    if (spec.task === 'reconstruct') return [x, x];
    const y = tf.tensor4d(b.target, [b.n, b.size, b.size, 3]);
    if (spec.task !== 'superres') return [x, y];
    return [x, y, tf.tensor4d(upscaleBicubic(b.input, b.n, b.inputSize, spec.scale), [b.n, b.size, b.size, 3])];
  };
  const factor = 1 - o.learningRate * o.weightDecay;
  /** AdamW's decoupled weight decay, run right after every optimizer update. */
  const decay =
    o.optimizer === 'adamw' && o.weightDecay > 0
      ? () => {
          for (const v of decayed) v.assign(tf.mul(v, factor));
        }
      : undefined;
  /** One optimizer step on this thread; resolves to the batch's mean loss (before the update). */
  const singleThreadStep = async (idx: readonly number[]): Promise<number> => {
    const loss = tf.tidy(() => {
      const [x, target, upscaled] = tensorsOf(idx, () => noiseRng);
      const cost = optimizer.minimize(() => lossOf(x, target, upscaled), true, variables) as tf.Scalar;
      decay?.();
      return cost;
    });
    const value = (await loss.data())[0] as number;
    loss.dispose();
    return value;
  };

  const batchesPerEpoch = Math.ceil(split.train.length / o.batchSize);
  const progress = createProgress({
    label: 'train',
    total: o.epochs * batchesPerEpoch,
    logger: o.logger,
    fields: ['epoch', 'loss', 'val'],
    bar: o.progressBar,
  });
  const losses: ModelMeta['losses'] = [];
  let best: { epoch: number; loss: number; weights: tf.Tensor[] } | undefined;
  let sinceBest = 0;
  let stoppedEarly = false;
  const started = performance.now();
  let imagesSeen = 0;

  // Data-parallel training (o.trainThreads > 1): the batch as float arrays, shared out to worker threads.
  let parallel: DataParallelStep | undefined;

  try {
    parallel = await startDataParallel({
      threads,
      backend: activeBackend() ?? tf.getBackend(),
      ...model,
      variables,
      optimizer,
      ...(decay ? { afterUpdate: decay } : {}),
    });
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const epochStart = performance.now();
      const order = shuffleInPlace([...split.train], rng);
      let trainSum = 0;
      for (let b = 0; b < batchesPerEpoch; b++) {
        const idx = order.slice(b * o.batchSize, (b + 1) * o.batchSize);
        let value: number;
        if (parallel) {
          const t = taskBatch(spec, images, idx, () => noiseRng);
          value = await parallel.step(t.input, t.target, t.n);
        } else {
          value = await singleThreadStep(idx);
        }
        if (!Number.isFinite(value)) throw new Error(`Training diverged at epoch ${epoch}: loss is ${value}; try a lower --lr`);
        trainSum += value * idx.length;
        imagesSeen += idx.length;
        progress.update((epoch - 1) * batchesPerEpoch + b + 1, {
          epoch,
          loss: value.toFixed(5),
          val: best ? best.loss.toFixed(5) : '-',
        });
        await o.onBatch?.({ epoch, batch: b + 1, batches: batchesPerEpoch, loss: value });
        await yieldToEventLoop();
      }
      const validation = await meanLoss(split.validation, o.batchSize, (idx) => tf.tidy(() => lossOf(...tensorsOf(idx, fixedRngs(noiseSeed, idx)))));
      const train = trainSum / split.train.length;
      losses.push({ epoch, train, validation, seconds: (performance.now() - epochStart) / 1000 });
      o.logger?.info({ epoch, train, validation }, `epoch ${epoch}/${o.epochs}`);
      if (!best || validation < best.loss) {
        best?.weights.forEach((w) => w.dispose());
        best = { epoch, loss: validation, weights: snapshot(model) };
        sinceBest = 0;
      } else if (o.patience > 0 && ++sinceBest >= o.patience) {
        stoppedEarly = true;
        o.logger?.info({ epoch, bestEpoch: best.epoch }, 'early stopping: validation loss stopped improving');
        break;
      }
    }
  } finally {
    progress.stop();
    await parallel?.close();
    optimizer.dispose();
  }
  if (!best) throw new Error('Training ran no epoch');
  restore(model, best.weights);
  best.weights.forEach((w) => w.dispose());

  const trainSeconds = (performance.now() - started) / 1000;
  const metrics = await evaluateTask(model, images, split.validation, spec, noiseSeed, o.batchSize);
  const taskPart = spec.task === 'reconstruct' ? '' : `${spec.task}-`;
  const meta: ModelMeta = {
    modelId: `cae-${taskPart}${images.size}-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-s${o.seed}`,
    createdAt: new Date().toISOString(),
    task: spec.task,
    ...(spec.task === 'reconstruct' ? {} : { taskParams: taskParams(spec, images.size, noiseSeed) }),
    source: o.source,
    inputSize,
    fit: o.fit,
    architecture: { filters: [...o.filters], kernelSize: o.kernelSize },
    embeddingDim: embeddingDim(arch),
    training: {
      epochsRequested: o.epochs,
      epochsRun: losses.length,
      bestEpoch: best.epoch,
      bestValidationLoss: best.loss,
      stoppedEarly,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      optimizer: o.optimizer,
      weightDecay: o.optimizer === 'adamw' ? o.weightDecay : 0,
      patience: o.patience,
      validationSplit: o.validationSplit,
      seed: o.seed,
      trainImages: split.train.length,
      validationImages: split.validation.length,
    },
    losses,
    backend: activeBackend() ?? tf.getBackend(),
    timings: { trainSeconds, imagesPerSecond: imagesSeen / trainSeconds },
    metrics,
  };
  return { ...model, meta, validationIndices: split.validation };
}

/** Mean per-image loss over `indices`, batch by batch (not the last batch's loss). */
async function meanLoss(indices: readonly number[], batchSize: number, lossOf: (idx: number[]) => tf.Scalar): Promise<number> {
  let sum = 0;
  for (let b = 0; b < indices.length; b += batchSize) {
    const idx = indices.slice(b, b + batchSize);
    const loss = lossOf(idx);
    sum += ((await loss.data())[0] as number) * idx.length;
    loss.dispose();
    await yieldToEventLoop();
  }
  return sum / indices.length;
}

function snapshot(model: Autoencoder): tf.Tensor[] {
  return [...model.encoder.getWeights(), ...model.decoder.getWeights()].map((w) => w.clone());
}

function restore(model: Autoencoder, weights: tf.Tensor[]): void {
  const n = model.encoder.getWeights().length;
  model.encoder.setWeights(weights.slice(0, n));
  model.decoder.setWeights(weights.slice(n));
}

/** Reconstructions of the images at `indices` as float HWC arrays (for previews). */
export function reconstruct(model: Autoencoder, images: DecodedImages, indices: readonly number[]): Float32Array[] {
  const out = tf.tidy(() => {
    const x = tf.tensor4d(batchFloats(images, indices), [indices.length, images.size, images.size, 3]);
    return model.decoder.predict(model.encoder.predict(x)) as tf.Tensor;
  });
  const data = out.dataSync() as Float32Array;
  out.dispose();
  const per = images.size * images.size * 3;
  return indices.map((_, i) => data.slice(i * per, (i + 1) * per));
}
