// What trainAutoencoder takes and returns, and the seeds one training run derives from
// its one seed option.
import type { Logger } from '../../logger.js';
import type { TaskSpec } from '../../tasks/spec.js';
import type { Autoencoder } from '../architecture.js';
import type { ModelMeta } from '../meta.js';

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
   * backends, data-parallel.ts); 1 (the default) trains on this thread only.
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

/**
 * The seeds a run derives from `seed`: the initial weights and the train/validation
 * split use `seed` itself, the batch order of every epoch one stream from `order`, the
 * training corruption one stream from `noise`, and the validation corruption one
 * generator per image from (`noise`, image index).
 */
export function trainingSeeds(seed: number): { order: number; noise: number } {
  return { order: seed + 1, noise: seed + 2 };
}

