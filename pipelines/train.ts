// The train stage: decode the seeded training sample, train the autoencoder for the task
// asked (reconstruct — the embedding model — unless denoise/colorize/superres), and store
// the model (encoder/, decoder/, meta.json, preview.png) in a model store: the run
// folder's model/ for the local runner, models/<modelId>/ in the artefact store for a
// queue train job. The training loop itself is shared/model/training/.
import type { Config } from '../shared/config/index.js';
import type { DecodedImages, Failure } from '../shared/images/decoded.js';
import { renderImageGrid } from '../shared/images/image-grid.js';
import type { Logger } from '../shared/logger.js';
import { saveLayersModel, saveMeta } from '../shared/model/store.js';
import { trainAutoencoder, type TrainOptions, type TrainResult } from '../shared/model/training/index.js';
import type { Storage } from '../shared/storage/types.js';
import { checkTaskSize, taskPreview, taskSpecFromMeta, type TaskSpec } from '../shared/tasks/index.js';
import type { ObjectRef } from '../shared/jobs/scheduler.js';
import { decodeObjects } from './ingest.js';

/** Where trained models are kept: `prefixOf(modelId)` in `storage`. */
export interface ModelStore {
  storage: Storage;
  prefixOf(modelId: string): string;
}

export type TrainSettings = Pick<
  Config,
  | 'imageSize'
  | 'fit'
  | 'maxPixels'
  | 'decodeConcurrency'
  | 'filters'
  | 'kernelSize'
  | 'epochs'
  | 'batchSize'
  | 'trainThreads'
  | 'learningRate'
  | 'optimizer'
  | 'weightDecay'
  | 'patience'
  | 'validationSplit'
  | 'seed'
>;

export interface TrainInput {
  source: Storage;
  /** The seeded sample (ingest.ts trainingSample). */
  sample: readonly ObjectRef[];
  settings: TrainSettings;
  /** Default reconstruct (the embedding autoencoder). */
  task?: TaskSpec;
  models: ModelStore;
  logger?: Logger;
  progressBar?: boolean;
  onBatch?: TrainOptions['onBatch'];
}

export interface Trained {
  /** The trained encoder and decoder (the caller disposes them) and meta.json. */
  model: TrainResult;
  /** Where the model was stored (storage URI + prefix). */
  location: string;
  /** The decoded sample (previews, the raw-pixel baseline of `eval`). */
  images: DecodedImages;
  /** Sample images that did not decode (the embed stage records them for the run). */
  failures: Failure[];
}

export async function trainModel(input: TrainInput): Promise<Trained> {
  const s = input.settings;
  // A size the encoder cannot take is refused before any image is decoded.
  checkTaskSize(input.task ?? { task: 'reconstruct' }, s.imageSize, s.filters);
  const { images, failures } = await decodeObjects(input.source, input.sample, {
    size: s.imageSize,
    fit: s.fit,
    maxPixels: s.maxPixels,
    concurrency: s.decodeConcurrency,
    ...(input.logger ? { logger: input.logger } : {}),
    ...(input.progressBar !== undefined ? { progressBar: input.progressBar } : {}),
  });
  input.logger?.info({ decoded: images.keys.length, failed: failures.length }, 'train: sample decoded');
  const model = await trainAutoencoder(images, {
    filters: s.filters,
    kernelSize: s.kernelSize,
    epochs: s.epochs,
    batchSize: s.batchSize,
    trainThreads: s.trainThreads,
    learningRate: s.learningRate,
    optimizer: s.optimizer,
    weightDecay: s.weightDecay,
    patience: s.patience,
    validationSplit: s.validationSplit,
    seed: s.seed,
    fit: s.fit,
    source: input.source.uri,
    ...(input.task ? { taskSpec: input.task } : {}),
    ...(input.logger ? { logger: input.logger } : {}),
    ...(input.progressBar !== undefined ? { progressBar: input.progressBar } : {}),
    ...(input.onBatch ? { onBatch: input.onBatch } : {}),
  });
  try {
    const prefix = input.models.prefixOf(model.meta.modelId);
    await saveTrainedModel(input.models.storage, prefix, model, images);
    return { model, location: `${input.models.storage.uri}/${prefix}`, images, failures };
  } catch (error) {
    model.encoder.dispose();
    model.decoder.dispose();
    throw error;
  }
}

/** encoder/, decoder/, meta.json and preview.png (validation inputs above their outputs; tasks: input / output / target). */
export async function saveTrainedModel(out: Storage, prefix: string, model: TrainResult, images: DecodedImages): Promise<void> {
  await saveLayersModel(model.encoder, out, `${prefix}encoder/`);
  await saveLayersModel(model.decoder, out, `${prefix}decoder/`);
  await saveMeta(out, prefix, model.meta);
  const shown = spread(model.validationIndices, 8);
  const preview = taskPreview(model, images, shown, taskSpecFromMeta(model.meta), model.meta.taskParams?.seed ?? 0);
  await out.put(`${prefix}preview.png`, await renderImageGrid(preview.rows, images.size, { rowLabels: preview.labels }));
}

/** Up to n items evenly spread over the list (previews show more than the first class). */
function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)] as T);
}
