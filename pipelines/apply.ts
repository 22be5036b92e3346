// Apply: run a trained model (any task) on images and write one output PNG per input,
// a preview grid (input / output / target when known) and, when targets are known,
// PSNR/SSIM of the output and of the baseline.
//
// Images are decoded to the model's fixed side (meta.json inputSize, its resize fit).
// What the input and target are (docs/tasks.md):
//   reconstruct  input = the image, target = the image
//   denoise      corrupt: input = the model's own training noise on the image (seeded per
//                image), target = the image; otherwise input = the image, no target
//   colorize     input = the image's greyscale, target = the image
//   superres     corrupt: decoded at the output side, input = its area downscale by the
//                model's scale, target = the decoded image; otherwise the decoded image
//                (at the input side) is the low-res input and the output is scale× larger
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../shared/config/index.js';
import { mapConcurrent } from '../shared/concurrency.js';
import { errorMessage, UserError } from '../shared/errors.js';
import { decodeImage } from '../shared/images/decode.js';
import { isImagePath } from '../shared/images/formats.js';
import { renderImageGrid, toBytes } from '../shared/images/image-grid.js';
import sharp from 'sharp';
import type { Logger } from '../shared/logger.js';
import type { Autoencoder } from '../shared/model/architecture.js';
import type { ModelMeta, TaskMetrics } from '../shared/model/meta.js';
import { loadLayersModel, loadMeta, META_FILE } from '../shared/model/store.js';
import { createRng } from '../shared/random.js';
import { LocalStorage } from '../shared/storage/local.js';
import { openSource, s3ConfigFrom } from '../shared/storage/open.js';
import type { Storage } from '../shared/storage/types.js';
import type { Failure } from '../shared/images/decoded.js';
import { failureOf } from '../shared/images/failures.js';
import { listImages } from './ingest.js';
import { resolveModelFolder } from './model-folder.js';
import { APPLY_FILES } from './output-folder.js';
import {
  baselineOutput,
  imageSeed,
  predict,
  splitImages,
  taskInput,
  taskLabel,
  TaskMeter,
  TASKS,
  taskSpecFromMeta,
  upscaleNearest,
  type Task,
  type TaskSpec,
} from '../shared/tasks/index.js';

export interface TaskModel extends Autoencoder {
  meta: ModelMeta;
  spec: TaskSpec;
  /** Where it was loaded from. */
  location: string;
}

/**
 * Loads a model given as its folder (with meta.json), the output folder of train/run
 * (with model/meta.json), or a model id in the artefact store (models/<id>/).
 */
export async function loadTaskModel(ref: string, config?: Config): Promise<TaskModel> {
  let storage: Storage | undefined;
  let prefix = '';
  const folder = await resolveModelFolder(ref);
  if (folder !== undefined) storage = new LocalStorage(folder);
  else if (/^[\w.-]+$/.test(ref) && config) {
    const artifacts = await openSource(config.artifacts, { s3: s3ConfigFrom(config) }).catch(() => undefined);
    if (artifacts && (await artifacts.exists(`models/${ref}/${META_FILE}`).catch(() => false))) {
      storage = artifacts;
      prefix = `models/${ref}/`;
    }
  }
  if (!storage) {
    throw new UserError(
      `--model: no model found at "${ref}": expected a model folder (with ${META_FILE}), an output folder of train/run (with model/${META_FILE}), or a model id in IMGSIM_ARTIFACTS (${config?.artifacts ?? 'not configured'})`,
    );
  }
  const meta = await loadMeta(storage, prefix);
  const encoder = await loadLayersModel(storage, `${prefix}encoder/`);
  const decoder = await loadLayersModel(storage, `${prefix}decoder/`);
  return { meta, encoder, decoder, spec: taskSpecFromMeta(meta), location: `${storage.uri}/${prefix}` };
}

/** Refuses a model trained for another task than `expected`, naming the model's task. */
export function checkExpectedTask(model: Pick<TaskModel, 'meta' | 'spec'>, expected: string | undefined): void {
  if (expected === undefined) return;
  const tasks: readonly string[] = TASKS;
  if (!tasks.includes(expected)) throw new UserError(`--expect-task: expected one of ${tasks.join(', ')}, received "${expected}"`);
  if (model.spec.task !== expected) {
    throw new UserError(`model ${model.meta.modelId} was trained for ${taskLabel(model.spec)}, not ${expected}`);
  }
}

/** Sides of a model: the encoder's input and the decoder's output. */
export function modelSides(model: Pick<TaskModel, 'meta' | 'spec'>): { inputSize: number; outputSize: number } {
  const inputSize = model.meta.inputSize;
  return { inputSize, outputSize: model.spec.task === 'superres' ? inputSize * model.spec.scale : inputSize };
}

export interface AppliedBatch {
  n: number;
  input: Float32Array;
  inputSize: number;
  output: Float32Array;
  outputSize: number;
  /** Known targets (outputSize), or undefined. */
  target?: Float32Array;
  /** What the model must beat (outputSize), when the target is known. */
  baseline?: Float32Array;
}

/**
 * Runs the model on n decoded images (side `side`: the output side for superres with
 * corrupt, else the input side). `firstIndex` numbers the images for the per-image
 * corruption seed.
 */
export function applyBatch(model: TaskModel, images: Float32Array, n: number, side: number, corrupt: boolean, firstIndex = 0): AppliedBatch {
  const spec = model.spec;
  const { inputSize, outputSize } = modelSides(model);
  const seed = model.meta.taskParams?.seed ?? 0;
  // Reconstruct and colorize always make their input from the image; denoise and superres only with corrupt.
  const made = corrupt || spec.task === 'reconstruct' || spec.task === 'colorize';
  const input = made ? taskInput(spec, images, n, side, (i) => createRng(imageSeed(seed, firstIndex + i))) : images;
  const target = made ? images : undefined;
  const output = predict(model, input, n, inputSize);
  const baseline = target === undefined ? undefined : baselineOutput(spec, input, n, outputSize);
  return { n, input, inputSize, output, outputSize, ...(target ? { target } : {}), ...(baseline ? { baseline } : {}) };
}

export interface ApplyOptions {
  corrupt: boolean;
  maxPixels: number;
  concurrency: number;
  batchSize: number;
  /** Images shown in the preview grid (evenly spread over the inputs). */
  previewCount?: number;
  logger?: Logger;
}

export interface ApplyResult {
  task: Task;
  modelId: string;
  inputSize: number;
  outputSize: number;
  /** Input key → written output file (relative to the output folder). */
  outputs: Array<{ key: string; file: string }>;
  failures: Failure[];
  preview: string;
  metrics?: TaskMetrics;
}

interface InputImage {
  /** Its path relative to the inputs' common folder ('/'-separated): failures and outputs name it. */
  key: string;
  read: () => Promise<Buffer>;
}

/**
 * Every image named, once: files as they are, folders listed recursively. An image's key is
 * its path relative to the deepest folder holding every input (a single folder: the folder
 * itself, so keys are paths within it; `a/ b/`: `a/…` and `b/…`; inputs with nothing in
 * common but the filesystem root: their path from the root), so two inputs never share a key.
 * A file named twice (or also inside a named folder) is applied once.
 */
export async function collectInputs(paths: readonly string[]): Promise<{ images: InputImage[]; ignored: Failure[] }> {
  const found: Array<{ file: string; read: () => Promise<Buffer> }> = [];
  const skipped: Array<{ file: string; failure: Failure }> = [];
  const roots: string[] = [];
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined);
    if (!info) throw new UserError(`Input not found: ${p}`);
    const abs = path.resolve(p);
    if (info.isDirectory()) {
      roots.push(abs);
      const source = await openSource(p);
      const listed = await listImages(source);
      for (const f of listed.ignored) skipped.push({ file: path.join(abs, f.key), failure: f });
      for (const obj of listed.images) found.push({ file: path.join(abs, obj.key), read: () => source.get(obj.key) });
    } else {
      roots.push(path.dirname(abs));
      if (isImagePath(p)) found.push({ file: abs, read: () => readFile(abs) });
      else skipped.push({ file: abs, failure: { key: '', reason: 'not-an-image', message: 'extension is not a supported image type' } });
    }
  }
  const base = commonFolder(roots);
  const keyOf = (file: string): string => path.relative(base, file).split(path.sep).join('/');
  const seen = new Set<string>();
  const images: InputImage[] = [];
  for (const f of found) {
    if (seen.has(f.file)) continue;
    seen.add(f.file);
    images.push({ key: keyOf(f.file), read: f.read });
  }
  const ignored = skipped.filter((s) => !seen.has(s.file) && (seen.add(s.file), true)).map((s) => ({ ...s.failure, key: keyOf(s.file) }));
  return { images, ignored };
}

/** The deepest folder holding every one of `folders` (absolute paths). */
export function commonFolder(folders: readonly string[]): string {
  const split = folders.map((f) => f.split(path.sep));
  const first = split[0] ?? [];
  let n = 0;
  while (n < first.length && split.every((s) => s[n] === first[n])) n++;
  return first.slice(0, n).join(path.sep) || path.sep;
}

/** PNG bytes of one size×size float image. */
async function pngOf(img: Float32Array, size: number): Promise<Buffer> {
  return sharp(toBytes(img), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

/**
 * Output file of each input key: the same folders, .png. Names that would meet — `a.png`
 * and `a.jpg`, names differing only in case (one file on macOS and Windows), or the
 * preview's name — get a suffix from a hash of the key, so no output replaces another.
 */
export function outputFilesOf(keys: readonly string[], reserved: readonly string[] = [APPLY_FILES.preview]): string[] {
  const taken = new Set(reserved.map((r) => r.toLowerCase()));
  return keys.map((key) => {
    const stem = key.replace(/\.[^./]+$/, '');
    let file = `${stem}.png`;
    if (taken.has(file.toLowerCase())) {
      const base = `${stem}-${createHash('sha1').update(key).digest('hex').slice(0, 8)}`;
      file = `${base}.png`;
      for (let i = 2; taken.has(file.toLowerCase()); i++) file = `${base}-${i}.png`;
    }
    taken.add(file.toLowerCase());
    return file;
  });
}

export async function applyModel(model: TaskModel, paths: readonly string[], out: Storage, o: ApplyOptions): Promise<ApplyResult> {
  const { images, ignored } = await collectInputs(paths);
  if (images.length === 0) throw new UserError(`No images found in ${paths.join(', ')}`);
  const files = outputFilesOf(images.map((img) => img.key));
  const fileOf = new Map(images.map((img, i) => [img, files[i] as string]));
  // apply.json first: it marks the folder as apply's (output-folder.ts) even if this run stops early.
  const head = { version: 1, modelId: model.meta.modelId, task: model.spec.task, inputs: paths.map((p) => path.resolve(p)) };
  await out.put(APPLY_FILES.summary, JSON.stringify({ ...head, complete: false }, null, 2));
  const { inputSize, outputSize } = modelSides(model);
  const side = model.spec.task === 'superres' && o.corrupt ? outputSize : inputSize;
  const failures: Failure[] = [...ignored];
  const outputs: ApplyResult['outputs'] = [];
  const meter = new TaskMeter(model.spec);
  const previewCount = o.previewCount ?? 8;
  const shownAt = new Set(Array.from({ length: Math.min(previewCount, images.length) }, (_, i) => Math.floor((i * images.length) / Math.min(previewCount, images.length))));
  const rows: { input: Float32Array[]; output: Float32Array[]; target: Float32Array[] } = { input: [], output: [], target: [] };
  let index = 0;
  for (let b = 0; b < images.length; b += o.batchSize) {
    const chunk = images.slice(b, b + o.batchSize);
    const decoded = await mapConcurrent(chunk, o.concurrency, async (img, i) => {
      try {
        return { img, at: b + i, data: (await decodeImage(await img.read(), { size: side, fit: model.meta.fit, maxPixels: o.maxPixels })).data };
      } catch (error) {
        const failure = failureOf(img.key, error);
        if (!failure) throw error; // not the image's fault: stop, as for a bad --model
        failures.push(failure);
        return undefined;
      }
    });
    const good = decoded.flatMap((d) => (d ? [d] : []));
    if (good.length === 0) continue;
    const per = side * side * 3;
    const batch = new Float32Array(good.length * per);
    good.forEach((g, i) => batch.set(g.data, i * per));
    const r = applyBatch(model, batch, good.length, side, o.corrupt, index);
    const outs = splitImages(r.output, r.n, outputSize);
    const ins = splitImages(model.spec.task === 'superres' ? upscaleNearest(r.input, r.n, r.inputSize, model.spec.scale) : r.input, r.n, outputSize);
    const targets = r.target ? splitImages(r.target, r.n, outputSize) : undefined;
    if (r.target && r.baseline) meter.add(r.output, r.baseline, r.target, r.n, outputSize);
    for (const [i, g] of good.entries()) {
      const file = fileOf.get(g.img) as string;
      try {
        await out.put(file, await pngOf(outs[i] as Float32Array, outputSize));
      } catch (error) {
        throw new Error(`Cannot write ${file}: ${errorMessage(error)}`);
      }
      outputs.push({ key: g.img.key, file });
      if (shownAt.has(g.at)) {
        rows.input.push(ins[i] as Float32Array);
        rows.output.push(outs[i] as Float32Array);
        if (targets) rows.target.push(targets[i] as Float32Array);
      }
    }
    index += chunk.length;
    o.logger?.debug({ done: Math.min(images.length, b + chunk.length), total: images.length }, 'apply');
  }
  const previewRows = [rows.input, rows.output, ...(rows.target.length === rows.input.length && rows.target.length > 0 ? [rows.target] : [])];
  const inputLabel = model.spec.task === 'superres' && side === outputSize ? `input (1/${model.spec.scale})` : 'input';
  const preview = APPLY_FILES.preview;
  if (rows.input.length > 0) {
    await out.put(preview, await renderImageGrid(previewRows, outputSize, { rowLabels: [inputLabel, 'output', 'target'].slice(0, previewRows.length) }));
  }
  const result: ApplyResult = {
    task: model.spec.task,
    modelId: model.meta.modelId,
    inputSize,
    outputSize,
    outputs,
    failures,
    preview,
    ...(meter.count > 0 ? { metrics: meter.metrics() } : {}),
  };
  await out.put(APPLY_FILES.summary, JSON.stringify({ ...head, complete: true, ...result }, null, 2));
  return result;
}
