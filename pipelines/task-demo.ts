// The image-to-image demos (imgsim demo --task colorize|denoise|superres): make or take
// a dataset, train the task, apply the model to the held-out (validation) images through
// the apply pipeline, and check the demo's target:
//   denoise   PSNR(output, clean) ≥ PSNR(noisy, clean) + 3 dB on held-out images with
//             gaussian noise only (sigma --noise-sigma, 0.1 by default), whatever mix the
//             model was trained on; the trained mix and crosshair-only are reported too
//   colorize  ≥ 90% of circle pixels closer to red than to blue and ≥ 90% of square
//             pixels closer to blue than to red (known shape masks, edges excluded)
//   superres  PSNR(output) > PSNR(bicubic upscale of the same low-res input)
import path from 'node:path';
import sharp from 'sharp';
import type { Config } from '../shared/config/index.js';
import { fractionCloser, generateColorizeDataset, shapeMasks, type ColorizeDataset } from '../shared/images/synthetic-tasks.js';
import { generateShapesDataset } from '../shared/images/synthetic.js';
import type { Logger } from '../shared/logger.js';
import type { TaskMetrics } from '../shared/model/meta.js';
import { LocalStorage } from '../shared/storage/local.js';
import { openSource } from '../shared/storage/open.js';
import { applyBatch, applyModel, type TaskModel } from './apply.js';
import { batchFloats, type DecodedImages } from '../shared/images/decoded.js';
import { listSource, trainingSample } from './ingest.js';
import { OUTPUT } from './layout.js';
import { trainModel } from './train.js';
import { TaskMeter, taskSpecFromConfig, type TaskSpec } from '../shared/tasks/index.js';

export interface TaskDemoOptions {
  out: string;
  config: Config;
  /** Train on this folder instead of generated images (denoise, superres). */
  from?: string;
  /** Generated images (colorize: this many; denoise/superres: per shapes class = count / 9). */
  count: number;
  logger?: Logger;
  progressBar?: boolean;
}

export interface TargetCheck {
  name: string;
  value: number;
  required: number;
  met: boolean;
}

export interface TaskDemoReport {
  task: TaskSpec['task'];
  dataset: string;
  model: string;
  modelId: string;
  applied: string;
  preview: string;
  heldOut: number;
  /** On the held-out images, with the model's training corruption. */
  metrics: TaskMetrics;
  /** Further evaluations (denoise: gaussian only, crosshair only). */
  extra: Record<string, TaskMetrics>;
  colour?: { circleRed: number; squareBlue: number; circlePixels: number; squarePixels: number };
  targets: TargetCheck[];
  met: boolean;
  seconds: { data: number; train: number; apply: number; total: number };
}

/** Held-out metrics of `model` under another denoise spec (same per-image seeding as apply --corrupt). */
function heldOutMetrics(model: TaskModel, images: DecodedImages, indices: readonly number[], spec: TaskSpec, batchSize: number): TaskMetrics {
  const m: TaskModel = { ...model, spec };
  const meter = new TaskMeter(spec);
  for (let b = 0; b < indices.length; b += batchSize) {
    const idx = indices.slice(b, b + batchSize);
    const r = applyBatch(m, batchFloats(images, idx), idx.length, images.size, true, b);
    if (r.target && r.baseline) meter.add(r.output, r.baseline, r.target, r.n, r.outputSize);
  }
  return meter.metrics();
}

async function readRgb(file: string): Promise<{ data: Float32Array; size: number }> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: Float32Array.from(data, (v) => v / 255), size: info.width };
}

export async function runTaskDemo(o: TaskDemoOptions): Promise<TaskDemoReport> {
  const c = o.config;
  const spec = taskSpecFromConfig(c);
  if (spec.task === 'reconstruct') throw new Error('runTaskDemo: reconstruct is the embedding demo');
  const t0 = performance.now();
  let data: string;
  let labels: ColorizeDataset | undefined;
  if (spec.task === 'colorize') {
    data = path.join(o.out, 'data');
    labels = await generateColorizeDataset(data, { count: o.count, size: c.imageSize, seed: c.seed });
  } else if (o.from !== undefined) {
    data = path.resolve(o.from);
  } else {
    data = path.join(o.out, 'data');
    await generateShapesDataset(data, { perClass: Math.max(1, Math.round(o.count / 9)), size: Math.max(16, c.imageSize), seed: c.seed });
  }
  o.logger?.info({ dir: data, task: spec.task }, 'demo dataset ready');
  const common = { logger: o.logger, progressBar: o.progressBar };
  const source = await openSource(data);
  const listing = await listSource(source);
  const t1 = performance.now();

  const out = new LocalStorage(o.out);
  const sample = trainingSample(listing.images, c.trainSample, c.seed, source.uri);
  const { model: trained, images } = await trainModel({ source, sample, settings: c, task: spec, models: { storage: out, prefixOf: () => OUTPUT.modelPrefix }, ...common });
  const t2 = performance.now();

  const model: TaskModel = { ...trained, spec, location: out.resolveKey(OUTPUT.modelPrefix) };
  const heldOut = trained.validationIndices;
  const files = heldOut.map((i) => path.join(data, images.keys[i] as string));
  const appliedDir = new LocalStorage(path.join(o.out, 'apply'));
  const applied = await applyModel(model, files, appliedDir, { corrupt: true, maxPixels: c.maxPixels, concurrency: c.decodeConcurrency, batchSize: c.batchSize, previewCount: 10 });
  if (!applied.metrics) throw new Error('apply --corrupt produced no metrics');
  const metrics = applied.metrics;
  const extra: Record<string, TaskMetrics> = {};
  const targets: TargetCheck[] = [];
  let colour: TaskDemoReport['colour'];

  if (spec.task === 'denoise') {
    const gaussianOnly: TaskSpec = { task: 'denoise', noise: { ...spec.noise, kinds: ['gaussian'] } };
    extra.gaussian = heldOutMetrics(model, images, heldOut, gaussianOnly, c.batchSize);
    if (spec.noise.kinds.includes('crosshair')) {
      extra.crosshair = heldOutMetrics(model, images, heldOut, { task: 'denoise', noise: { ...spec.noise, kinds: ['crosshair'] } }, c.batchSize);
    }
    const g = extra.gaussian;
    const gain = (g.output.psnr ?? Infinity) - (g.baseline.psnr ?? Infinity);
    targets.push({ name: `PSNR gain over the noisy input, gaussian sigma ${spec.noise.sigma} (dB)`, value: gain, required: 3, met: gain >= 3 });
  } else if (spec.task === 'superres') {
    const gain = (metrics.output.psnr ?? Infinity) - (metrics.baseline.psnr ?? Infinity);
    targets.push({ name: 'PSNR gain over bicubic upscaling (dB)', value: gain, required: 0, met: gain > 0 });
  } else if (labels) {
    const byFile = new Map(labels.images.map((img) => [img.file, img.shapes]));
    let circleHits = 0;
    let circlePixels = 0;
    let squareHits = 0;
    let squarePixels = 0;
    for (const { key, file } of applied.outputs) {
      const shapes = byFile.get(key);
      if (!shapes) continue;
      const { data: rgb, size } = await readRgb(appliedDir.resolveKey(file));
      const masks = shapeMasks(shapes, labels.size, size);
      const red = [1, 0, 0];
      const blue = [0, 0, 1];
      const cr = fractionCloser(rgb, masks.circle, red, blue);
      const sb = fractionCloser(rgb, masks.square, blue, red);
      circleHits += cr.pixels > 0 ? cr.fraction * cr.pixels : 0;
      circlePixels += cr.pixels;
      squareHits += sb.pixels > 0 ? sb.fraction * sb.pixels : 0;
      squarePixels += sb.pixels;
    }
    colour = { circleRed: circleHits / circlePixels, squareBlue: squareHits / squarePixels, circlePixels, squarePixels };
    targets.push({ name: 'circle pixels closer to red than blue', value: colour.circleRed, required: 0.9, met: colour.circleRed >= 0.9 });
    targets.push({ name: 'square pixels closer to blue than red', value: colour.squareBlue, required: 0.9, met: colour.squareBlue >= 0.9 });
  }
  const t3 = performance.now();
  const s = (a: number, b: number) => (b - a) / 1000;
  return {
    task: spec.task,
    dataset: data,
    model: out.resolveKey(OUTPUT.modelPrefix),
    modelId: trained.meta.modelId,
    applied: appliedDir.root,
    preview: appliedDir.resolveKey(applied.preview),
    heldOut: heldOut.length,
    metrics,
    extra,
    ...(colour ? { colour } : {}),
    targets,
    met: targets.every((t) => t.met),
    seconds: { data: s(t0, t1), train: s(t1, t2), apply: s(t2, t3), total: s(t0, t3) },
  };
}
