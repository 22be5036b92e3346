// A trained image-to-image model on held-out images: its output (predict), PSNR/SSIM of
// the output and of the task's baseline against the target (TaskMeter, evaluateTask on
// the validation split with its fixed per-image corruption), and preview rows (input,
// output, target) for contact sheets.
import * as tf from '@tensorflow/tfjs';
import { yieldToEventLoop } from '../concurrency.js';
import type { DecodedImages } from '../images/decoded.js';
import { forward, type Autoencoder } from '../model/architecture.js';
import type { TaskMetrics } from '../model/meta.js';
import { fixedRngs, taskBatch } from './batches.js';
import { baselineOutput, upscaleBicubic, upscaleNearest } from './corruptions.js';
import { QualityMeter } from './quality.js';
import type { TaskSpec } from './spec.js';

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
