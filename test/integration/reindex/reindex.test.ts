// Zero-downtime re-indexing against real processes (redis-server, s3rver, the Qdrant
// emulator, the six `imgsim worker` processes): a full re-index builds a new collection
// while searches through the dataset's alias keep answering, the alias is swapped once
// the build completed, the previous collection is kept for rollback, older ones beyond
// IMGSIM_KEEP_COLLECTIONS are deleted, and `imgsim dataset rollback` points back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { generateShapesDataset } from '../../../shared/images/synthetic.js';
import { createLogger } from '../../../shared/logger.js';
import { connectRedis, createRedis } from '../../../shared/queue/connection.js';
import { BullScheduler } from '../../../shared/queue/scheduler.js';
import { RunStore, type RunRecord } from '../../../shared/runs/index.js';
import { openS3Storage, type S3ClientConfig } from '../../../shared/storage/s3/index.js';
import { QdrantStore } from '../../../shared/vectors/qdrant/index.js';
import { CollectionHistory } from '../../../shared/runs/history.js';
import { aliasName, collectionName } from '../../../shared/runs/naming.js';
import { describeDataset, publishBuild, type DatasetDetails } from '../../../pipelines/distributed/reindex.js';
import { enqueueRun } from '../../../pipelines/distributed/runs.js';
import { jsonOf, runCli } from '../../support/cli.js';
import { startPipelineStack } from '../../support/pipeline-stack.js';
import { startWorkers, type WorkerPool } from '../../support/workers.js';


const DATASET = 'reshapes';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('zero-downtime re-indexing', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  let env: Record<string, string>;
  let qdrant: QdrantStore;
  let qdrantErrors: () => number;
  let workers: WorkerPool;
  let redis: Redis;
  let runs: RunStore;
  let images: number;
  let modelId: string;
  let c1: string;
  let c2: string;
  let c3: string;
  let query: Float32Array;
  let s3cfg: S3ClientConfig;
  let scheduler: BullScheduler;

  // Runs are enqueued and awaited in-process (the CLI's enqueue/run-status are tested in
  // pipeline/queue-run.test.ts); the dataset commands go through the real CLI.
  const cli = (args: string[]) => runCli(args, env);
  const waitRun = async (id: string): Promise<RunRecord> => {
    const run = await runs.waitFor(id, { timeoutMs: 300_000, pollMs: 200 });
    assert.equal(run.status, 'completed', `${run.error ?? ''}\n${workers.logs()}`);
    return run;
  };
  const enqueue = async (o: { mode: 'all' | 'missing'; modelId?: string }): Promise<string> => {
    const { run, created } = await enqueueRun({ source: 's3://imgsim-src/photos', dataset: DATASET, ...o }, { runs, scheduler });
    assert.ok(created);
    return run.id;
  };
  const show = () => describeDataset(DATASET, { qdrant, runs, history: new CollectionHistory(redis, 'imgsim') });

  before(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-reindex-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const stack = await startPipelineStack({ IMGSIM_JOB_BATCH_SIZE: '8', IMGSIM_KEEP_COLLECTIONS: '2' });
    cleanups.push(() => stack.stop());
    ({ qdrant, qdrantErrors, s3cfg, env } = stack);

    const local = path.join(dir, 'images');
    await generateShapesDataset(local, { perClass: 8, size: 32, seed: 7 });
    const src = await openS3Storage('s3://imgsim-src/photos/', s3cfg);
    images = 0;
    for (const rel of await readdir(local, { recursive: true })) {
      const bytes = await readFile(path.join(local, rel)).catch(() => undefined);
      if (!bytes) continue;
      await src.put(rel, bytes);
      images++;
    }
    redis = createRedis(stack.redisUrl);
    await connectRedis(redis, stack.redisUrl);
    cleanups.push(() => Promise.resolve(redis.disconnect()));
    runs = new RunStore(redis, 'imgsim');
    scheduler = new BullScheduler(redis, 'imgsim');
    cleanups.push(() => scheduler.close());
    workers = startWorkers(env);
    cleanups.push(() => workers.stop());

    const first = await waitRun(await enqueue({ mode: 'all' }));
    modelId = first.modelId ?? '';
    c1 = first.collection ?? '';
    assert.equal(c1, collectionName(DATASET, modelId, first.id));
    assert.equal(first.done, images);
    let key = '';
    for await (const p of qdrant.scroll(c1, { dataset: DATASET })) {
      key = p.key;
      break;
    }
    const vector = (await qdrant.vectorsOf(c1, DATASET, [key])).get(key);
    assert.ok(vector, 'a query vector');
    query = vector;
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  test('a full re-index builds a new collection while searches through the alias never fail or come back empty', async () => {
    assert.equal(await qdrant.getAliasTarget(aliasName(DATASET)), c1);
    let stop = false;
    let searches = 0;
    let failed = 0;
    let empty = 0;
    let duringBuild = 0;
    const errors: string[] = [];
    let building: string | undefined;
    const loop = (async () => {
      while (!stop) {
        try {
          const hits = await qdrant.search(aliasName(DATASET), query, { k: 5, filter: { dataset: DATASET } });
          searches++;
          if (hits.length === 0) empty++;
          if (building !== undefined && (await qdrant.collectionExists(building)) && (await qdrant.getAliasTarget(aliasName(DATASET))) === c1) {
            if ((await qdrant.count(building)) > 0) duringBuild++;
          }
        } catch (error) {
          failed++;
          errors.push(String(error));
        }
        await sleep(5);
      }
    })();
    try {
      const id = await enqueue({ mode: 'all', modelId });
      building = collectionName(DATASET, modelId, id);
      const second = await waitRun(id);
      c2 = second.collection ?? '';
      assert.equal(c2, building, 'built into a new collection named after the run');
      assert.notEqual(c2, c1);
      await sleep(200); // a few searches after the swap too
    } finally {
      stop = true;
      await loop;
    }
    assert.equal(failed, 0, errors.slice(0, 3).join('\n'));
    assert.equal(empty, 0, 'no search came back empty');
    assert.ok(searches >= 20, `searches ran throughout (${searches})`);
    assert.ok(duringBuild > 0, 'some searches ran while the new collection was being filled and the alias still pointed at the old one');

    assert.equal(await qdrant.getAliasTarget(aliasName(DATASET)), c2, 'the alias points at the new collection');
    assert.equal(await qdrant.count(c2, { dataset: DATASET }), images);
    assert.equal(await qdrant.count(c1, { dataset: DATASET }), images, 'the previous collection is kept, untouched');
    const r = await cli(['dataset', 'show', DATASET, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const d = jsonOf<DatasetDetails>(r);
    assert.equal(d.collection, c2);
    assert.equal(d.aliasTarget, c2);
    assert.deepEqual(
      d.collections.map((c) => [c.collection, c.live, c.points]),
      [
        [c2, true, images],
        [c1, false, images],
      ],
    );
  });

  test('a third build deletes the oldest collection beyond IMGSIM_KEEP_COLLECTIONS=2; an older build finishing late does not go live and is dropped', async () => {
    const third = await waitRun(await enqueue({ mode: 'all', modelId }));
    c3 = third.collection ?? '';
    assert.equal(await qdrant.getAliasTarget(aliasName(DATASET)), c3);
    assert.equal(await qdrant.collectionExists(c1), false, 'the oldest collection was deleted');
    assert.equal(await qdrant.collectionExists(c2), true, 'the previous one is kept');
    assert.deepEqual((await show()).collections.map((c) => c.collection), [c3, c2]);

    // A build of a run created before the live one's completes now: it stays aside.
    const oldRun = (await runs.list({ limit: 100 })).find((r) => r.collection === c2);
    assert.ok(oldRun);
    const late = collectionName(DATASET, modelId, `${oldRun.id}-late`);
    await qdrant.ensureCollection(late, query.length);
    const history = new CollectionHistory(redis, 'imgsim');
    const artifacts = await openS3Storage('s3://imgsim-artifacts/imgsim/', s3cfg);
    const r = await publishBuild(
      { dataset: DATASET, collection: late, modelId, runId: oldRun.id },
      { qdrant, runs, history, artifacts, config: { keepCollections: 2 }, logger: createLogger('silent') },
    );
    assert.equal(r.live, false);
    assert.match(r.reason ?? '', /newer build/);
    assert.deepEqual(r.deleted, [late], 'a build that can never go live is not left behind');
    assert.equal(await qdrant.collectionExists(late), false);
    assert.equal(await qdrant.getAliasTarget(aliasName(DATASET)), c3);
    assert.deepEqual((await show()).collections.map((c) => c.collection), [c3, c2]);
  });

  test('dataset rollback points the alias back at the previous collection; searches keep working', async () => {
    const r = await cli(['dataset', 'rollback', DATASET, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(jsonOf<{ from: string; to: string }>(r), { dataset: DATASET, from: c3, to: c2, modelId });
    assert.equal(await qdrant.getAliasTarget(aliasName(DATASET)), c2);
    const d = await show();
    assert.equal(d.collection, c2, 'the registry follows');
    assert.deepEqual(d.collections.map((c) => [c.collection, c.live]), [
      [c2, true],
      [c3, false],
    ]);
    const hits = await qdrant.search(aliasName(DATASET), query, { k: 3, filter: { dataset: DATASET } });
    assert.equal(hits.length, 3);

    const bad = await cli(['dataset', 'rollback', DATASET, '--to', 'imgsim_nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, new RegExp(`--to: received "imgsim_nope"; expected one of the collections kept for dataset "${DATASET}": ${c3}`));
    assert.equal(qdrantErrors(), 0, 'every Qdrant request and response matched the schema');
  });

  test('an incremental (missing) run after the rollback updates the live collection in place', async () => {
    const before = await qdrant.listCollections();
    const run = await waitRun(await enqueue({ mode: 'missing', modelId }));
    assert.equal(run.collection, c2, 'the live collection');
    assert.equal(run.done, 0, 'nothing new to embed');
    assert.deepEqual(await qdrant.listCollections(), before, 'no collection built');
    assert.equal(await qdrant.getAliasTarget(aliasName(DATASET)), c2);
  });
});
