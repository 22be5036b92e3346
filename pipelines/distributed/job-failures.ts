// What a run records when one of its jobs gives up (stage-worker.ts calls this from the
// attempt that gives up, before the job is moved to failed, so the parent job sees it):
//   - ingest, train, publish: the run fails, with the cause and whether it was transient
//     (a publish job whose collection already went live completes the run with the cause);
//   - cluster (the map, after the run completed): the run's map is recorded as failed with
//     the cause; the run stays completed and searchable;
//   - embed, index: the batch's keys not already recorded (bad images) are marked failed
//     with reason 'transient' (a service stayed down past the retry window) or
//     '<stage>-failed'; the run then completes without going live (publish.ts).
// And what a dataset's duplicates pass records (recordDuplicatesGiveUp):
//   - duplicates (the plan or the pairs step): the pass fails, with the cause;
//   - fingerprint: nothing here; the pairs step still runs (ignoreDependencyOnFailure), finds
//     the batch's file missing and reports its images as failed ('fingerprint-failed'),
//     to be fingerprinted again by the next pass.
import type { FinalFailure } from '../../shared/queue/stage-worker.js';
import { payloadSchemas, type Stage } from '../../shared/jobs/contracts.js';
import { TRANSIENT_REASON, type RunStore } from '../../shared/runs/index.js';
import type { DuplicatePasses } from '../../shared/runs/duplicate-passes.js';

export function describeGiveUp(stage: Stage, f: Pick<FinalFailure, 'error' | 'kind' | 'attempts'>): string {
  const tries = `${f.attempts} attempt${f.attempts === 1 ? '' : 's'}`;
  switch (f.kind) {
    case 'transient':
      return `${stage} gave up after ${tries} (transient: a service stayed unreachable or failing): ${f.error.message}`;
    case 'error':
      return `${stage} failed after ${tries}: ${f.error.message}`;
    case 'permanent':
      return `${stage} failed: ${f.error.message}`;
  }
}

export async function recordGiveUp(stage: Stage, data: unknown, f: FinalFailure, runs: RunStore): Promise<void> {
  if (stage === 'duplicates' || stage === 'fingerprint') return; // not a run's: recordDuplicatesGiveUp
  const runId = (data as { runId?: unknown } | null)?.runId;
  if (typeof runId !== 'string') return;
  const message = describeGiveUp(stage, f);
  if (stage === 'cluster' && payloadSchemas.cluster.safeParse(data).data?.published === true) {
    await runs.setMap(runId, { status: 'failed', error: message });
    return;
  }
  // A cluster job queued by an older imgsim also published: it gives up as publish does.
  if ((stage === 'publish' || stage === 'cluster') && (await wentLive(data, runs))) {
    // The build went live before the job failed: searchable, so completed, with the cause.
    await runs.setStatus(runId, 'completed', { error: `${message} (the collection is live and searchable)` });
    return;
  }
  if (stage === 'ingest' || stage === 'train' || stage === 'publish' || stage === 'cluster') {
    await runs.setStatus(runId, 'failed', { error: message });
    return;
  }
  const keys = itemKeys(stage, data);
  if (keys.length === 0) return;
  const recorded = await runs.failuresOf(runId, keys);
  const fresh = keys.filter((_, i) => recorded[i] === undefined);
  const reason = f.kind === 'transient' ? TRANSIENT_REASON : `${stage}-failed`;
  if (fresh.length > 0) await runs.markFailed(runId, fresh.map((key) => ({ key, reason, message })));
}

/** Whether a publish (or cluster) job's collection is its dataset's live one. */
async function wentLive(data: unknown, runs: RunStore): Promise<boolean> {
  const p = payloadSchemas.publish.safeParse(data);
  if (!p.success) return false;
  const record = await runs.getDataset(p.data.dataset);
  return record?.collection === p.data.collection;
}

/** The item keys of an embed or index payload (none when it does not parse). */
function itemKeys(stage: 'embed' | 'index', data: unknown): string[] {
  if (stage === 'embed') {
    const p = payloadSchemas.embed.safeParse(data);
    return p.success ? p.data.objects.map((o) => o.key) : [];
  }
  const p = payloadSchemas.index.safeParse(data);
  return p.success ? p.data.keys : [];
}

/** A duplicates pass whose plan or pairs step gave up fails with the cause (see the header). */
export async function recordDuplicatesGiveUp(stage: Stage, data: unknown, f: FinalFailure, passes: DuplicatePasses): Promise<void> {
  if (stage !== 'duplicates') return;
  const p = payloadSchemas.duplicates.safeParse(data);
  if (!p.success) return;
  await passes.update(p.data.dataset, p.data.passId, { status: 'failed', finishedAt: new Date().toISOString(), error: describeGiveUp(stage, f) });
}
