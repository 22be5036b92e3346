// What a schedule does when it fires: enqueue a normal run (runs.ts enqueueRun), so a
// scheduled re-index is the same as `imgsim enqueue` (same run record, same dedup of
// work already running); a duplicates schedule enqueues the dataset's duplicates pass as
// `imgsim dataset duplicates` does (joining an active one). The schedules themselves live
// in shared/queue/schedules.ts.
import type { RunRecord, RunStore } from '../../shared/runs/index.js';
import type { DuplicatesScheduler, JobScheduler } from '../../shared/jobs/scheduler.js';
import type { ScheduledJob } from '../../shared/queue/schedules.js';
import type { DuplicatePasses } from '../../shared/runs/duplicate-passes.js';
import { enqueueDuplicates } from './duplicates-results.js';
import { currentModel, enqueueRun, type EnqueueInput, type ModelFrom } from './runs.js';

export interface ScheduledRunInput {
  dataset: string;
  source: string;
  mode: 'all' | 'missing';
  modelId?: string;
}

/**
 * The run a schedule asks for. `missing` without a model uses the dataset's current model
 * (from the registry); when the dataset has none yet, a model is trained (mode all).
 * `all` without a model trains a new model and builds a new collection.
 */
export async function resolveScheduledRun(s: ScheduledRunInput, deps: { runs: RunStore }): Promise<EnqueueInput> {
  if (s.modelId) return { source: s.source, dataset: s.dataset, mode: s.mode, modelId: s.modelId };
  if (s.mode === 'missing') {
    // The same lookup as `enqueue --mode missing` without --model; a schedule trains instead
    // of refusing, so a nightly schedule set up before the first build still builds it.
    const modelId = await currentModel(s.dataset, deps.runs);
    if (modelId) return { source: s.source, dataset: s.dataset, mode: 'missing', modelId };
  }
  return { source: s.source, dataset: s.dataset, mode: 'all' };
}

export async function runScheduled(
  s: ScheduledRunInput,
  deps: { runs: RunStore; scheduler: JobScheduler },
): Promise<{ runId: string; created: boolean; mode: RunRecord['mode']; modelId?: string; modelFrom: ModelFrom }> {
  const input = await resolveScheduledRun(s, deps);
  const { run, created } = await enqueueRun(input, deps);
  const modelFrom: ModelFrom = s.modelId ? 'request' : input.modelId ? 'dataset' : 'training';
  return { runId: run.id, created, mode: input.mode, ...(input.modelId ? { modelId: input.modelId } : {}), modelFrom };
}

/** A fired schedule of either kind: a run, or a duplicates pass of the dataset. */
export async function runScheduledJob(
  s: ScheduledJob,
  deps: { runs: RunStore; scheduler: JobScheduler & DuplicatesScheduler; passes: DuplicatePasses },
): Promise<Record<string, unknown>> {
  if (s.job === 'duplicates') {
    const { pass, created } = await enqueueDuplicates(s.dataset, s.mode, deps);
    return { passId: pass.passId, created, mode: pass.mode };
  }
  return runScheduled(s, deps);
}
