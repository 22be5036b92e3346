// Train stage of a run: decode the seeded sample, train the autoencoder (for the payload's
// task: reconstruct unless the run asked for denoise/colorize/superres), store the model
// under models/<modelId>/ in the artefact store, then fan out embedding with it.
import type { JobPayload } from '../../shared/jobs/contracts.js';
import { decodeObjects } from '../ingest.js';
import { saveModel } from '../local-run.js';
import { trainAutoencoder } from '../../shared/model/training/index.js';
import type { StageDeps } from './deps.js';
import { fanOutRun } from './fan-out.js';
import { artifactKeys } from '../../shared/runs/naming.js';

export async function runTrainStage(
  p: JobPayload<'train'>,
  deps: StageDeps,
  onBatch?: (info: { epoch: number; batch: number; batches: number; loss: number }) => void | Promise<void>,
): Promise<{ modelId: string; trainImages: number }> {
  const c = deps.config;
  const source = await deps.openSource(p.source);
  const { images, failures } = await decodeObjects(source, p.sample, {
    size: c.imageSize,
    fit: c.fit,
    maxPixels: c.maxPixels,
    concurrency: c.decodeConcurrency,
    logger: deps.logger,
  });
  deps.logger.info({ runId: p.runId, decoded: images.keys.length, failed: failures.length }, 'train: sample decoded');
  const model = await trainAutoencoder(images, {
    ...c,
    source: p.source,
    logger: deps.logger,
    progressBar: false,
    ...(p.task ? { taskSpec: p.task } : {}),
    ...(onBatch ? { onBatch } : {}),
  });
  try {
    const modelId = model.meta.modelId;
    await saveModel(deps.artifacts, artifactKeys.model(modelId), model, images);
    deps.logger.info({ runId: p.runId, modelId, loss: model.meta.training.bestValidationLoss }, 'train: model stored');
    await fanOutRun(p.runId, modelId, deps);
    return { modelId, trainImages: model.meta.training.trainImages };
  } finally {
    model.encoder.dispose();
    model.decoder.dispose();
  }
}
