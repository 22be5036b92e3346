// Split a run's listing into embed batches and schedule embed → index → cluster.
import { z } from 'zod';
import type { ObjectRef } from '../../shared/jobs/scheduler.js';
import type { StageDeps } from './deps.js';
import { artifactKeys, collectionName } from '../../shared/runs/naming.js';

const listingSchema = z.array(z.object({ key: z.string(), etag: z.string() }));

export async function readListing(runId: string, deps: Pick<StageDeps, 'artifacts'>): Promise<ObjectRef[]> {
  const raw: unknown = JSON.parse((await deps.artifacts.get(artifactKeys.listing(runId))).toString('utf8'));
  return listingSchema.parse(raw);
}

export function inBatches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function fanOutRun(
  runId: string,
  modelId: string,
  deps: Pick<StageDeps, 'runs' | 'artifacts' | 'scheduler' | 'config'>,
  retry?: { objects: ObjectRef[]; attempt: string },
): Promise<void> {
  const run = await deps.runs.get(runId);
  if (!run) throw new Error(`Run ${runId} not found`);
  // A run that already has a collection keeps it: an incremental run updates the live
  // one (chosen by ingest), a retry goes where its first fan-out went. Else a new one.
  const collection = run.collection ?? collectionName(run.dataset, modelId, runId);
  const listing = retry?.objects ?? (await readListing(runId, deps));
  await deps.runs.setStatus(runId, 'embedding', { modelId, collection });
  await deps.scheduler.fanOut({
    runId,
    dataset: run.dataset,
    source: run.source,
    modelId,
    collection,
    batches: inBatches(listing, deps.config.jobBatchSize),
    attempt: retry?.attempt ?? '',
  });
}
