// retry-failed on a finished run whose collection is no longer live (a later build or a
// rollback replaced it) is refused with the command that fills the live collection
// instead; on the live collection's run it goes ahead. Real redis-server; the retry's
// jobs land in real BullMQ queues under a fresh prefix.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { loadConfig } from '../../../shared/config/index.js';
import { ConflictError } from '../../../shared/errors.js';
import { connectRedis, createRedis } from '../../../shared/queue/connection.js';
import { BullScheduler } from '../../../shared/queue/scheduler.js';
import { RunStore } from '../../../shared/runs/index.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import { ListingWriter } from '../../../pipelines/distributed/handoffs.js';
import { retryFailed } from '../../../pipelines/distributed/runs.js';
import { startRedis, type RedisTestServer } from '../../support/redis-server.js';

let server: RedisTestServer;
let redis: Redis;
let dir: string;

before(async () => {
  server = await startRedis();
  redis = createRedis(server.url);
  await connectRedis(redis, server.url);
  dir = await mkdtemp(path.join(tmpdir(), 'imgsim-retry-'));
});

after(async () => {
  redis.disconnect();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

test('retry-failed refuses a run whose collection was superseded and retries the live one', async () => {
  const prefix = `retry${process.pid}`;
  const runs = new RunStore(redis, prefix);
  const scheduler = new BullScheduler(redis, prefix);
  const artifacts = new LocalStorage(dir);
  const deps = { runs, scheduler, artifacts, config: loadConfig({}) };
  const base = { dataset: 'photos', source: 's3://bucket/photos', mode: 'all' } as const;
  try {
    const old = await runs.create(base);
    const live = await runs.create(base);
    for (const [run, collection] of [[old, 'imgsim_photos__m1__a'], [live, 'imgsim_photos__m1__b']] as const) {
      const pages = new ListingWriter(artifacts, run.id);
      for (const ref of [{ key: 'a.jpg', etag: '1' }, { key: 'b.jpg', etag: '2' }]) await pages.add(ref);
      await pages.finish({ listed: 2, toEmbed: 2, ignored: 0, removed: 0 });
      await runs.setStatus(run.id, 'completed', { modelId: 'm1', collection });
      await runs.markFailed(run.id, [{ key: 'b.jpg', reason: 'error', message: 'qdrant timed out' }]);
    }
    await runs.setDataset({ name: 'photos', source: base.source, modelId: 'm1', collection: 'imgsim_photos__m1__b', alias: 'imgsim_photos' });

    await assert.rejects(retryFailed(old.id, deps), (error: unknown) => {
      assert.ok(error instanceof ConflictError);
      assert.match(error.message, /imgsim_photos__m1__a, which is no longer live/);
      assert.match(error.message, /imgsim enqueue s3:\/\/bucket\/photos --dataset photos --mode missing --model m1/);
      return true;
    });
    assert.deepEqual(await runs.failedKeys(old.id), ['b.jpg'], 'nothing cleared by the refused retry');

    assert.deepEqual(await retryFailed(live.id, deps), { retried: 1 });
    assert.deepEqual(await runs.failedKeys(live.id), []);
    assert.equal((await runs.get(live.id))?.collection, 'imgsim_photos__m1__b');
  } finally {
    await scheduler.close();
  }
});

test('retry-failed is refused while the run is still going (its cluster job would judge the build mid-retry)', async () => {
  const prefix = `retryrunning${process.pid}`;
  const runs = new RunStore(redis, prefix);
  const scheduler = new BullScheduler(redis, prefix);
  const deps = { runs, scheduler, artifacts: new LocalStorage(dir), config: loadConfig({}) };
  try {
    const run = await runs.create({ dataset: 'photos', source: 's3://bucket/photos', mode: 'all' });
    await runs.setStatus(run.id, 'embedding', { modelId: 'm1', collection: 'imgsim_photos__m1__c' });
    await runs.markFailed(run.id, [{ key: 'b.jpg', reason: 'transient', message: 'embed gave up after 16 attempts' }]);
    await assert.rejects(retryFailed(run.id, deps), (error: unknown) => error instanceof ConflictError && /is still embedding/.test(error.message));
    assert.deepEqual(await runs.failedKeys(run.id), ['b.jpg'], 'nothing cleared');
  } finally {
    await scheduler.close();
  }
});
