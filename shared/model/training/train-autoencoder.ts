// Train: fit the convolutional autoencoder on decoded images with an MSE
// reconstruction loss. Seeded train/validation split, Adam or AdamW, early stopping on
// the validation loss (mean over every validation image), the best epoch's weights
// kept, a progress bar with loss and ETA. The event loop is given a turn after every
// batch so a worker's job lock keeps renewing during long epochs.
//
// Image-to-image tasks (o.taskSpec, see shared/tasks/): the loss is
// MSE(decoder(encoder(input(x))), x) with the input made from each clean batch on the
// fly from a seeded stream; the validation loss uses a fixed corruption per validation
// image, so epochs are comparable. Reconstruct keeps the original single-tensor path.
// After training, PSNR/SSIM of the output and of the baseline on the validation split
// go into meta.metrics.
//
// The steps: train-step.ts (one optimizer step), epochs.ts (the epoch loop, validation,
// early stopping), model-meta.ts (meta.json); data-parallel.ts runs the step over
// worker threads.
import type { DecodedImages } from '../../images/decoded.js';
import { checkTaskSize } from '../../tasks/batches.js';
import { evaluateTask } from '../../tasks/evaluate.js';
import type { TaskSpec } from '../../tasks/spec.js';
import { buildAutoencoder, type ArchitectureOptions } from '../architecture.js';
import { restoreBest, runEpochs, type EpochsResult } from './epochs.js';
import { buildModelMeta } from './model-meta.js';
import { trainingSeeds, type TrainOptions, type TrainResult } from './options.js';
import { splitIndices } from './split.js';
import { createTrainStep } from './train-step.js';

export async function trainAutoencoder(images: DecodedImages, o: TrainOptions): Promise<TrainResult> {
  const spec: TaskSpec = o.taskSpec ?? { task: 'reconstruct' };
  const inputSize = checkTaskSize(spec, images.size, o.filters);
  const threads = gradientThreads(spec, o);

  // 1. The model (seeded weights), the train/validation split and the optimizer.
  const arch: ArchitectureOptions = {
    inputSize,
    filters: o.filters,
    kernelSize: o.kernelSize,
    seed: o.seed,
    ...(spec.task === 'superres' ? { upscale: spec.scale } : {}),
  };
  const model = buildAutoencoder(arch);
  const split = splitIndices(images.keys.length, o.validationSplit, o.seed);
  let run: EpochsResult;
  let trainSeconds: number;
  let metrics: Awaited<ReturnType<typeof evaluateTask>>;
  try {
    const step = createTrainStep(model, images, spec, o);

    // 2. The epochs, stopping early when the validation loss stops improving.
    const started = performance.now();
    try {
      run = await runEpochs({ model, images, spec, split, step, threads }, o);
    } finally {
      step.optimizer.dispose();
    }

    // 3. The best epoch's weights back into the model.
    restoreBest(model, run.best);
    trainSeconds = (performance.now() - started) / 1000;

    // 4. Quality on the validation split, with its fixed per-image corruption.
    metrics = await evaluateTask(model, images, split.validation, spec, trainingSeeds(o.seed).noise, o.batchSize);
  } catch (error) {
    // A worker retries a failed training in the same process: leave no model behind.
    model.encoder.dispose();
    model.decoder.dispose();
    throw error;
  }

  // 5. meta.json.
  const meta = buildModelMeta({ spec, imageSize: images.size, arch, split, run, trainSeconds, metrics }, o);
  if (meta.quality?.worseThanBaseline === true) {
    // Saved all the same (it is what was asked for), but nobody should apply it unaware.
    const q = meta.quality;
    o.logger?.warn(
      { modelId: meta.modelId, psnr: Number(q.psnr.toFixed(2)), baselinePsnr: Number(q.baselinePsnr.toFixed(2)) },
      `the ${spec.task} model makes images worse than its baseline: PSNR ${q.psnr.toFixed(1)} dB vs ${q.baselinePsnr.toFixed(1)} dB for the ${baselineName(metrics)} (meta.json quality.worseThanBaseline); train longer, with more images or a higher --lr`,
    );
  }
  return { ...model, meta, validationIndices: split.validation };
}

function baselineName(metrics: { baseline: { method: 'input' | 'grey-input' | 'bicubic' } }): string {
  return { input: 'input itself', 'grey-input': 'grey input', bicubic: 'bicubic upscale' }[metrics.baseline.method];
}

/** o.trainThreads (default 1), except for superres, which trains on this thread. */
function gradientThreads(spec: TaskSpec, o: TrainOptions): number {
  const threads = o.trainThreads ?? 1;
  if (spec.task === 'superres' && threads > 1) {
    // Its decoder takes a second input (the bicubic upscale) that the worker threads do not pass.
    o.logger?.warn({ trainThreads: threads }, 'superres trains on one thread: --train-threads is ignored for it');
    return 1;
  }
  return threads;
}
