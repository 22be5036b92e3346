// GET /v1/datasets/{name}/duplicates served from groups built once (workers/server/
// duplicate-groups-cache.ts) through the real route (routes/duplicates.ts) on a real
// redis-server, a local artefact store holding a synthetic report, and Qdrant stood in for
// by the report's keys (the dismiss route looks both keys up): the answer is readGroups's
// (the old per-request grouping) byte for byte, with the pass; a dismissal made through
// the API or beside it shows on the next GET; a new pass's report replaces the groups; a
// damaged report is a 500 naming it (it was a 400 while readGroups's UserError reached the client).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { dismissalsOf, readGroups, type GroupsQuery } from '../../../pipelines/distributed/duplicates-results.js';
import { loadConfig } from '../../../shared/config/index.js';
import type { DuplicateGroup } from '../../../shared/duplicates/groups.js';
import { silentLogger } from '../../../shared/logger.js';
import { ModelCache } from '../../../shared/model/cache.js';
import { DuplicatePasses } from '../../../shared/runs/duplicate-passes.js';
import type { DatasetRecord } from '../../../shared/runs/index.js';
import { artifactKeys } from '../../../shared/runs/naming.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import { createBaseApp } from '../../../workers/server/base-app.js';
import { RedisState, type RouteContext, type ServerDeps } from '../../../workers/server/context.js';
import { duplicatesRoutes } from '../../../workers/server/routes/duplicates.js';
import { startRedis, type RedisTestServer } from '../../support/redis-server.js';
import { syntheticReport } from '../../support/synthetic-duplicates-report.js';

const DATASET = 'dups';
const PAIRS = 4000;

describe('GET …/duplicates from groups built once per report and dismissals version', () => {
  let server: RedisTestServer;
  let redis: Redis;
  let dir: string;
  let store: LocalStorage;
  let app: FastifyInstance;
  let passes: DuplicatePasses;
  const keys = new Set<string>();

  before(async () => {
    server = await startRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-dup-groups-'));
    store = new LocalStorage(dir);
    const report = syntheticReport({ pairs: PAIRS, dataset: DATASET });
    for (const key of Object.keys(report.members)) keys.add(key);
    await store.put(artifactKeys.duplicatesReport(DATASET), JSON.stringify(report));
    const config = loadConfig({ IMGSIM_LOG_LEVEL: 'silent' });
    passes = new DuplicatePasses(redis, config.queuePrefix);
    await passes.createOrJoin(DATASET, 'all');
    const record: DatasetRecord = { name: DATASET, source: 'file:///x', modelId: 'm1', collection: 'c', alias: 'a', updatedAt: 'now' };
    const deps = {
      config,
      logger: silentLogger,
      redis,
      artifacts: store,
      runs: { getDataset: (name: string) => Promise.resolve(name === DATASET ? record : undefined) },
      qdrant: { versionsOf: (_c: string, _d: string, ks: readonly string[]) => Promise.resolve(new Map(ks.filter((k) => keys.has(k)).map((k) => [k, 'etag']))) },
    } as unknown as ServerDeps;
    app = await createBaseApp({ config, logger: silentLogger, authenticated: false });
    const ctx: RouteContext = { deps, models: new ModelCache(store), redis: new RedisState(redis, server.url), uploadLimitBytes: 1 << 20 };
    duplicatesRoutes(app, ctx);
    await app.ready();
  });
  after(async () => {
    await app?.close();
    redis?.disconnect();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const get = async (query: string): Promise<{ status: number; body: string; type: string | undefined }> => {
    const r = await app.inject({ method: 'GET', url: `/v1/datasets/${DATASET}/duplicates${query}` });
    return { status: r.statusCode, body: r.body, type: r.headers['content-type'] as string | undefined };
  };
  const old = async (q: GroupsQuery): Promise<string> => JSON.stringify(await readGroups(DATASET, q, { artifacts: store, passes }));

  test('pages and filters: readGroups’s answer byte for byte (the pass included), as JSON; bad queries still 400, an unknown dataset 404', async () => {
    for (const [query, q] of [
      ['', { limit: 20, offset: 0 }],
      ['?limit=100&offset=60', { limit: 100, offset: 60 }],
      ['?tier=learned', { limit: 20, offset: 0, tier: 'learned' }],
      ['?minTier=exact&limit=7', { limit: 7, offset: 0, minTier: 'exact' }],
    ] as Array<[string, GroupsQuery]>) {
      const r = await get(query);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.type, 'application/json; charset=utf-8');
      assert.equal(r.body, await old(q), query);
    }
    assert.equal((await get('?tier=nope')).status, 400);
    assert.equal((await get('?tier=learned&minTier=verified')).status, 400);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/datasets/nothere/duplicates' })).statusCode, 404);
  });

  test('a dismissal (through the API, or the CLI beside it) shows on the next GET', async () => {
    const first = JSON.parse((await get('?limit=1')).body) as { total: number; report: { dismissed: number }; groups: DuplicateGroup[] };
    const group = first.groups[0] as DuplicateGroup;
    const pair = group.pairs[0] as DuplicateGroup['pairs'][number];
    const posted = await app.inject({ method: 'POST', url: `/v1/datasets/${DATASET}/duplicates/dismiss`, payload: { a: pair.a, b: pair.b } });
    assert.equal(posted.statusCode, 201, posted.body);
    const next = await get('?limit=100');
    assert.equal(next.body, await old({ limit: 100, offset: 0 }));
    const page = JSON.parse(next.body) as { report: { dismissed: number }; groups: DuplicateGroup[] };
    assert.equal(page.report.dismissed, first.report.dismissed + 1);
    assert.ok(!page.groups.some((g) => g.pairs.some((p) => p.a === pair.a && p.b === pair.b)), 'the dismissed pair is in no group');
    // Beside the server (imgsim dataset duplicates --dismiss writes the same file).
    const other = (JSON.parse((await get('?limit=1&offset=5')).body) as { groups: DuplicateGroup[] }).groups[0]?.pairs[0];
    assert.ok(other);
    await dismissalsOf(store, DATASET).add(other.a, other.b);
    assert.equal((await get('?limit=20&offset=0')).body, await old({ limit: 20, offset: 0 }));
  });

  test('a new pass’s report replaces the groups', async () => {
    await store.put(artifactKeys.duplicatesReport(DATASET), JSON.stringify(syntheticReport({ pairs: 1200, seed: 9, dataset: DATASET, passId: 'p-next' })));
    const r = await get('');
    assert.equal((JSON.parse(r.body) as { report: { passId: string } }).report.passId, 'p-next');
    assert.equal(r.body, await old({ limit: 20, offset: 0 }));
  });

  test('a damaged stored report: 500 naming it (our fault, not the request’s); readGroups’s error was a UserError (a 400)', async () => {
    const key = artifactKeys.duplicatesReport(DATASET);
    await store.put(key, '{"version":1,');
    await assert.rejects(old({ limit: 1, offset: 0 }), { name: 'UserError' });
    const r = await get('');
    assert.equal(r.status, 500);
    assert.match((JSON.parse(r.body) as { message: string }).message, /^Dataset "dups": the stored duplicates report is not valid JSON .*: run a new pass$/);
    await store.delete(key);
    const none = await get('');
    assert.equal(none.status, 200);
    assert.equal(none.body, await old({ limit: 20, offset: 0 }));
  });
});
