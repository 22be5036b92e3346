// Embed stage: decode one batch of a run from the source, encode it with the run's
// model and write an embedding snapshot (.npy + keys/versions/sizes) to the artefact
// store for the index stage. Images that cannot be decoded are recorded on the run.
import { z } from 'zod';
import type { JobPayload } from '../../shared/jobs/contracts.js';
import { decodeNpy, encodeNpy } from '../../shared/npy.js';
import { batchFloats } from '../../shared/images/decoded.js';
import { encodeBatch, embeddingDimOf } from '../embed.js';
import { decodeObjects } from '../ingest.js';
import type { StageDeps } from './deps.js';
import type { ModelCache } from '../../shared/model/cache.js';
import { artifactKeys } from '../../shared/runs/naming.js';

export const snapshotMetaSchema = z.object({
  modelId: z.string(),
  keys: z.array(z.string()),
  etags: z.array(z.string()),
  widths: z.array(z.number()),
  heights: z.array(z.number()),
});

export type SnapshotMeta = z.infer<typeof snapshotMetaSchema>;

export async function runEmbedStage(
  p: JobPayload<'embed'>,
  deps: StageDeps,
  models: ModelCache,
): Promise<{ embedded: number; failed: number }> {
  const { meta, encoder } = await models.get(p.modelId);
  const source = await deps.openSource(p.source);
  const { images, failures } = await decodeObjects(source, p.objects, {
    size: meta.inputSize,
    fit: meta.fit,
    maxPixels: deps.config.maxPixels,
    concurrency: deps.config.decodeConcurrency,
  });
  if (failures.length > 0) await deps.runs.markFailed(p.runId, failures);
  const n = images.keys.length;
  const dim = embeddingDimOf(encoder);
  const vectors = new Float32Array(n * dim);
  const step = deps.config.embedBatchSize;
  for (let start = 0; start < n; start += step) {
    const idx = Array.from({ length: Math.min(step, n - start) }, (_, i) => start + i);
    vectors.set(encodeBatch(encoder, batchFloats(images, idx), idx.length, images.size), start * dim);
  }
  const snapshot: SnapshotMeta = { modelId: p.modelId, keys: images.keys, etags: images.etags, widths: images.widths, heights: images.heights };
  await deps.artifacts.put(artifactKeys.snapshot(p.runId, p.attempt, p.batch), encodeNpy({ rows: n, cols: dim, data: vectors }));
  await deps.artifacts.put(artifactKeys.snapshotIds(p.runId, p.attempt, p.batch), JSON.stringify(snapshot));
  // An earlier attempt may have recorded these keys as given up (it lost its lock, this one
  // ran on): they are embedded now, and the index job must not skip them.
  if (images.keys.length > 0) await deps.runs.clearFailures(p.runId, images.keys);
  return { embedded: n, failed: failures.length };
}

export async function readSnapshot(
  runId: string,
  attempt: string,
  batch: number,
  deps: Pick<StageDeps, 'artifacts'>,
): Promise<{ meta: SnapshotMeta; vectors: Float32Array; dim: number } | undefined> {
  if (!(await deps.artifacts.exists(artifactKeys.snapshotIds(runId, attempt, batch)))) return undefined;
  const meta = snapshotMetaSchema.parse(JSON.parse((await deps.artifacts.get(artifactKeys.snapshotIds(runId, attempt, batch))).toString('utf8')));
  const m = decodeNpy(await deps.artifacts.get(artifactKeys.snapshot(runId, attempt, batch)));
  if (m.rows !== meta.keys.length) throw new Error(`Snapshot ${runId}/${batch}: ${m.rows} vectors for ${meta.keys.length} keys`);
  return { meta, vectors: m.data, dim: m.cols };
}
