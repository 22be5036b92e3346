// Run operations for the CLI and the HTTP API: enqueue a bulk dataset job (creating a
// run, or returning the active run doing the same work), and retry a run's failed items.
import type { RunRecord, RunStore } from '../../shared/runs/index.js';
import type { Storage } from '../../shared/storage/types.js';
import type { Config } from '../../shared/config/index.js';
import { ConflictError, UserError } from '../../shared/errors.js';
import { TERMINAL_STATUSES } from '../../shared/runs/types.js';
import { datasetNameSchema } from '../../shared/jobs/contracts.js';
import type { JobScheduler, ObjectRef } from '../../shared/jobs/scheduler.js';
import { fanOut } from './graph.js';
import { listingPages } from './handoffs.js';
import { describeNoise, taskLabel, type TaskSpec } from '../../shared/tasks/index.js';

export interface EnqueueInput {
  source: string;
  dataset: string;
  mode: 'all' | 'missing';
  modelId?: string;
  /** Train a model for this task (default reconstruct); excludes modelId. */
  task?: TaskSpec;
}

/** Where a run's model comes from: given, the dataset's current one (mode missing without a model), or trained by the run. */
export type ModelFrom = 'request' | 'dataset' | 'training';

export interface EnqueueResult {
  run: RunRecord;
  created: boolean;
  modelFrom: ModelFrom;
}

export async function enqueueRun(input: EnqueueInput, deps: { runs: RunStore; scheduler: JobScheduler }): Promise<EnqueueResult> {
  const name = datasetNameSchema.safeParse(input.dataset);
  if (!name.success) throw new UserError(`--dataset: received "${input.dataset}"; ${name.error.issues[0]?.message ?? 'invalid'}`);
  if (!/^(s3|file):\/\/.+/.test(input.source)) {
    throw new UserError(`source: received "${input.source}"; expected s3://bucket/prefix or file:///absolute/path`);
  }
  const task = input.task && input.task.task !== 'reconstruct' ? input.task : undefined;
  if (task && input.modelId) {
    throw new UserError(`--task ${task.task} trains a new model; it cannot be combined with --model (${input.modelId})`);
  }
  if (task && input.mode === 'missing') {
    throw new UserError(`--task ${task.task} trains a new model; --mode missing embeds with an existing one (use --mode all)`);
  }
  let modelId = input.modelId;
  let modelFrom: ModelFrom = modelId ? 'request' : 'training';
  if (input.mode === 'missing' && !modelId) {
    // "missing" = not yet indexed with a model: without one given, the model the dataset's live collection was built with.
    modelId = await currentModel(input.dataset, deps.runs);
    if (!modelId) {
      throw new ConflictError(
        `Dataset "${input.dataset}" has no current model yet (no build of it went live), so --mode missing needs --model ID; ` +
          `build it first: imgsim enqueue ${input.source} --dataset ${input.dataset} (mode all trains a model)`,
      );
    }
    modelFrom = 'dataset';
  }
  const { run, created } = await deps.runs.createOrJoin({
    source: input.source,
    dataset: input.dataset,
    mode: input.mode,
    ...(modelId ? { modelId } : {}),
    ...(task ? { task: runTaskLabel(task) } : {}),
  });
  if (!created) return { run, created, modelFrom };
  await deps.scheduler.ingest({
    runId: run.id,
    dataset: input.dataset,
    source: input.source,
    mode: input.mode,
    ...(modelId ? { modelId } : {}),
    ...(task ? { task } : {}),
  });
  return { run, created: true, modelFrom };
}

/** The model of the dataset's live collection (the registry), or undefined when none went live yet. */
export async function currentModel(dataset: string, runs: RunStore): Promise<string | undefined> {
  return (await runs.getDataset(dataset))?.modelId;
}

/** Embed and index again the items a run recorded as failed (their failure records are cleared). */
export async function retryFailed(
  runId: string,
  deps: { runs: RunStore; scheduler: JobScheduler; artifacts: Storage; config: Config },
): Promise<{ retried: number }> {
  const run = await deps.runs.get(runId);
  if (!run) throw new UserError(`Run ${runId} not found`);
  if (!run.modelId) throw new UserError(`Run ${runId} has no model yet (status ${run.status}); nothing to retry`);
  if (!TERMINAL_STATUSES.has(run.status)) {
    // Its own cluster job would judge the build while the retried images are in flight.
    throw new ConflictError(`Run ${runId} is still ${run.status}; retry its failed items once it has finished (imgsim run-status ${runId} --wait)`);
  }
  const failed = new Set(await deps.runs.failedKeys(runId));
  if (failed.size === 0) return { retried: 0 };
  await refuseIfSuperseded(run, deps.runs);
  const objects: ObjectRef[] = [];
  for await (const page of listingPages(deps.artifacts, runId)) for (const o of page) if (failed.has(o.key)) objects.push(o);
  if (objects.length === 0) return { retried: 0 };
  await deps.runs.clearFailures(runId, objects.map((o) => o.key));
  const attempt = `r${Date.now().toString(36)}`;
  await fanOut(runId, run.modelId, deps, { objects, attempt });
  return { retried: objects.length };
}

/**
 * A finished run whose collection is no longer the dataset's live one (a later build or
 * a rollback replaced it): retrying would write into a collection searches do not use.
 * The live collection gets the missing images from an incremental run instead.
 */
async function refuseIfSuperseded(run: RunRecord, runs: RunStore): Promise<void> {
  if (run.collection === undefined) return;
  // Held back (incomplete, never live): retrying is how it completes and goes live.
  if (run.heldBack !== undefined) return;
  const live = await runs.getDataset(run.dataset);
  if (!live || live.collection === run.collection) return;
  throw new ConflictError(
    `Run ${run.id} wrote to collection ${run.collection}, which is no longer live for dataset "${run.dataset}" ` +
      `(live: ${live.collection}, model ${live.modelId}); retrying would update a collection searches do not use. ` +
      `Embed what the live collection lacks instead: imgsim enqueue ${run.source} --dataset ${run.dataset} --mode missing --model ${live.modelId}`,
  );
}

/** The task as the run records it, every parameter included (it is part of the run's identity). */
export function runTaskLabel(task: TaskSpec): string {
  return task.task === 'denoise' ? `denoise (${describeNoise(task.noise)})` : taskLabel(task);
}
