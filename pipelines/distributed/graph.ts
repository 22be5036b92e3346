// The pipeline graph of a queued run: which stage follows which, and what fans out.
//
//   ingest ──┬── the run has no model ──▶ train ──▶ fan out
//            └── a model was given ───────────────▶ fan out
//   fan out: the listing in batches of IMGSIM_JOB_BATCH_SIZE images; for every batch
//            embed(batch) ──▶ index(batch); once every index job has finished (done, or
//            given up and recorded): publish — judge the build, make it live (alias
//            swap), complete the run: searchable now;
//   publish ──── the build is live ──▶ cluster: the map, a follow-up job whose failure or
//            slowness never holds search back (its progress: the run's `map`).
//
// A dataset's duplicates pass (enqueued on its own, not after a run):
//   duplicates(plan) ──▶ fan out: fingerprint(batch) for every batch of new or changed
//            images; once every fingerprint job has finished: duplicates(pairs) — the
//            candidate pairs ──▶ fan out: duplicates(verify chunk) for every chunk of them;
//            once every verify job has finished: duplicates(merge) — the report.
//
// The queue handlers (handlers.ts) call `next` when their stage is done; the BullMQ
// scheduler (shared/queue/scheduler.ts) turns a fan-out into one flow (publish ← index ←
// embed). The local driver (pipelines/local-run.ts) runs the same stages in this order
// in one process, with one "batch" holding every image (its index is live at once).
import type { JobPayload, Stage } from '../../shared/jobs/contracts.js';
import type { DuplicatesScheduler, JobScheduler, ObjectRef } from '../../shared/jobs/scheduler.js';
import type { Config } from '../../shared/config/index.js';
import { collectionName } from '../../shared/runs/naming.js';
import type { RunStore } from '../../shared/runs/index.js';
import type { Storage } from '../../shared/storage/types.js';
import type { TaskSpec } from '../../shared/tasks/index.js';
import { listingPages, rebatch } from './handoffs.js';

/** The graph as data (docs, tests): each stage's successors and how they are scheduled. */
export const PIPELINE_GRAPH: { readonly [S in Stage]: { readonly next: readonly Stage[]; readonly how: string } } = {
  ingest: { next: ['train', 'embed'], how: 'train when the run has no model, else fan out embed' },
  train: { next: ['embed'], how: 'fan out embed with the model just trained' },
  embed: { next: ['index'], how: 'one index job per embed job (its batch)' },
  index: { next: ['publish'], how: 'one publish job after every index job of the fan-out' },
  publish: { next: ['cluster'], how: 'the run completes (searchable, or held back); a live build gets its cluster map' },
  cluster: { next: [], how: 'the map is recorded on the run (done or failed); the run stays completed' },
  duplicates: { next: ['fingerprint', 'duplicates'], how: 'plan: fan out fingerprint batches under the pairs step; pairs: fan out verify chunks under the merge step; merge: the pass completes (its report stored)' },
  fingerprint: { next: ['duplicates'], how: "the pass's pairs step runs after every fingerprint job of its fan-out" },
};

type GraphDeps = { runs: RunStore; artifacts: Storage; scheduler: JobScheduler; config: Pick<Config, 'jobBatchSize'> };

export const next = {
  /** After ingest: train on the sample (no model yet), or embed with the given model. */
  async ingest(
    p: { runId: string; dataset: string; source: string; mode: 'all' | 'missing'; modelId?: string; task?: TaskSpec },
    sample: () => Promise<ObjectRef[]>,
    deps: GraphDeps,
  ): Promise<'train' | 'embed'> {
    if (p.modelId) {
      await fanOut(p.runId, p.modelId, deps);
      return 'embed';
    }
    const chosen = await sample(); // refuses too few images before the run says it is training
    await deps.runs.setStatus(p.runId, 'training');
    await deps.scheduler.train({ runId: p.runId, dataset: p.dataset, source: p.source, mode: p.mode, sample: chosen, ...(p.task ? { task: p.task } : {}) });
    return 'train';
  },

  /** After train: embed the run's listing with the new model. */
  train(runId: string, modelId: string, deps: GraphDeps): Promise<void> {
    return fanOut(runId, modelId, deps);
  },

  /** After a duplicates pass's plan: fingerprint each batch, then the pairs step once they have all finished. */
  async duplicatesPlan(
    p: { passId: string; dataset: string; mode: 'all' | 'missing' },
    plan: { source: string; collection: string; modelId: string; batches: readonly ObjectRef[][] },
    deps: { scheduler: DuplicatesScheduler },
  ): Promise<'fingerprint'> {
    await deps.scheduler.fingerprintFanOut({
      passId: p.passId,
      dataset: p.dataset,
      source: plan.source,
      batches: each(plan.batches),
      pairs: { step: 'pairs', passId: p.passId, dataset: p.dataset, mode: p.mode, collection: plan.collection, modelId: plan.modelId },
    });
    return 'fingerprint';
  },

  /** After a duplicates pass's pairs step: verify each chunk of candidate pairs, then the merge step once they have all finished. */
  async duplicatesPairs(
    p: { passId: string; dataset: string; mode: 'all' | 'missing'; modelId: string },
    chunks: number,
    deps: { scheduler: DuplicatesScheduler },
  ): Promise<'duplicates'> {
    await deps.scheduler.verifyFanOut({ passId: p.passId, dataset: p.dataset, chunks, merge: { step: 'merge', passId: p.passId, dataset: p.dataset, mode: p.mode, modelId: p.modelId } });
    return 'duplicates';
  },

  /** After publish: a live build gets its cluster map (the run's map says pending already). */
  async publish(p: JobPayload<'publish'>, live: boolean, deps: Pick<GraphDeps, 'scheduler'>): Promise<'cluster' | undefined> {
    if (!live) return undefined;
    await deps.scheduler.cluster({ runId: p.runId, dataset: p.dataset, modelId: p.modelId, collection: p.collection, attempt: p.attempt, published: true });
    return 'cluster';
  },
};

/**
 * Schedule embed → index for every batch of the run's listing (or of `retry.objects`),
 * then publish. A run that already has a collection keeps it: an incremental run updates
 * the live one (chosen by ingest), a retry goes where its first fan-out went; else a new
 * one. The listing is read page by page and scheduled in chunks (the scheduler holds
 * publish back until the last chunk is in); a fan-out cut short is completed by calling
 * this again — the same batches get the same job ids.
 */
export async function fanOut(runId: string, modelId: string, deps: GraphDeps, retry?: { objects: ObjectRef[]; attempt: string }): Promise<void> {
  const run = await deps.runs.get(runId);
  if (!run) throw new Error(`Run ${runId} not found`);
  const collection = run.collection ?? collectionName(run.dataset, modelId, runId);
  const pages = retry ? onePage(retry.objects) : listingPages(deps.artifacts, runId);
  await deps.runs.setStatus(runId, 'embedding', { modelId, collection });
  await deps.scheduler.fanOut({
    runId,
    dataset: run.dataset,
    source: run.source,
    modelId,
    collection,
    batches: rebatch(pages, deps.config.jobBatchSize),
    attempt: retry?.attempt ?? '',
  });
}

// eslint-disable-next-line @typescript-eslint/require-await -- an async generator of one page
async function* onePage<T>(items: readonly T[]): AsyncGenerator<readonly T[]> {
  yield items;
}

// eslint-disable-next-line @typescript-eslint/require-await -- an async iterable of what is in memory
async function* each<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}
