// The duplicate groups as GET …/duplicates serves them now (pipelines/distributed/
// duplicates-view.ts, workers/server/duplicate-groups-cache.ts) against readGroups, which
// groups the stored report on every call: the same bytes for every page and filter, before
// and after dismissals (applied to one group only), a new report replacing the view, a
// damaged report or dismissals file a DamagedReportError, concurrent requests sharing one
// build, and the group count of a finished pass (countGroupsOffLoop) in a thread.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { dismissalsOf, groupsOf, readGroups, type GroupsQuery } from '../../../pipelines/distributed/duplicates-results.js';
import { DamagedReportError, buildViewData, GroupsView } from '../../../pipelines/distributed/duplicates-view.js';
import { countGroupsOffLoop, viewOffLoop } from '../../../pipelines/distributed/duplicates-view-offloop.js';
import { pairId, type DuplicateGroup } from '../../../shared/duplicates/groups.js';
import { createRng } from '../../../shared/random.js';
import type { DuplicatePass, DuplicatePasses } from '../../../shared/runs/duplicate-passes.js';
import { artifactKeys } from '../../../shared/runs/naming.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import type { Storage } from '../../../shared/storage/types.js';
import { DuplicateGroupsCache } from '../../../workers/server/duplicate-groups-cache.js';
import { syntheticReport } from '../../support/synthetic-duplicates-report.js';

const DATASET = 'bench';
const PASS = { passId: 'p1', dataset: DATASET, mode: 'all', status: 'completed', createdAt: 'x', updatedAt: 'y' } as DuplicatePass;
const passes = { get: (): Promise<DuplicatePass | undefined> => Promise.resolve(PASS) } as unknown as DuplicatePasses;

const QUERIES: GroupsQuery[] = [
  { limit: 20, offset: 0 },
  { limit: 100, offset: 40 },
  { limit: 5, offset: 1_000_000 },
  { limit: 20, offset: 0, tier: 'exact' },
  { limit: 20, offset: 10, tier: 'perceptual', minTier: 'learned' },
  { limit: 50, offset: 0, minTier: 'exact' },
  { limit: 50, offset: 0, tier: 'learned' },
];

/** Counts reads of the report (one per build). */
function counting(store: Storage): { store: Storage; reads: () => number } {
  let reads = 0;
  const wrapped = Object.create(store) as Storage;
  wrapped.get = (key: string) => {
    if (key === artifactKeys.duplicatesReport(DATASET)) reads++;
    return store.get(key);
  };
  return { store: wrapped, reads: () => reads };
}

describe('duplicate groups served from a view grouped once', () => {
  let dir: string;
  let store: LocalStorage;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-groups-view-'));
    store = new LocalStorage(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const old = async (q: GroupsQuery): Promise<string> => JSON.stringify(await readGroups(DATASET, q, { artifacts: store, passes }));

  test('every page and filter: the bytes of readGroups’s answer; no report: its empty answer; a contradictory tier: its 400 error', async () => {
    const cache = new DuplicateGroupsCache();
    for (const q of QUERIES) assert.equal((await cache.page(DATASET, q, { artifacts: store, passes })).toString(), await old(q));
    await store.put(artifactKeys.duplicatesReport(DATASET), JSON.stringify(syntheticReport({ pairs: 3000, dataset: DATASET })));
    for (const q of QUERIES) assert.equal((await cache.page(DATASET, q, { artifacts: store, passes })).toString(), await old(q), JSON.stringify(q));
    await assert.rejects(cache.page(DATASET, { limit: 1, offset: 0, tier: 'learned', minTier: 'verified' }, { artifacts: store, passes }), /^UserError: tier: "learned" is weaker than minTier "verified"/);
  });

  test('a worker thread builds the same view as grouping in place', async () => {
    const bytes = await store.get(artifactKeys.duplicatesReport(DATASET));
    const dismissed = [pairId('x', 'y')];
    const inPlace = GroupsView.from(buildViewData(bytes, dismissed, 'learned'));
    const threaded = await viewOffLoop(bytes, dismissed, 'learned', { inlineBytes: 0 });
    const q = { limit: 100, offset: 0 };
    assert.equal(threaded.page(DATASET, q, undefined).toString(), inPlace.page(DATASET, q, undefined).toString());
    assert.equal(bytes.length, 0, 'the bytes were moved to the thread, not copied');
  });

  test('dismissals show on the next request, regrouping only the groups they split: the same bytes as grouping again', async () => {
    const { store: watched, reads } = counting(store);
    const cache = new DuplicateGroupsCache();
    const deps = { artifacts: watched, passes };
    await cache.page(DATASET, { limit: 1, offset: 0, minTier: 'learned' }, deps);
    const report = syntheticReport({ pairs: 3000, dataset: DATASET });
    const groups: DuplicateGroup[] = groupsOf(report, new Set(), 'learned');
    const rng = createRng(7);
    // A pair in the largest group, ones in random groups, one the report does not hold, one already weaker than verified.
    const picks = [(groups[0] as DuplicateGroup).pairs[2], ...Array.from({ length: 6 }, () => groups[Math.floor(rng() * groups.length)]?.pairs[0])];
    for (const p of picks) {
      if (!p) continue;
      await dismissalsOf(store, DATASET).add(p.a, p.b);
      for (const q of [...QUERIES, { limit: 100, offset: 0, minTier: 'learned' as const }]) {
        assert.equal((await cache.page(DATASET, q, deps)).toString(), await old(q), `after dismissing ${p.a} / ${p.b}: ${JSON.stringify(q)}`);
      }
    }
    await dismissalsOf(store, DATASET).add('camera/none-1.jpg', 'camera/none-2.jpg');
    const learned = report.pairs.find((p) => p.tier === 'learned');
    if (learned) await dismissalsOf(store, DATASET).add(learned.a, learned.b);
    for (const q of QUERIES) assert.equal((await cache.page(DATASET, q, deps)).toString(), await old(q));
    const page = JSON.parse((await cache.page(DATASET, { limit: 1, offset: 0 }, deps)).toString()) as { report: { dismissed: number } };
    assert.equal(page.report.dismissed, picks.filter(Boolean).length + (learned ? 1 : 0));
    // One build per minTier asked for; every dismissal after that was applied to the cached views.
    assert.equal(cache.stats.builds, new Set([...QUERIES.map((q) => q.minTier ?? (q.tier === 'learned' ? 'learned' : 'verified')), 'learned']).size);
    assert.equal(reads(), cache.stats.builds);
    assert.ok(cache.stats.dismissalUpdates > 0);
  });

  test('a pair marked again as a duplicate (un-dismissed) groups the report again', async () => {
    const cache = new DuplicateGroupsCache();
    const q = { limit: 30, offset: 0 };
    await cache.page(DATASET, q, { artifacts: store, passes });
    const [first] = await dismissalsOf(store, DATASET).list();
    assert.ok(first);
    await dismissalsOf(store, DATASET).remove(first.a, first.b);
    assert.equal((await cache.page(DATASET, q, { artifacts: store, passes })).toString(), await old(q));
    assert.equal(cache.stats.builds, 2);
  });

  test('a new report (a pass committed) replaces the view', async () => {
    const cache = new DuplicateGroupsCache();
    const q = { limit: 20, offset: 0 };
    const before = (await cache.page(DATASET, q, { artifacts: store, passes })).toString();
    await store.put(artifactKeys.duplicatesReport(DATASET), JSON.stringify(syntheticReport({ pairs: 1500, seed: 2, dataset: DATASET, passId: 'p2' })));
    const now = (await cache.page(DATASET, q, { artifacts: store, passes })).toString();
    assert.notEqual(now, before);
    assert.equal(now, await old(q));
    assert.equal((JSON.parse(now) as { report: { passId: string } }).report.passId, 'p2');
    assert.equal(cache.size.views, 1, 'the old report’s view is not kept beside the new one');
  });

  test('concurrent requests for a view not built yet share one build (one report read)', async () => {
    const { store: watched, reads } = counting(store);
    const cache = new DuplicateGroupsCache({ inlineBytes: 0 });
    const deps = { artifacts: watched, passes };
    const pages = await Promise.all(Array.from({ length: 8 }, (_, i) => cache.page(DATASET, { limit: 10, offset: 10 * i }, deps)));
    assert.equal(reads(), 1);
    assert.equal(cache.stats.builds, 1);
    for (const [i, page] of pages.entries()) assert.equal(page.toString(), await old({ limit: 10, offset: 10 * i }));
    // A dismissal while a build is under way is applied to that build's view, not a second build.
    const building = cache.page(DATASET, { limit: 10, offset: 0, minTier: 'learned' }, deps);
    const [p] = (JSON.parse(pages[0]?.toString() ?? '{}') as { groups: DuplicateGroup[] }).groups[0]?.pairs ?? [];
    assert.ok(p);
    await dismissalsOf(store, DATASET).add(p.a, p.b);
    const later = cache.page(DATASET, { limit: 10, offset: 0, minTier: 'learned' }, deps);
    await building;
    assert.equal((await later).toString(), await old({ limit: 10, offset: 0, minTier: 'learned' }));
    assert.equal(cache.stats.builds, 2);
    assert.equal(reads(), 2);
  });

  test('views are bounded by bytes, least recently used first out; the newest is kept even when larger', async () => {
    const cache = new DuplicateGroupsCache({ maxBytes: 1 });
    for (const minTier of ['exact', 'verified', 'learned'] as const) await cache.page(DATASET, { limit: 1, offset: 0, minTier }, { artifacts: store, passes });
    assert.equal(cache.size.views, 1);
    await cache.page(DATASET, { limit: 1, offset: 0, minTier: 'learned' }, { artifacts: store, passes });
    assert.equal(cache.stats.hits, 1);
  });

  test('a damaged report or dismissals file: DamagedReportError (the server’s 500), not a UserError (400)', async () => {
    const cache = new DuplicateGroupsCache();
    const dismissedKey = artifactKeys.duplicatesDismissed(DATASET);
    const saved = await store.get(dismissedKey);
    await store.put(dismissedKey, '{"version":1,"pairs":[{"a":1}]}');
    await assert.rejects(cache.page(DATASET, { limit: 1, offset: 0 }, { artifacts: store, passes }), (e: unknown) => e instanceof DamagedReportError && /not a duplicate/.test(e.message));
    await store.put(dismissedKey, saved);
    const reportKey = artifactKeys.duplicatesReport(DATASET);
    await store.put(reportKey, '{"version":1,"pairs":[');
    await assert.rejects(cache.page(DATASET, { limit: 1, offset: 0 }, { artifacts: store, passes }), (e: unknown) => e instanceof DamagedReportError && /not valid JSON/.test(e.message));
    await store.put(reportKey, JSON.stringify({ version: 1, pairs: 'x'.repeat(300_000) }));
    await assert.rejects(new DuplicateGroupsCache({ inlineBytes: 0 }).page(DATASET, { limit: 1, offset: 0 }, { artifacts: store, passes }), (e: unknown) => e instanceof DamagedReportError && /damaged or from another version/.test(e.message));
  });

  test('countGroupsOffLoop (a finished pass’s group count): groupsOf’s count, in a thread or in place; 0 without a report', async () => {
    await store.put(artifactKeys.duplicatesReport(DATASET), JSON.stringify(syntheticReport({ pairs: 2000, dataset: DATASET })));
    const dismissed = await dismissalsOf(store, DATASET).ids();
    const expected = groupsOf(syntheticReport({ pairs: 2000, dataset: DATASET }), dismissed, 'verified').length;
    assert.equal(await countGroupsOffLoop(store, DATASET, 'verified', { inlineBytes: 0 }), expected);
    assert.equal(await countGroupsOffLoop(store, DATASET, 'verified'), expected);
    assert.equal(await countGroupsOffLoop(store, 'other', 'verified'), 0);
  });
});
