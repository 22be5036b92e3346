// Zero-downtime re-indexing: which collection serves a dataset, and changing it.
//
// Searches go through the dataset's alias (naming.ts aliasName). A full build (`--mode
// all`, or a new model) writes a NEW collection; when its run completes, publishBuild
// points the alias at it in ONE aliases request (Qdrant applies delete+create under one
// lock: a search sees the old or the new collection, never none), records it in the
// dataset's collection history, and deletes the collections beyond IMGSIM_KEEP_COLLECTIONS.
// An incremental `missing` run updates the live collection in place. rollbackDataset
// points the alias back at a kept collection.
import type { Config } from '../../shared/config/index.js';
import { errorMessage, UserError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { DatasetRecord, RunStore } from '../../shared/runs/index.js';
import type { Storage } from '../../shared/storage/types.js';
import type { QdrantStore } from '../../shared/vectors/qdrant/index.js';
import type { CollectionHistory, HistoryEntry } from '../../shared/runs/history.js';
import { aliasName, artifactKeys } from '../../shared/runs/naming.js';

export interface ReindexDeps {
  qdrant: QdrantStore;
  runs: RunStore;
  artifacts: Storage;
  history: CollectionHistory;
  config: Pick<Config, 'keepCollections'>;
  logger: Logger;
}

export interface PublishInput {
  dataset: string;
  collection: string;
  modelId: string;
  runId: string;
}

export interface PublishResult {
  /** True when `collection` serves the dataset now. */
  live: boolean;
  /** The collection the alias pointed at before (when it changed). */
  previous?: string;
  /** Collections deleted because they fell beyond keep-last-N. */
  deleted: string[];
  /** Why the collection did not go live. */
  reason?: string;
}

/** The collection the dataset's alias points at, if any. */
export function liveCollection(dataset: string, deps: Pick<ReindexDeps, 'qdrant'>): Promise<string | undefined> {
  return deps.qdrant.getAliasTarget(aliasName(dataset));
}

/**
 * The collection an incremental (`missing`) run of `modelId` updates in place: the live
 * one when it holds that model's vectors; undefined when a new collection must be built.
 */
export async function inPlaceTarget(dataset: string, modelId: string, deps: Pick<ReindexDeps, 'qdrant' | 'runs'>): Promise<string | undefined> {
  const record = await deps.runs.getDataset(dataset);
  if (!record || record.modelId !== modelId) return undefined;
  const live = await liveCollection(dataset, deps);
  return live !== undefined && live === record.collection ? live : undefined;
}

/**
 * Called when a run's build completed: make `collection` the dataset's live one, unless a
 * newer build (or a rollback) superseded it meanwhile.
 */
export async function publishBuild(p: PublishInput, deps: ReindexDeps): Promise<PublishResult> {
  const { qdrant, history, runs } = deps;
  const alias = aliasName(p.dataset);
  const run = await runs.get(p.runId);
  const builtAt = run?.createdAt ?? new Date().toISOString();
  const entries = await history.entries(p.dataset);
  const head = entries[0];
  const known = entries.find((e) => e.collection === p.collection);

  if (head && head.collection !== p.collection) {
    if (known) {
      return { live: false, deleted: [], reason: `"${p.collection}" was live before and has been replaced by "${head.collection}"; roll back to it explicitly (imgsim dataset rollback ${p.dataset} --to ${p.collection})` };
    }
    if (builtAt < head.builtAt) {
      // Never live and never will be (only history entries can be rolled back to): drop it
      // rather than leave a full copy of the dataset behind.
      const deleted = (await dropCollection(p.dataset, p.collection, deps)) ? [p.collection] : [];
      return { live: false, deleted, reason: `a newer build ("${head.collection}", run ${head.runId || '?'}) is already live; this one was deleted` };
    }
  }

  const record = await runs.getDataset(p.dataset);
  const target = await qdrant.getAliasTarget(alias);
  const now = new Date().toISOString();
  // The collection served before history was kept (an older imgsim): remember it, so a
  // rollback can return to it, when the registry says which model it holds.
  if (!known && entries.length === 0 && target !== undefined && target !== p.collection && record?.collection === target) {
    await history.activate(p.dataset, { collection: target, modelId: record.modelId, runId: '', builtAt: record.updatedAt, activatedAt: record.updatedAt }, deps.config.keepCollections + 1);
  }
  if (target !== p.collection) await qdrant.swapAlias(alias, p.collection);
  const dropped = known && head?.collection === p.collection
    ? []
    : await history.activate(p.dataset, { collection: p.collection, modelId: p.modelId, runId: p.runId, builtAt, activatedAt: now }, deps.config.keepCollections);
  await runs.setDataset({ name: p.dataset, source: run?.source ?? record?.source ?? '', modelId: p.modelId, collection: p.collection, alias });

  const deleted: string[] = [];
  for (const old of dropped) {
    if (old !== p.collection && (await dropCollection(p.dataset, old, deps))) deleted.push(old);
  }
  return { live: true, ...(target !== undefined && target !== p.collection ? { previous: target } : {}), deleted };
}

/** Delete a collection and its cluster artefacts; a failure is logged (it only leaves garbage behind). */
async function dropCollection(dataset: string, collection: string, deps: Pick<ReindexDeps, 'qdrant' | 'artifacts' | 'logger'>): Promise<boolean> {
  try {
    const existed = await deps.qdrant.deleteCollection(collection);
    await deps.artifacts.delete(artifactKeys.collectionClusters(dataset, collection));
    await deps.artifacts.delete(artifactKeys.collectionClusterPlot(dataset, collection));
    return existed;
  } catch (error) {
    deps.logger.warn({ dataset, collection, err: errorMessage(error) }, 'could not delete an old collection');
    return false;
  }
}

export interface RollbackResult {
  dataset: string;
  from?: string;
  to: string;
  modelId: string;
}

/** Point the dataset's alias back at the previous kept collection (or `to`). */
export async function rollbackDataset(dataset: string, o: { to?: string }, deps: ReindexDeps): Promise<RollbackResult> {
  const { qdrant, history, runs } = deps;
  const record = await runs.getDataset(dataset);
  if (!record) throw new UserError(`Dataset "${dataset}" not found: no run has completed for it yet`);
  const alias = aliasName(dataset);
  const live = (await qdrant.getAliasTarget(alias)) ?? record.collection;
  const entries = await history.entries(dataset);
  const kept = entries.map((e) => e.collection);
  let chosen: HistoryEntry | undefined;
  if (o.to !== undefined) {
    if (o.to === live) throw new UserError(`--to: "${o.to}" is already the live collection of dataset "${dataset}"`);
    chosen = entries.find((e) => e.collection === o.to);
    if (!chosen) throw new UserError(`--to: received "${o.to}"; expected one of the collections kept for dataset "${dataset}": ${kept.filter((c) => c !== live).join(', ') || '(none)'}`);
  } else {
    chosen = entries.find((e) => e.collection !== live);
    if (!chosen) {
      throw new UserError(
        `Dataset "${dataset}" has no previous collection to roll back to (kept: ${kept.join(', ') || 'none'}); a full re-index keeps the previous one (IMGSIM_KEEP_COLLECTIONS ≥ 2)`,
      );
    }
  }
  if (!(await qdrant.collectionExists(chosen.collection))) {
    await history.remove(dataset, chosen.collection);
    throw new UserError(`Collection "${chosen.collection}" of dataset "${dataset}" no longer exists in Qdrant at ${qdrant.url}; it was removed from the history`);
  }
  await qdrant.swapAlias(alias, chosen.collection);
  // Nothing is dropped by a rollback: keep the whole list whatever the setting says now.
  await history.activate(dataset, { ...chosen, activatedAt: new Date().toISOString() }, Math.max(entries.length, 1));
  await runs.setDataset({ name: dataset, source: record.source, modelId: chosen.modelId, collection: chosen.collection, alias });
  await restoreClusters(dataset, chosen.collection, deps);
  deps.logger.info({ dataset, from: live, to: chosen.collection }, 'dataset rolled back');
  return { dataset, ...(live !== undefined ? { from: live } : {}), to: chosen.collection, modelId: chosen.modelId };
}

/** The dataset-level cluster artefacts (datasets/<name>/clusters.*) follow the live collection. */
export async function restoreClusters(dataset: string, collection: string, deps: Pick<ReindexDeps, 'artifacts'>): Promise<void> {
  const pairs: Array<[string, string]> = [
    [artifactKeys.collectionClusters(dataset, collection), artifactKeys.clusters(dataset)],
    [artifactKeys.collectionClusterPlot(dataset, collection), artifactKeys.clusterPlot(dataset)],
  ];
  for (const [from, to] of pairs) {
    if (await deps.artifacts.exists(from)) await deps.artifacts.put(to, await deps.artifacts.get(from));
    else await deps.artifacts.delete(to);
  }
}

export interface KeptCollection extends HistoryEntry {
  live: boolean;
  /** Points in Qdrant; undefined when the collection is gone. */
  points?: number;
}

export interface DatasetDetails extends DatasetRecord {
  /** What the alias points at right now. */
  aliasTarget?: string;
  collections: KeptCollection[];
}

/** The registry record, the alias target and the kept collections with their sizes. */
export async function describeDataset(dataset: string, deps: Pick<ReindexDeps, 'qdrant' | 'runs' | 'history'>): Promise<DatasetDetails> {
  const record = await deps.runs.getDataset(dataset);
  if (!record) throw new UserError(`Dataset "${dataset}" not found: no run has completed for it yet`);
  const aliasTarget = await deps.qdrant.getAliasTarget(record.alias);
  const collections: KeptCollection[] = [];
  for (const e of await deps.history.entries(dataset)) {
    const exists = await deps.qdrant.collectionExists(e.collection);
    collections.push({ ...e, live: e.collection === aliasTarget, ...(exists ? { points: await deps.qdrant.count(e.collection) } : {}) });
  }
  return { ...record, ...(aliasTarget !== undefined ? { aliasTarget } : {}), collections };
}
