// The epoch loop: every epoch shuffles the training split (one seeded stream), runs
// its batches (on this thread, or data-parallel over worker threads on wasm/cpu),
// then measures the validation loss (mean over every validation image, each with its
// fixed corruption) and keeps a copy of the weights of the best epoch so far; it stops
// early once the validation loss has not improved for `patience` epochs. A progress
// bar shows the loss, and the event loop gets a turn after every batch so a worker's
// job lock keeps renewing during long epochs.
import * as tf from '@tensorflow/tfjs';
import { yieldToEventLoop } from '../../concurrency.js';
import type { DecodedImages } from '../../images/decoded.js';
import { createProgress } from '../../progress.js';
import { createRng, shuffleInPlace } from '../../random.js';
import { fixedRngs, taskBatch } from '../../tasks/batches.js';
import type { TaskSpec } from '../../tasks/spec.js';
import type { Autoencoder } from '../architecture.js';
import { activeBackend } from '../backend.js';
import type { ModelMeta } from '../meta.js';
import { startDataParallel, type DataParallelStep } from './data-parallel.js';
import { trainingSeeds, type TrainOptions } from './options.js';
import type { TrainStep } from './train-step.js';

export interface BestEpoch {
  epoch: number;
  /** Its validation loss. */
  loss: number;
  /** A copy of the encoder's then the decoder's weights after it (the caller disposes them). */
  weights: tf.Tensor[];
}

export interface EpochsResult {
  losses: ModelMeta['losses'];
  best: BestEpoch;
  stoppedEarly: boolean;
  /** Training images stepped over, all epochs together. */
  imagesSeen: number;
}

export interface EpochsInput {
  model: Autoencoder;
  images: DecodedImages;
  spec: TaskSpec;
  split: { train: number[]; validation: number[] };
  step: TrainStep;
  /** Threads computing gradients (1: this thread only). */
  threads: number;
}

export async function runEpochs({ model, images, spec, split, step, threads }: EpochsInput, o: TrainOptions): Promise<EpochsResult> {
  const seeds = trainingSeeds(o.seed);
  const rng = createRng(seeds.order);
  const noiseRng = createRng(seeds.noise);
  const batchesPerEpoch = Math.ceil(split.train.length / o.batchSize);
  const progress = createProgress({
    label: 'train',
    total: o.epochs * batchesPerEpoch,
    unit: 'batches',
    logger: o.logger,
    bar: o.progressBar,
  });
  const losses: ModelMeta['losses'] = [];
  let best: BestEpoch | undefined;
  let sinceBest = 0;
  let stoppedEarly = false;
  let imagesSeen = 0;

  // Data-parallel training (threads > 1): the batch as float arrays, shared out to worker threads.
  let parallel: DataParallelStep | undefined;

  try {
    parallel = await startDataParallel({
      threads,
      backend: activeBackend() ?? tf.getBackend(),
      ...model,
      variables: step.variables,
      optimizer: step.optimizer,
      ...(step.decay ? { afterUpdate: step.decay } : {}),
    });
    const dp = parallel;
    /** One optimizer step on the images at `idx`; the training corruption comes from one stream. */
    const trainBatch = dp
      ? (idx: number[]): Promise<number> => {
          const t = taskBatch(spec, images, idx, () => noiseRng);
          return dp.step(t.input, t.target, t.n);
        }
      : (idx: number[]): Promise<number> => step.step(idx, () => noiseRng);

    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const epochStart = performance.now();
      const order = shuffleInPlace([...split.train], rng);
      let trainSum = 0;
      for (let b = 0; b < batchesPerEpoch; b++) {
        const idx = order.slice(b * o.batchSize, (b + 1) * o.batchSize);
        const value = await trainBatch(idx);
        if (!Number.isFinite(value)) throw new Error(`Training diverged at epoch ${epoch}: loss is ${value}; try a lower --lr`);
        trainSum += value * idx.length;
        imagesSeen += idx.length;
        // Numbers, not text: the human formats round them, the JSON log keeps them whole.
        progress.update((epoch - 1) * batchesPerEpoch + b + 1, { epoch, loss: value, val: best?.loss });
        await o.onBatch?.({ epoch, batch: b + 1, batches: batchesPerEpoch, loss: value });
        await yieldToEventLoop();
      }
      const validation = await meanLoss(split.validation, o.batchSize, (idx) => step.loss(idx, fixedRngs(seeds.noise, idx)));
      const train = trainSum / split.train.length;
      const seconds = (performance.now() - epochStart) / 1000;
      losses.push({ epoch, train, validation, seconds });
      o.logger?.info({ epoch, train, validation, seconds }, `epoch ${epoch}/${o.epochs}`);
      if (!best || validation < best.loss) {
        best?.weights.forEach((w) => w.dispose());
        best = { epoch, loss: validation, weights: snapshotWeights(model) };
        sinceBest = 0;
      } else if (o.patience > 0 && ++sinceBest >= o.patience) {
        stoppedEarly = true;
        o.logger?.info({ epoch, bestEpoch: best.epoch }, 'early stopping: validation loss stopped improving');
        break;
      }
    }
  } catch (error) {
    best?.weights.forEach((w) => w.dispose()); // a failed run (divergence…) leaves no tensors behind
    throw error;
  } finally {
    progress.stop();
    await parallel?.close();
  }
  if (!best) throw new Error('Training ran no epoch');
  return { losses, best, stoppedEarly, imagesSeen };
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

function snapshotWeights(model: Autoencoder): tf.Tensor[] {
  return [...model.encoder.getWeights(), ...model.decoder.getWeights()].map((w) => w.clone());
}

/** Puts the best epoch's weights back into the model and disposes the copy. */
export function restoreBest(model: Autoencoder, best: BestEpoch): void {
  const n = model.encoder.getWeights().length;
  model.encoder.setWeights(best.weights.slice(0, n));
  model.decoder.setWeights(best.weights.slice(n));
  best.weights.forEach((w) => w.dispose());
}
