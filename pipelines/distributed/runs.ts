// Run operations for the CLI and the HTTP API: enqueue a bulk dataset job (creating a
// run, or returning the active run doing the same work), and retry a run's failed items.
import type { RunRecord, RunStore } from '../../shared/runs/index.js';
import type { Storage } from '../../shared/storage/types.js';
import type { Config } from '../../shared/config/index.js';
import { UserError } from '../../shared/errors.js';
import { datasetNameSchema } from '../../shared/jobs/contracts.js';
import type { JobScheduler } from './deps.js';
import { fanOutRun, readListing } from './fan-out.js';

export interface EnqueueInput {
  source: string;
  dataset: string;
  mode: 'all' | 'missing';
  modelId?: string;
}

export async function enqueueRun(
  input: EnqueueInput,
  deps: { runs: RunStore; scheduler: JobScheduler },
): Promise<{ run: RunRecord; created: boolean }> {
  const name = datasetNameSchema.safeParse(input.dataset);
  if (!name.success) throw new UserError(`--dataset: received "${input.dataset}"; ${name.error.issues[0]?.message ?? 'invalid'}`);
  if (!/^(s3|file):\/\/.+/.test(input.source)) {
    throw new UserError(`source: received "${input.source}"; expected s3://bucket/prefix or file:///absolute/path`);
  }
  if (input.mode === 'missing' && !input.modelId) {
    throw new UserError('--mode missing needs --model ID: "missing" means not yet indexed with that model');
  }
  const { run, created } = await deps.runs.createOrJoin(input);
  if (!created) return { run, created };
  await deps.scheduler.ingest({
    runId: run.id,
    dataset: input.dataset,
    source: input.source,
    mode: input.mode,
    ...(input.modelId ? { modelId: input.modelId } : {}),
  });
  return { run, created: true };
}

/** Embed and index again the items a run recorded as failed (their failure records are cleared). */
export async function retryFailed(
  runId: string,
  deps: { runs: RunStore; scheduler: JobScheduler; artifacts: Storage; config: Config },
): Promise<{ retried: number }> {
  const run = await deps.runs.get(runId);
  if (!run) throw new UserError(`Run ${runId} not found`);
  if (!run.modelId) throw new UserError(`Run ${runId} has no model yet (status ${run.status}); nothing to retry`);
  const failed = new Set(await deps.runs.failedKeys(runId));
  const listing = await readListing(runId, deps);
  const objects = listing.filter((o) => failed.has(o.key));
  if (objects.length === 0) return { retried: 0 };
  await deps.runs.clearFailures(runId, objects.map((o) => o.key));
  const attempt = `r${Date.now().toString(36)}`;
  await fanOutRun(runId, run.modelId, deps, { objects, attempt });
  return { retried: objects.length };
}
