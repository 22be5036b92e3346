// What a schedule does when it fires: enqueue a normal run (runs.ts enqueueRun), so a
// scheduled re-index is the same as `imgsim enqueue` (same run record, same dedup of
// work already running). The schedules themselves live in shared/queue/schedules.ts.
import type { RunRecord, RunStore } from '../../shared/runs/index.js';
import type { JobScheduler } from './deps.js';
import { enqueueRun, type EnqueueInput } from './runs.js';

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
    const record = await deps.runs.getDataset(s.dataset);
    if (record) return { source: s.source, dataset: s.dataset, mode: 'missing', modelId: record.modelId };
  }
  return { source: s.source, dataset: s.dataset, mode: 'all' };
}

export async function runScheduled(
  s: ScheduledRunInput,
  deps: { runs: RunStore; scheduler: JobScheduler },
): Promise<{ runId: string; created: boolean; mode: RunRecord['mode']; modelId?: string }> {
  const input = await resolveScheduledRun(s, deps);
  const { run, created } = await enqueueRun(input, deps);
  return { runId: run.id, created, mode: input.mode, ...(input.modelId ? { modelId: input.modelId } : {}) };
}
