// Index stage: upsert one embedded batch into the run's Qdrant collection (point id =
// UUIDv5(dataset, key), so a redelivered job overwrites instead of duplicating) and
// mark its keys done. If the embed job gave up, its keys are recorded as failed (the
// embed job's own give-up record, e.g. 'transient', is kept; job-failures.ts).
import type { JobPayload } from '../../shared/jobs/contracts.js';
import type { StageDeps } from './deps.js';
import { readSnapshot } from './embed-stage.js';

export async function runIndexStage(p: JobPayload<'index'>, deps: StageDeps): Promise<{ indexed: number }> {
  // Every key already failed: the embed job gave up (it records its keys before it fails)
  // or the whole batch was bad images. Nothing to index, and no need to reach the
  // artefact store, which may be the very service that is down.
  const recorded = await deps.runs.failuresOf(p.runId, p.keys);
  if (recorded.every((f) => f !== undefined)) return { indexed: 0 };
  const snapshot = await readSnapshot(p.runId, p.attempt, p.batch, deps);
  if (!snapshot) {
    const unrecorded = p.keys.filter((_, i) => recorded[i] === undefined);
    if (unrecorded.length > 0) {
      await deps.runs.markFailed(
        p.runId,
        unrecorded.map((key) => ({ key, reason: 'embed-failed', message: `embed job for batch ${p.batch} failed after its retries` })),
      );
    }
    return { indexed: 0 };
  }
  const { meta, vectors, dim } = snapshot;
  if (meta.keys.length === 0) return { indexed: 0 };
  await deps.qdrant.ensureCollection(p.collection, dim);
  await deps.qdrant.upsert(
    p.collection,
    meta.keys.map((key, i) => ({
      dataset: p.dataset,
      key,
      vector: vectors.subarray(i * dim, (i + 1) * dim),
      payload: { etag: meta.etags[i] ?? '', modelId: p.modelId, width: meta.widths[i] ?? 0, height: meta.heights[i] ?? 0 },
    })),
  );
  await deps.runs.markDone(p.runId, meta.keys);
  return { indexed: meta.keys.length };
}
