// meta.json of a freshly trained model (shared/model/meta.ts): its id, the task, the
// architecture, the training settings and how the epochs went, the backend, the
// throughput and the quality metrics on the validation split.
import * as tf from '@tensorflow/tfjs';
import { taskParams, type TaskSpec } from '../../tasks/spec.js';
import { embeddingDim, type ArchitectureOptions } from '../architecture.js';
import { activeBackend } from '../backend.js';
import type { ModelMeta, ModelQuality, TaskMetrics } from '../meta.js';
import type { EpochsResult } from './epochs.js';
import { trainingSeeds, type TrainOptions } from './options.js';

export interface ModelMetaInput {
  spec: TaskSpec;
  /** Side of the training images (the decoder's output side). */
  imageSize: number;
  arch: ArchitectureOptions;
  split: { train: number[]; validation: number[] };
  run: EpochsResult;
  trainSeconds: number;
  metrics: TaskMetrics;
}

export function buildModelMeta({ spec, imageSize, arch, split, run, trainSeconds, metrics }: ModelMetaInput, o: TrainOptions): ModelMeta {
  const taskPart = spec.task === 'reconstruct' ? '' : `${spec.task}-`;
  return {
    modelId: `cae-${taskPart}${imageSize}-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-s${o.seed}`,
    createdAt: new Date().toISOString(),
    task: spec.task,
    ...(spec.task === 'reconstruct' ? {} : { taskParams: taskParams(spec, imageSize, trainingSeeds(o.seed).noise) }),
    source: o.source,
    inputSize: arch.inputSize,
    fit: o.fit,
    architecture: { filters: [...o.filters], kernelSize: o.kernelSize },
    embeddingDim: embeddingDim(arch),
    training: {
      epochsRequested: o.epochs,
      epochsRun: run.losses.length,
      bestEpoch: run.best.epoch,
      bestValidationLoss: run.best.loss,
      stoppedEarly: run.stoppedEarly,
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
    losses: run.losses,
    backend: activeBackend() ?? tf.getBackend(),
    timings: { trainSeconds, imagesPerSecond: run.imagesSeen / trainSeconds },
    metrics,
    ...qualityPart(spec, metrics),
  };
}

/**
 * meta.json's `quality`: the output's and the baseline's PSNR and whether the output is
 * worse. None for reconstruct (its baseline is the target itself) nor when either PSNR is
 * not a finite number (identical images, no validation images).
 */
export function modelQuality(spec: TaskSpec, metrics: TaskMetrics): ModelQuality | undefined {
  const psnr = metrics.output.psnr;
  const baselinePsnr = metrics.baseline.psnr;
  if (spec.task === 'reconstruct' || psnr === null || baselinePsnr === null || !Number.isFinite(psnr) || !Number.isFinite(baselinePsnr)) return undefined;
  return { psnr, baselinePsnr, worseThanBaseline: psnr < baselinePsnr };
}

function qualityPart(spec: TaskSpec, metrics: TaskMetrics): { quality?: ModelQuality } {
  const quality = modelQuality(spec, metrics);
  return quality ? { quality } : {};
}
