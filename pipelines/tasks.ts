// Image-to-image tasks on top of the autoencoder (docs/tasks.md): the task spec from
// config or meta.json, size checks, (input, target) batches, prediction, quality
// metrics on the validation split, and preview rows. The pixel transforms themselves
// are pure functions in shared/images/corruptions.ts.
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../shared/config/index.js';
import { UserError } from '../shared/errors.js';
import {
  baselineOutput,
  describeTask,
  imageSeed,
  inputSideOf,
  taskInput,
  upscaleBicubic,
  upscaleNearest,
  type TaskSpec,
} from '../shared/images/corruptions.js';
import { QualityMeter } from '../shared/images/quality.js';
import { forward, type Autoencoder } from '../shared/model/architecture.js';
import type { ModelMeta, TaskMetrics } from '../shared/model/meta.js';
import { createRng, type Rng } from '../shared/random.js';
import { yieldToEventLoop } from '../shared/concurrency.js';
import { batchFloats, type DecodedImages } from './dataset.js';

export type { TaskSpec } from '../shared/images/corruptions.js';

type TaskConfig = Pick<
  Config,
  'task' | 'noise' | 'noiseSigma' | 'saltPepperAmount' | 'crosshairWidth' | 'eraseFraction' | 'eraseFill' | 'superresScale'
>;

/** The task spec the configuration asks for. */
export function taskSpecFromConfig(c: TaskConfig): TaskSpec {
  switch (c.task) {
    case 'reconstruct':
      return { task: 'reconstruct' };
    case 'colorize':
      return { task: 'colorize' };
    case 'superres':
      return { task: 'superres', scale: c.superresScale };
    case 'denoise':
      return {
        task: 'denoise',
        noise: {
          kinds: [...c.noise],
          sigma: c.noiseSigma,
          saltPepperAmount: c.saltPepperAmount,
          crosshairWidth: [...c.crosshairWidth],
          eraseFraction: c.eraseFraction,
          eraseFill: c.eraseFill,
        },
      };
  }
}

/** The task a saved model was trained for (old meta.json files: reconstruct). */
export function taskSpecFromMeta(meta: Pick<ModelMeta, 'task' | 'taskParams' | 'modelId'>): TaskSpec {
  const p = meta.taskParams;
  switch (meta.task) {
    case 'reconstruct':
      return { task: 'reconstruct' };
    case 'colorize':
      return { task: 'colorize' };
    case 'superres':
      if (p?.scale === undefined) throw new UserError(`model ${meta.modelId}: meta.json says superres but has no taskParams.scale`);
      return { task: 'superres', scale: p.scale };
    case 'denoise':
      if (p?.noise === undefined) throw new UserError(`model ${meta.modelId}: meta.json says denoise but has no taskParams.noise`);
      return { task: 'denoise', noise: p.noise };
  }
}

/** "superres (×2)", "denoise (gaussian,crosshair)", "colorize", "reconstruct". */
export function taskLabel(spec: TaskSpec): string {
  switch (spec.task) {
    case 'superres':
      return `superres (×${spec.scale})`;
    case 'denoise':
      return `denoise (${spec.noise.kinds.join(',')})`;
    case 'colorize':
    case 'reconstruct':
      return spec.task;
  }
}

/**
 * The model input side for target images of side `size`; refuses sizes the task and
 * the encoder's pooling stages cannot take, naming the flags.
 */
export function checkTaskSize(spec: TaskSpec, size: number, filters: readonly number[]): number {
  const stages = filters.length;
  const pool = 2 ** stages;
  if (spec.task === 'superres') {
    const need = spec.scale * pool;
    if (size % need !== 0 || size < need) {
      throw new UserError(
        `--size: expected a multiple of --scale × 2^stages = ${spec.scale} × ${pool} = ${need} (the ${size / spec.scale}-px low-res input goes through ${stages} pooling stages), received ${size}; try ${Math.max(need, Math.round(size / need) * need)}`,
      );
    }
  } else if (size % pool !== 0 || size < pool) {
    throw new UserError(
      `--size: expected a multiple of 2^stages = ${pool} (${stages} pooling stages, --filters ${filters.join(',')}), received ${size}; try ${Math.max(pool, Math.round(size / pool) * pool)}`,
    );
  }
  return inputSideOf(spec, size);
}

/** The taskParams block of meta.json. */
export function taskParams(spec: TaskSpec, outputSize: number, seed: number): NonNullable<ModelMeta['taskParams']> {
  return {
    outputSize,
    input: describeTask(spec),
    ...(spec.task === 'denoise' ? { noise: spec.noise } : {}),
    ...(spec.task === 'superres' ? { scale: spec.scale } : {}),
    seed,
  };
}

export interface TaskBatch {
  n: number;
  /** Model inputs, n × inputSize² × 3. */
  input: Float32Array;
  inputSize: number;
  /** Targets (the clean images), n × size² × 3. */
  target: Float32Array;
  size: number;
}

/** A batch of (input, target) for the images at `indices`; image i's noise comes from rngFor(i). */
export function taskBatch(spec: TaskSpec, images: DecodedImages, indices: readonly number[], rngFor: (i: number) => Rng): TaskBatch {
  const target = batchFloats(images, indices);
  const input = taskInput(spec, target, indices.length, images.size, rngFor);
  return { n: indices.length, input, inputSize: inputSideOf(spec, images.size), target, size: images.size };
}

/** One generator per image, seeded by (seed, image index): the same corruption every time. */
export function fixedRngs(seed: number, indices: readonly number[]): (i: number) => Rng {
  return (i) => createRng(imageSeed(seed, indices[i] as number));
}

/** decoder(encoder(input)) as floats in [0, 1], n × outputSide² × 3 (superres: over the bicubic upscale). */
export function predict(model: Autoencoder, input: Float32Array, n: number, inputSize: number): Float32Array {
  const outSide = (model.decoder.outputs[0]?.shape[1] as number | null) ?? inputSize;
  const out = tf.tidy(() => {
    const x = tf.tensor4d(input, [n, inputSize, inputSize, 3]);
    const upscaled = outSide === inputSize ? undefined : tf.tensor4d(upscaleBicubic(input, n, inputSize, outSide / inputSize), [n, outSide, outSide, 3]);
    return tf.clipByValue(forward(model, x, { predict: true, ...(upscaled ? { upscaled } : {}) }), 0, 1); // a residual can leave [0, 1]
  });
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data;
}

function baselineMethod(spec: TaskSpec): TaskMetrics['baseline']['method'] {
  return spec.task === 'superres' ? 'bicubic' : spec.task === 'colorize' ? 'grey-input' : 'input';
}

const finite = (v: number): number | null => (v === Infinity ? null : v);

/** Running PSNR/SSIM of the outputs and of the baseline against the targets, batch by batch. */
export class TaskMeter {
  private readonly output = new QualityMeter();
  private readonly baseline = new QualityMeter();

  constructor(private readonly spec: TaskSpec) {}

  /** Adds n images (outputs, baselines and targets at side `size`, laid out one after the other). */
  add(output: Float32Array, baseline: Float32Array, target: Float32Array, n: number, size: number): void {
    this.output.addBatch(output, target, n, size);
    this.baseline.addBatch(baseline, target, n, size);
  }

  get count(): number {
    return this.output.count;
  }

  metrics(): TaskMetrics {
    const o = this.output.mean();
    const b = this.baseline.mean();
    return {
      images: this.output.count,
      output: { psnr: finite(o.psnr), ssim: o.ssim },
      baseline: { psnr: finite(b.psnr), ssim: b.ssim, method: baselineMethod(this.spec) },
    };
  }
}

/**
 * PSNR/SSIM of the model's output and of the baseline against the target on the images
 * at `indices`, with the fixed per-image corruption of the validation loss.
 */
export async function evaluateTask(
  model: Autoencoder,
  images: DecodedImages,
  indices: readonly number[],
  spec: TaskSpec,
  seed: number,
  batchSize: number,
): Promise<TaskMetrics> {
  const meter = new TaskMeter(spec);
  for (let b = 0; b < indices.length; b += batchSize) {
    const idx = indices.slice(b, b + batchSize);
    const batch = taskBatch(spec, images, idx, fixedRngs(seed, idx));
    const output = predict(model, batch.input, batch.n, batch.inputSize);
    meter.add(output, baselineOutput(spec, batch.input, batch.n, batch.size), batch.target, batch.n, batch.size);
    await yieldToEventLoop();
  }
  return meter.metrics();
}

/** Splits n images laid out one after the other into one array per image. */
export function splitImages(batch: Float32Array, n: number, side: number): Float32Array[] {
  const per = side * side * 3;
  return Array.from({ length: n }, (_, i) => batch.slice(i * per, (i + 1) * per));
}

/** Preview rows (input shown at the target size, output, target) and labels, at side `size`. */
export function taskPreview(
  model: Autoencoder,
  images: DecodedImages,
  indices: readonly number[],
  spec: TaskSpec,
  seed: number,
): { rows: Float32Array[][]; labels: string[] } {
  const batch = taskBatch(spec, images, indices, fixedRngs(seed, indices));
  const output = predict(model, batch.input, batch.n, batch.inputSize);
  if (spec.task === 'reconstruct') {
    return { rows: [splitImages(batch.target, batch.n, batch.size), splitImages(output, batch.n, batch.size)], labels: ['input', 'reconstruction'] };
  }
  const shown = spec.task === 'superres' ? upscaleNearest(batch.input, batch.n, batch.inputSize, spec.scale) : batch.input;
  return {
    rows: [splitImages(shown, batch.n, batch.size), splitImages(output, batch.n, batch.size), splitImages(batch.target, batch.n, batch.size)],
    labels: [spec.task === 'superres' ? `input (1/${spec.scale})` : 'input', 'output', 'target'],
  };
}
