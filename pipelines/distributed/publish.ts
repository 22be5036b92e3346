// Judging and publishing a run's build, when every batch of it is indexed (or gave up):
//   1. is the build complete? Every failure is a bad image (the item's own bytes) and
//      every image is accounted for. A build with items that failed for other reasons (a
//      service down past the retry window, a bug) is held back: it does not go live, the
//      run completes with `heldBack` saying why, and `imgsim retry-failed` completes it;
//   2. a complete build goes live (one atomic alias swap, unless a newer build superseded
//      it; old collections beyond keep-last-N are deleted, see reindex.ts). An
//      incremental run updating the live collection in place is live already.
import type { JobPayload } from '../../shared/jobs/contracts.js';
import { describeOtherFailures, summariseFailures } from '../../shared/runs/index.js';
import type { CollectionHistory } from '../../shared/runs/history.js';
import type { StageDeps } from './deps.js';
import { liveCollection, publishBuild, restoreClusters, type PublishResult } from './reindex.js';

export interface BuildOutcome {
  /** The collection exists (something was indexed). */
  exists: boolean;
  /** The run updated the live collection in place. */
  inPlace: boolean;
  /** Why the build is incomplete; undefined when complete. */
  heldBack?: string;
  published: PublishResult;
}

export async function judgeAndPublish(p: JobPayload<'publish'>, deps: StageDeps, history: CollectionHistory): Promise<BuildOutcome> {
  const { qdrant } = deps;
  const exists = await qdrant.collectionExists(p.collection);
  const inPlace = exists && (await liveCollection(p.dataset, deps)) === p.collection;
  const heldBack = await incompleteReason(p, exists, inPlace, deps);

  let published: PublishResult = { live: inPlace, deleted: [], ...(exists ? {} : { reason: 'nothing was indexed' }) };
  if (!inPlace && exists && heldBack === undefined) {
    const reindex = { qdrant, runs: deps.runs, artifacts: deps.artifacts, config: deps.config, logger: deps.logger, history };
    published = await publishBuild({ dataset: p.dataset, collection: p.collection, modelId: p.modelId, runId: p.runId }, reindex);
    if (published.live) await restoreClusters(p.dataset, p.collection, deps);
  } else if (!inPlace && heldBack !== undefined) {
    published = { live: false, deleted: [], reason: heldBack };
  }
  if (!published.live) deps.logger.warn({ runId: p.runId, collection: p.collection, reason: published.reason }, 'the collection does not go live');
  if (inPlace && heldBack !== undefined) deps.logger.warn({ runId: p.runId, collection: p.collection, reason: heldBack }, 'the live collection was updated without some images');
  return { exists, inPlace, ...(heldBack !== undefined ? { heldBack } : {}), published };
}

/**
 * Why the run's build is incomplete: images that failed for other reasons than their own
 * bytes, or images neither indexed nor failed (a record lost, a job that vanished).
 * Undefined when complete.
 */
async function incompleteReason(p: JobPayload<'publish'>, exists: boolean, inPlace: boolean, deps: Pick<StageDeps, 'runs'>): Promise<string | undefined> {
  const run = await deps.runs.get(p.runId);
  const { items } = await deps.runs.failures(p.runId, { limit: Number.MAX_SAFE_INTEGER });
  const summary = summariseFailures(items.map((f) => f.reason));
  const unaccounted = run ? Math.max(0, run.total - run.done - run.failed) : 0;
  if (summary.otherTotal === 0 && unaccounted === 0) return undefined;
  const what = [
    ...(summary.otherTotal > 0 ? [`${summary.otherTotal} image(s) failed for reasons other than their own bytes (${describeOtherFailures(summary)})`] : []),
    ...(unaccounted > 0 ? [`${unaccounted} image(s) neither indexed nor recorded as failed`] : []),
  ].join('; ');
  const state = inPlace
    ? `the live collection ${p.collection} lacks them`
    : exists
      ? `collection ${p.collection} is kept but not live`
      : 'nothing was indexed';
  return `${what}; ${state} — run \`imgsim retry-failed ${p.runId}\` once the cause is fixed`;
}
