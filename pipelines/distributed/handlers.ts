// The queue driver: one handler per stage, each calling the same stage function as the
// local driver (pipelines/local-run.ts) with remote adapters — the run's source, the
// artefact store as model store and hand-off store, the run's Qdrant collection as
// vector index — plus the run's bookkeeping (status, counts, failures) and the next
// step of the pipeline graph (graph.ts). Payloads arrive parsed (shared/jobs/contracts.ts).
import type { JobPayload } from '../../shared/jobs/contracts.js';
import type { JobHandle, StageHandlers } from '../../shared/jobs/handlers.js';
import type { ModelCache } from '../../shared/model/cache.js';
import type { DuplicatePasses } from '../../shared/runs/duplicate-passes.js';
import type { CollectionHistory } from '../../shared/runs/history.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import { QdrantVectorIndex } from '../../shared/vectors/qdrant/index.js';
import { clusterIndex, type ClusterProgress } from '../cluster.js';
import { embedImages } from '../embed.js';
import { indexVectors } from '../index-vectors.js';
import { trainModel } from '../train.js';
import type { StageDeps } from './deps.js';
import { pairsStep } from './duplicates-pairs.js';
import { fingerprintBatch, planPass } from './duplicates-plan.js';
import { mergeStep, verifyStep } from './duplicates-verify.js';
import { next } from './graph.js';
import { readListingManifest, readSnapshot, writeSnapshot } from './handoffs.js';
import { listIntoPages, sampleOfListing } from './ingest-listing.js';
import { judgeAndPublish } from './publish.js';
import { liveCollection, restoreClusters } from './reindex.js';

export interface WorkerState {
  /** Encoders loaded once per worker process (a run's embed jobs share one). */
  models: ModelCache;
  history: CollectionHistory;
  /** Each dataset's duplicates pass (status, counts). */
  passes: DuplicatePasses;
}

export function stageHandlers(deps: StageDeps, state: WorkerState): StageHandlers {
  return {
    ingest: (p) => ingestJob(p, deps),
    train: (p, job) => trainJob(p, deps, job),
    embed: (p) => embedJob(p, deps, state.models),
    index: (p) => indexJob(p, deps),
    publish: (p) => publishJob(p, deps, state.history),
    cluster: (p, job) => clusterJob(p, deps, state.history, job),
    // A dataset's duplicates pass (docs/duplicates.md "Queued datasets"): plan → fingerprint
    // batches → pairs (candidates) → verify chunks → merge: duplicates-plan.ts,
    // duplicates-pairs.ts, duplicates-verify.ts.
    duplicates: (p, job) => {
      const d = { ...deps, passes: state.passes };
      switch (p.step) {
        case 'plan':
          return planPass(p, d);
        case 'pairs':
          return pairsStep(p, d, job);
        case 'verify':
          return verifyStep(p, d, job);
        case 'merge':
          return mergeStep(p, d);
      }
    },
    fingerprint: (p) => fingerprintBatch(p, { ...deps, passes: state.passes }),
  };
}

/**
 * List the source and decide what to embed: everything, or (a `missing` run of the live
 * collection's model) only what that collection lacks, removing the points whose object
 * is gone — such a run updates the live collection in place; every other run builds a
 * new collection that goes live when the run completes (publish.ts). The listing streams
 * into pages in the artefact store (handoffs.ts), never held whole; a retried ingest job
 * whose listing was committed uses it as it is (the run's batches stay what they were).
 */
async function ingestJob(p: JobPayload<'ingest'>, deps: StageDeps) {
  const listed = (await readListingManifest(deps.artifacts, p.runId)) ?? (await listIntoPages(p, deps));
  await deps.runs.setTotal(p.runId, listed.toEmbed + listed.ignored);
  const counts = { listed: listed.listed, toEmbed: listed.toEmbed, removed: listed.removed, ignored: listed.ignored };
  deps.logger.info({ runId: p.runId, ...counts }, 'ingest: listed');
  const then = await next.ingest(p, () => sampleOfListing(p, deps), deps);
  return { ...counts, next: then };
}

/**
 * Train on the run's sample, store the model under models/<modelId>/, then embed with it.
 * A retry of a train job whose fan-out had begun (its worker was killed while scheduling
 * a large listing) does not train again: it completes that fan-out with the same model.
 */
async function trainJob(p: JobPayload<'train'>, deps: StageDeps, job: JobHandle) {
  // A run that trains gets its modelId only once the model is stored (the fan-out records it).
  const run = await deps.runs.get(p.runId);
  if (run?.modelId !== undefined) {
    deps.logger.info({ runId: p.runId, modelId: run.modelId }, 'train: the model was trained by an earlier attempt; completing its fan-out');
    await next.train(p.runId, run.modelId, deps);
    return { modelId: run.modelId, resumed: true };
  }
  const trained = await trainModel({
    source: await deps.openSource(p.source),
    sample: p.sample,
    settings: deps.config,
    ...(p.task ? { task: p.task } : {}),
    models: { storage: deps.artifacts, prefixOf: artifactKeys.model },
    logger: deps.logger,
    progressBar: false,
    onBatch: async ({ epoch, batch, batches }) => {
      if (batch === batches) await job.updateProgress({ epoch });
    },
  });
  try {
    const { modelId, training } = trained.model.meta;
    deps.logger.info({ runId: p.runId, modelId, loss: training.bestValidationLoss }, 'train: model stored');
    await next.train(p.runId, modelId, deps);
    return { modelId, trainImages: training.trainImages };
  } finally {
    trained.model.encoder.dispose();
    trained.model.decoder.dispose();
  }
}

/** Embed one batch; its bad images go on the run, its vectors to the artefact store for the index job. */
async function embedJob(p: JobPayload<'embed'>, deps: StageDeps, models: ModelCache) {
  const c = deps.config;
  const { embedded, failures } = await embedImages({
    source: await deps.openSource(p.source),
    objects: p.objects,
    model: await models.get(p.modelId),
    settings: { maxPixels: c.maxPixels, batchSize: c.embedBatchSize, concurrency: c.decodeConcurrency },
    progressBar: false,
  });
  if (failures.length > 0) await deps.runs.markFailed(p.runId, failures);
  await writeSnapshot(deps.artifacts, p, embedded);
  // An earlier attempt may have recorded these keys as given up (it lost its lock, this one
  // ran on): they are embedded now, and the index job must not skip them.
  if (embedded.keys.length > 0) await deps.runs.clearFailures(p.runId, embedded.keys);
  return { embedded: embedded.keys.length, failed: failures.length };
}

/**
 * Index one embedded batch into the run's collection and mark its keys done. If the embed
 * job gave up, its keys are recorded as failed (the embed job's own give-up record, e.g.
 * 'transient', is kept: job-failures.ts).
 */
async function indexJob(p: JobPayload<'index'>, deps: StageDeps) {
  // Every key already failed: the embed job gave up (it records its keys before it fails)
  // or the whole batch was bad images. Nothing to index, and no need to reach the
  // artefact store, which may be the very service that is down.
  const recorded = await deps.runs.failuresOf(p.runId, p.keys);
  if (recorded.every((f) => f !== undefined)) return { indexed: 0 };
  const embedded = await readSnapshot(deps.artifacts, p);
  if (!embedded) {
    const unrecorded = p.keys.filter((_, i) => recorded[i] === undefined);
    const message = `embed job for batch ${p.batch} failed after its retries`;
    if (unrecorded.length > 0) await deps.runs.markFailed(p.runId, unrecorded.map((key) => ({ key, reason: 'embed-failed', message })));
    return { indexed: 0 };
  }
  if (embedded.keys.length === 0) return { indexed: 0 };
  const index = await QdrantVectorIndex.open(deps.qdrant, { collection: p.collection, dataset: p.dataset, modelId: p.modelId, dim: embedded.dim });
  const result = await indexVectors(index, embedded);
  await deps.runs.markDone(p.runId, embedded.keys);
  return result;
}

/**
 * Once every batch is indexed (or gave up): judge the build, make it live (publish.ts) and
 * complete the run — searchable now; a live build then gets its cluster map as a
 * follow-up job (graph.ts), which never holds search back.
 */
async function publishJob(p: JobPayload<'publish'>, deps: StageDeps, history: CollectionHistory) {
  await deps.runs.setStatus(p.runId, 'publishing');
  const build = await judgeAndPublish(p, deps, history);
  const { live, previous, deleted } = build.published;
  const points = live ? await deps.qdrant.count(p.collection, { dataset: p.dataset }) : 0;
  // Complete but not live: a newer build (or a rollback) superseded it meanwhile.
  const superseded = build.heldBack === undefined && build.exists && !live ? `not live: ${build.published.reason ?? 'superseded'}` : undefined;
  // The map is pending before the run says completed: a waiter for the map never sees a gap.
  if (live) await deps.runs.setMap(p.runId, { status: 'pending' });
  await deps.runs.setStatus(p.runId, 'completed', { ...(build.heldBack !== undefined ? { heldBack: build.heldBack } : {}), ...(superseded ? { error: superseded } : {}) });
  const then = await next.publish(p, live, deps);
  deps.logger.info({ runId: p.runId, points, live, previous, deleted, heldBack: build.heldBack, map: then !== undefined }, 'publish: run completed');
  return { points, live, deleted, ...(build.heldBack !== undefined ? { heldBack: build.heldBack } : {}) };
}

/**
 * The cluster map of a published collection (the cluster stage, in a child process;
 * progress → the job and the run's `map`). The dataset-level clusters.json/png follow
 * only while the collection is live. A cluster job of a run that was never published (a
 * job queued by an older imgsim, whose cluster stage also published) publishes first.
 */
async function clusterJob(p: JobPayload<'cluster'>, deps: StageDeps, history: CollectionHistory, job: JobHandle) {
  if (!p.published) {
    const published = await publishJob(p, deps, history);
    if (!published.live) return { ...published, mapped: false };
  }
  await deps.runs.setMap(p.runId, { status: 'running' });
  const result = await mapCollection(p, deps, job);
  if (result && (await liveCollection(p.dataset, deps)) === p.collection) await restoreClusters(p.dataset, p.collection, deps);
  await deps.runs.setMap(p.runId, { status: 'done', ...(result ? { k: result.k, points: result.points.length } : { points: 0 }) });
  deps.logger.info({ runId: p.runId, collection: p.collection, k: result?.k, points: result?.points.length ?? 0 }, 'cluster: map done');
  return { mapped: result !== undefined, ...(result ? { k: result.k, points: result.points.length } : {}) };
}

async function mapCollection(p: JobPayload<'cluster'>, deps: StageDeps, job: JobHandle) {
  const index = await QdrantVectorIndex.existing(deps.qdrant, { collection: p.collection, dataset: p.dataset, modelId: p.modelId });
  let lastReport = 0;
  const report = (progress: ClusterProgress): void => {
    const now = Date.now();
    if (now - lastReport < 1000 && progress.phase === 'tsne') return;
    lastReport = now;
    const reported = Promise.all([job.updateProgress({ ...progress }), deps.runs.setMap(p.runId, { status: 'running', ...progress })]);
    reported.catch((e: unknown) => deps.logger.debug({ err: String(e) }, 'cluster: progress not reported'));
  };
  return clusterIndex({
    index,
    out: deps.artifacts,
    prefix: artifactKeys.collectionDir(p.dataset, p.collection),
    modelId: p.modelId,
    collection: p.collection,
    settings: deps.config,
    title: p.dataset,
    logger: deps.logger.child({ runId: p.runId }),
    progressBar: false,
    onProgress: report,
  });
}
