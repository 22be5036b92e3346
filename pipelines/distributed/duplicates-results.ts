// Queued duplicates passes for the CLI and the HTTP API: enqueue a pass of a dataset
// (joining the active one), read the stored report as groups — dismissed pairs left out,
// filtered by tier, a page at a time — and mark a pair "not a duplicate".
//
// Groups are made when read, from the stored pairs (every tier) less the dismissed ones:
// a dismissal made after the pass is honoured at once, and the next pass never reports the
// pair either (keys identify it, not positions). readGroups reads and groups the report per
// call (`imgsim dataset duplicates --show`): ~1.4–2.2 s at 100,000 pairs, so the HTTP API
// pages from groups built once in a thread instead (duplicates-view.ts, workers/server/
// duplicate-groups-cache.ts), byte for byte readGroups's answer.
import { ConflictError, UserError } from '../../shared/errors.js';
import { DismissalStore } from '../../shared/duplicates/dismissals.js';
import { groupPairs, pairId, type DuplicateGroup, type GroupImage } from '../../shared/duplicates/groups.js';
import type { PairEvidence } from '../../shared/duplicates/pairs.js';
import { DEFAULT_MIN_TIER, DEFAULT_THRESHOLDS, describeLearned, learnedFields, TIERS, type LearnedThreshold, type Tier } from '../../shared/duplicates/tiers.js';
import type { DuplicatesScheduler } from '../../shared/jobs/scheduler.js';
import type { DuplicatePass, DuplicatePasses, PassMode } from '../../shared/runs/duplicate-passes.js';
import { withEnqueueLock } from '../../shared/runs/enqueue-lock.js';
import type { DatasetRecord, RunStore } from '../../shared/runs/index.js';
import { StoreKeys } from '../../shared/runs/keys.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import type { Storage } from '../../shared/storage/types.js';
import type { QdrantStore } from '../../shared/vectors/qdrant/index.js';
import type { Redis } from 'ioredis';
import { readReport, type StoredReport } from './duplicates-store.js';

export interface EnqueuedPass {
  pass: DuplicatePass;
  /** false: a pass of the dataset was already active; it is returned instead. */
  created: boolean;
}

/** A pass was asked for with a learned threshold other than the active pass's (409 over HTTP; exit 1 on the CLI: the request was well formed, the moment was wrong). */
export class PassSettingsConflict extends ConflictError {
  override readonly name = 'PassSettingsConflict';
  constructor(message: string) {
    super(message, 1);
  }
}

/**
 * Start a duplicates pass of a dataset (one with a live collection), or join the active one.
 * `learned`: the learned tier's threshold (--cosine / --fraction); a request that names one
 * other than the active pass's is refused (PassSettingsConflict) rather than joined
 * silently at settings it did not ask for; one that names none joins whatever runs.
 */
export async function enqueueDuplicates(
  dataset: string,
  mode: PassMode,
  deps: { runs: RunStore; passes: DuplicatePasses; scheduler: DuplicatesScheduler },
  learned: LearnedThreshold = {},
): Promise<EnqueuedPass> {
  const record = await deps.runs.getDataset(dataset);
  if (!record) throw new UserError(`Dataset "${dataset}" not found: no run has completed for it yet (imgsim dataset list shows the datasets)`);
  const { pass, created } = await deps.passes.createOrJoin(dataset, mode, learned);
  const asked = learned.cosine !== undefined || learned.fraction !== undefined;
  if (!created && asked && !sameLearned(pass, learned)) {
    throw new PassSettingsConflict(
      `dataset ${dataset} has a pass running already (${pass.passId}, ${pass.status}) with the learned threshold at ${describeLearned(pass)}, not ${describeLearned(learned)}: wait for it (imgsim dataset duplicates ${dataset} --show) and start again`,
    );
  }
  // A joined pass still 'queued' may have lost its job (the enqueue failed after the pass
  // was recorded): adding it again is a no-op when it exists (job id dup-<passId>-plan).
  if (created || pass.status === 'queued') {
    await deps.scheduler.duplicates({ step: 'plan', passId: pass.passId, dataset, mode: pass.mode, ...learnedFields(pass) });
  }
  return { pass, created };
}

/** The same learned threshold: the same fraction, or no fraction and the same cosine (absent: the default). */
function sameLearned(a: LearnedThreshold, b: LearnedThreshold): boolean {
  if (a.fraction !== undefined || b.fraction !== undefined) return a.fraction === b.fraction;
  return (a.cosine ?? DEFAULT_THRESHOLDS.cosine) === (b.cosine ?? DEFAULT_THRESHOLDS.cosine);
}

/** The dataset's dismissed pairs, in the artefact store beside its reports. */
export function dismissalsOf(artifacts: Storage, dataset: string): DismissalStore {
  return new DismissalStore(artifacts, artifactKeys.duplicatesDismissed(dataset));
}

/** A key given for a dismissal that is not an image of the dataset (400 naming the field; exit 2 on the CLI). */
export class NotInDatasetError extends UserError {
  override readonly name = 'NotInDatasetError';
  constructor(
    readonly field: 'a' | 'b',
    readonly key: string,
    dataset: string,
  ) {
    super(`${field}: "${key}" is not an image of dataset "${dataset}" (keys as the duplicate groups name them)`);
  }
}

/**
 * Mark a pair "not a duplicate". Both keys must be images of the dataset (points of its live
 * collection, read through its alias: two point lookups) — a mistyped key would otherwise be
 * stored and silently match nothing. Read–modify–write of one file, serialised per dataset by
 * a short Redis lock (two requests at once would otherwise lose one). True when newly marked.
 */
export async function dismissPair(
  dataset: DatasetRecord,
  a: string,
  b: string,
  deps: { artifacts: Storage; redis: Redis; prefix: string; qdrant: Pick<QdrantStore, 'versionsOf'> },
): Promise<boolean> {
  const known = await deps.qdrant.versionsOf(dataset.alias, dataset.name, [a, b]);
  for (const [field, key] of [['a', a], ['b', b]] as const) {
    if (!known.has(key)) throw new NotInDatasetError(field, key, dataset.name);
  }
  return markDismissed(dataset.name, a, b, deps);
}

async function markDismissed(dataset: string, a: string, b: string, deps: { artifacts: Storage; redis: Redis; prefix: string }): Promise<boolean> {
  const lock = new StoreKeys(deps.prefix).enqueueLock(`dismiss:${dataset}`);
  return withEnqueueLock(deps.redis, lock, () => dismissalsOf(deps.artifacts, dataset).add(a, b));
}

/** The report's pairs grouped at `minTier`, dismissed pairs left out; largest groups first. */
export function groupsOf(report: StoredReport, dismissed: ReadonlySet<string>, minTier: Tier): DuplicateGroup[] {
  const keys = Object.keys(report.members).sort();
  const at = new Map(keys.map((k, i) => [k, i]));
  const images: GroupImage[] = keys.map((key) => ({ key, ...(report.members[key] as Omit<GroupImage, 'key'>) }));
  const pairs: PairEvidence[] = [];
  for (const p of report.pairs) {
    const a = at.get(p.a);
    const b = at.get(p.b);
    if (a === undefined || b === undefined) continue;
    pairs.push({ ...p, a: Math.min(a, b), b: Math.max(a, b) });
  }
  return groupPairs(images, pairs, { minTier, dismissed });
}

export interface GroupsQuery {
  /** Weakest tier a pair may have to join a group (as `imgsim duplicates --min-tier`). */
  minTier?: Tier;
  /** Only groups whose strongest tier is this one. */
  tier?: Tier;
  limit: number;
  offset: number;
}

export interface GroupsPage {
  dataset: string;
  pass?: DuplicatePass;
  report?: Omit<StoredReport, 'pairs' | 'members' | 'failed' | 'version'> & { failed: number; dismissed: number };
  minTier: Tier;
  tier?: Tier;
  /** Groups matching the filters, before paging. */
  total: number;
  offset: number;
  limit: number;
  /** The offset of the next page; absent on the last one. */
  nextOffset?: number;
  groups: DuplicateGroup[];
}

/** A page of the dataset's duplicate groups from its latest stored report. */
export async function readGroups(
  dataset: string,
  q: GroupsQuery,
  deps: { artifacts: Storage; passes: DuplicatePasses },
): Promise<GroupsPage> {
  const [pass, report, dismissed] = await Promise.all([deps.passes.get(dataset), readReport(deps.artifacts, dataset), dismissalsOf(deps.artifacts, dataset).ids()]);
  // A tier filter weaker than the default weakest tier widens it (tier=learned: the learned-only groups).
  const minTier = q.minTier ?? (q.tier && TIERS.indexOf(q.tier) > TIERS.indexOf(DEFAULT_MIN_TIER) ? q.tier : DEFAULT_MIN_TIER);
  if (q.tier && TIERS.indexOf(q.tier) > TIERS.indexOf(minTier)) {
    throw new UserError(`tier: "${q.tier}" is weaker than minTier "${minTier}", so no group can have it; ask with minTier=${q.tier} or without minTier`);
  }
  const base = { dataset, ...(pass ? { pass } : {}), minTier, ...(q.tier ? { tier: q.tier } : {}), offset: q.offset, limit: q.limit };
  if (!report) return { ...base, total: 0, groups: [] };
  const all = groupsOf(report, dismissed, minTier).filter((g) => q.tier === undefined || g.tier === q.tier);
  const groups = all.slice(q.offset, q.offset + q.limit);
  const { pairs, members: _members, failed, version: _version, ...summary } = report;
  const dismissedCount = pairs.filter((p) => dismissed.has(pairId(p.a, p.b))).length;
  return {
    ...base,
    report: { ...summary, failed: failed.length, dismissed: dismissedCount },
    total: all.length,
    ...(q.offset + groups.length < all.length ? { nextOffset: q.offset + groups.length } : {}),
    groups,
  };
}
