// Ingest stage of a run: list the source, decide what to embed (all, or only keys whose
// version is not indexed yet for this model), remove points whose object is gone, then
// train first (no model given) or fan out the embed → index → cluster jobs.
// A `missing` run of the live collection's model updates that collection in place (it is
// recorded on the run, so the fan-out and any retry write there); every other run builds
// a new collection that goes live when the run completes (reindex.ts).
import { UserError } from '../../shared/errors.js';
import type { JobPayload } from '../../shared/jobs/contracts.js';
import { createRng, shuffled } from '../../shared/random.js';
import { listImages } from '../ingest.js';
import type { ObjectRef } from '../../shared/jobs/scheduler.js';
import type { StageDeps } from './deps.js';
import { fanOutRun } from './fan-out.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import { inPlaceTarget } from './reindex.js';

export interface IngestOutcome {
  listed: number;
  toEmbed: number;
  removed: number;
  next: 'train' | 'embed';
}

export async function runIngestStage(p: JobPayload<'ingest'>, deps: StageDeps): Promise<IngestOutcome> {
  const { runs, qdrant, config } = deps;
  await runs.setStatus(p.runId, 'listing');
  const source = await deps.openSource(p.source);
  const { images, ignored } = await listImages(source);
  let toEmbed: ObjectRef[] = images.map((o) => ({ key: o.key, etag: o.etag }));
  let removed = 0;

  if (p.mode === 'missing' && p.modelId) {
    const collection = await inPlaceTarget(p.dataset, p.modelId, deps);
    if (collection !== undefined) {
      await runs.setStatus(p.runId, 'listing', { collection });
      const indexed = await qdrant.indexedVersions(collection, p.dataset);
      const present = new Set(images.map((o) => o.key));
      const gone = [...indexed.keys()].filter((k) => !present.has(k));
      if (gone.length > 0) await qdrant.deleteKeys(collection, p.dataset, gone);
      removed = gone.length;
      toEmbed = toEmbed.filter((o) => indexed.get(o.key) !== o.etag);
    }
  }

  await runs.setTotal(p.runId, toEmbed.length + ignored.length);
  if (ignored.length > 0) await runs.markFailed(p.runId, ignored);
  await deps.artifacts.put(artifactKeys.listing(p.runId), JSON.stringify(toEmbed));
  deps.logger.info({ runId: p.runId, listed: images.length, toEmbed: toEmbed.length, removed, ignored: ignored.length }, 'ingest: listed');

  if (p.modelId) {
    await fanOutRun(p.runId, p.modelId, deps);
    return { listed: images.length, toEmbed: toEmbed.length, removed, next: 'embed' };
  }
  if (images.length < 2) throw new UserError(`Cannot train on ${images.length} image(s) in ${p.source}: at least 2 are needed`);
  const sample = shuffled(images, createRng(config.seed))
    .slice(0, config.trainSample)
    .map((o) => ({ key: o.key, etag: o.etag }));
  await runs.setStatus(p.runId, 'training');
  await deps.scheduler.train({ runId: p.runId, dataset: p.dataset, source: p.source, mode: p.mode, sample, ...(p.task ? { task: p.task } : {}) });
  return { listed: images.length, toEmbed: toEmbed.length, removed, next: 'train' };
}
