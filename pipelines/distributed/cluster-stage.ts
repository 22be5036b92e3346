// Cluster stage, once every batch of a run is indexed (or gave up):
//   1. decide whether the build is complete: every failure is a bad image (the item's own
//      bytes). A build with items that failed for other reasons (a service down past the
//      retry window, a bug) is held back: it does not go live, the run completes with
//      `heldBack` saying why, and `imgsim retry-failed` completes it later;
//   2. a complete build goes live first (one atomic alias swap, unless a newer build
//      superseded it; old collections beyond keep-last-N are deleted, see reindex.ts):
//      search never waits for the map;
//   3. unless held back, read the collection's vectors back, PCA → t-SNE → k-means in a child process
//      (cluster-subprocess.ts: the event loop keeps serving lock renewals and sockets),
//      write cluster/x/y into each point's payload and clusters.json/png to the artefact
//      store; the dataset-level copies follow the live collection.
import type { JobPayload } from '../../shared/jobs/contracts.js';
import { describeOtherFailures, summariseFailures, type FailureSummary } from '../../shared/runs/index.js';
import { renderScatterPlot } from '../../shared/images/scatter-plot.js';
import type { ClusterProgress } from '../cluster.js';
import { clusterInSubprocess } from '../cluster-subprocess.js';
import type { StageDeps } from './deps.js';
import type { CollectionHistory } from '../../shared/runs/history.js';
import { readCollectionVectors } from './collection-vectors.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import { liveCollection, publishBuild, restoreClusters, type PublishResult } from './reindex.js';

export interface ClusterStageResult {
  points: number;
  k?: number;
  live: boolean;
  deleted: string[];
  heldBack?: string;
}

export async function runClusterStage(
  p: JobPayload<'cluster'>,
  deps: StageDeps,
  history: CollectionHistory,
  onProgress?: (p: ClusterProgress) => Promise<void>,
): Promise<ClusterStageResult> {
  const { qdrant } = deps;
  await deps.runs.setStatus(p.runId, 'clustering');
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
  if (!published.live) deps.logger.warn({ runId: p.runId, collection: p.collection, reason: published.reason }, 'cluster: the collection does not go live');
  if (inPlace && heldBack !== undefined) deps.logger.warn({ runId: p.runId, collection: p.collection, reason: heldBack }, 'cluster: the live collection was updated without some images');

  // Only a live collection is mapped (a held-back build is, once retry-failed completes it).
  const k = published.live ? await clusterCollection(p, deps, onProgress) : undefined;
  if (k !== undefined) await restoreClusters(p.dataset, p.collection, deps);
  const points = published.live ? await qdrant.count(p.collection, { dataset: p.dataset }) : 0;
  // Complete but not live: a newer build (or a rollback) superseded it meanwhile.
  const superseded = heldBack === undefined && exists && !published.live ? `not live: ${published.reason ?? 'superseded'}` : undefined;
  await deps.runs.setStatus(p.runId, 'completed', { ...(heldBack !== undefined ? { heldBack } : {}), ...(superseded ? { error: superseded } : {}) });
  deps.logger.info({ runId: p.runId, points, k, live: published.live, previous: published.previous, deleted: published.deleted, heldBack }, 'cluster: run completed');
  return { points, ...(k !== undefined ? { k } : {}), live: published.live, deleted: published.deleted, ...(heldBack !== undefined ? { heldBack } : {}) };
}

/**
 * Why the run's build is incomplete: images that failed for other reasons than their own
 * bytes, or images neither indexed nor failed (a record lost, a job that vanished).
 * Undefined when complete.
 */
async function incompleteReason(p: JobPayload<'cluster'>, exists: boolean, inPlace: boolean, deps: Pick<StageDeps, 'runs'>): Promise<string | undefined> {
  const run = await deps.runs.get(p.runId);
  const { items } = await deps.runs.failures(p.runId, { limit: Number.MAX_SAFE_INTEGER });
  const summary = summariseFailures(items.map((f) => f.reason));
  const unaccounted = run ? Math.max(0, run.total - run.done - run.failed) : 0;
  if (summary.otherTotal === 0 && unaccounted === 0) return undefined;
  const what = [
    ...(summary.otherTotal > 0 ? [describeOther(summary)] : []),
    ...(unaccounted > 0 ? [`${unaccounted} image(s) neither indexed nor recorded as failed`] : []),
  ].join('; ');
  const state = inPlace
    ? `the live collection ${p.collection} lacks them`
    : exists
      ? `collection ${p.collection} is kept but not live`
      : 'nothing was indexed';
  return `${what}; ${state} — run \`imgsim retry-failed ${p.runId}\` once the cause is fixed`;
}

function describeOther(s: FailureSummary): string {
  return `${s.otherTotal} image(s) failed for reasons other than their own bytes (${describeOtherFailures(s)})`;
}

/** Cluster the collection's vectors off the event loop; returns k, or undefined below 3 points. */
async function clusterCollection(
  p: JobPayload<'cluster'>,
  deps: StageDeps,
  onProgress?: (p: ClusterProgress) => Promise<void>,
): Promise<number | undefined> {
  const { qdrant, config: c } = deps;
  const { keys, dim, vectors } = await readCollectionVectors(qdrant, p.collection, p.dataset);
  if (keys.length < 3) return undefined;
  let lastReport = 0;
  let phase = '';
  const result = await clusterInSubprocess(
    { keys, dim, vectors },
    { pcaComponents: c.pcaComponents, perplexity: c.perplexity, iterations: c.tsneIterations, clusters: c.clusters, seed: c.seed },
    (progress) => {
      if (progress.phase !== phase) {
        phase = progress.phase;
        deps.logger.info({ runId: p.runId, points: keys.length, phase }, `cluster: ${phase === 'done' ? 'map computed' : `${phase} started`}`);
      }
      const now = Date.now();
      if (now - lastReport < 1000 && progress.phase === 'tsne') return;
      lastReport = now;
      onProgress?.(progress).catch((e: unknown) => deps.logger.debug({ err: String(e) }, 'cluster: progress not reported'));
    },
  );
  await qdrant.setPayload(
    p.collection,
    p.dataset,
    result.points.map((pt) => ({ key: pt.key, payload: { cluster: pt.label, x: pt.x, y: pt.y } })),
  );
  const byKey = Object.fromEntries(result.points.map((pt) => [pt.key, { x: pt.x, y: pt.y, label: pt.label }]));
  // Stored with the collection; copied to datasets/<name>/clusters.* while it is live.
  const clusters = JSON.stringify({ modelId: p.modelId, collection: p.collection, k: result.k, silhouette: result.silhouette, points: byKey });
  await deps.artifacts.put(artifactKeys.collectionClusters(p.dataset, p.collection), clusters);
  await deps.artifacts.put(
    artifactKeys.collectionClusterPlot(p.dataset, p.collection),
    await renderScatterPlot(result.points, { title: `${p.dataset}: ${keys.length} images, ${result.k} clusters` }),
  );
  return result.k;
}
