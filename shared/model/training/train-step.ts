// One optimizer step on this thread (the single-thread path; data-parallel.ts shares
// the same step out to worker threads): the tensors of a batch, the MSE of
// decoder(encoder(input)) against the target, Adam's update and, for AdamW, the
// decoupled weight decay right after it.
import * as tf from '@tensorflow/tfjs';
import type { DecodedImages } from '../../images/decoded.js';
import type { Rng } from '../../random.js';
import { taskBatch } from '../../tasks/batches.js';
import { upscaleBicubic } from '../../tasks/corruptions.js';
import type { TaskSpec } from '../../tasks/spec.js';
import { forward, type Autoencoder } from '../architecture.js';
import type { TrainOptions } from './options.js';

export interface TrainStep {
  /** The trainable variables, the encoder's then the decoder's (the order data-parallel.ts shares). */
  variables: tf.Variable[];
  optimizer: tf.Optimizer;
  /** AdamW's decoupled weight decay, to run right after every optimizer update; undefined for Adam. */
  decay: (() => void) | undefined;
  /** One optimizer step on the images at `idx`; resolves to the batch's mean loss (before the update). */
  step(idx: readonly number[], rngFor: (i: number) => Rng): Promise<number>;
  /** The batch's mean loss, without an update (validation). */
  loss(idx: readonly number[], rngFor: (i: number) => Rng): tf.Scalar;
}

export function createTrainStep(
  model: Autoencoder,
  images: DecodedImages,
  spec: TaskSpec,
  o: Pick<TrainOptions, 'learningRate' | 'optimizer' | 'weightDecay'>,
): TrainStep {
  const variables = [...model.encoder.trainableWeights, ...model.decoder.trainableWeights].map((w) => w.read() as tf.Variable);
  const optimizer = tf.train.adam(o.learningRate);
  const decay = adamWDecay(variables, o);
  const lossOf = (x: tf.Tensor4D, target: tf.Tensor4D, upscaled?: tf.Tensor4D): tf.Scalar =>
    tf.losses.meanSquaredError<tf.Tensor, tf.Scalar>(target, forward(model, x, upscaled ? { upscaled } : {}));
  return {
    variables,
    optimizer,
    decay,
    async step(idx, rngFor) {
      const loss = tf.tidy(() => {
        const [x, target, upscaled] = batchTensors(spec, images, idx, rngFor);
        const cost = optimizer.minimize(() => lossOf(x, target, upscaled), true, variables) as tf.Scalar;
        decay?.();
        return cost;
      });
      const value = (await loss.data())[0] as number;
      loss.dispose();
      return value;
    },
    loss: (idx, rngFor) => tf.tidy(() => lossOf(...batchTensors(spec, images, idx, rngFor))),
  };
}

/**
 * Input, target (and for superres the bicubic upscale of the input) tensors of a batch;
 * one tensor for input and target when reconstructing: no extra copy.
 */
export function batchTensors(
  spec: TaskSpec,
  images: DecodedImages,
  idx: readonly number[],
  rngFor: (i: number) => Rng,
): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D?] {
  const b = taskBatch(spec, images, idx, rngFor); // reconstruct: input is target
  const x = tf.tensor4d(b.input, [b.n, b.inputSize, b.inputSize, 3]);
  if (spec.task === 'reconstruct') return [x, x];
  const y = tf.tensor4d(b.target, [b.n, b.size, b.size, 3]);
  if (spec.task !== 'superres') return [x, y];
  return [x, y, tf.tensor4d(upscaleBicubic(b.input, b.n, b.inputSize, spec.scale), [b.n, b.size, b.size, 3])];
}

/** AdamW's decoupled weight decay of the kernels (not the biases): w ← w·(1 − lr·decay); undefined for Adam or decay 0. */
export function adamWDecay(variables: readonly tf.Variable[], o: Pick<TrainOptions, 'learningRate' | 'optimizer' | 'weightDecay'>): (() => void) | undefined {
  if (!(o.optimizer === 'adamw' && o.weightDecay > 0)) return undefined;
  const decayed = variables.filter((v) => v.shape.length > 1); // kernels, not biases
  const factor = 1 - o.learningRate * o.weightDecay;
  return () => {
    for (const v of decayed) v.assign(tf.mul(v, factor));
  };
}
