// RunStore against a real redis-server (one per file, a fresh key prefix per test).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { UserError } from '../../../shared/errors.js';
import { connectRedis, createRedis } from '../../../shared/queue/connection.js';
import {
  CorruptRecordError,
  RunNotFoundError,
  RunStore,
  RunWaitTimeoutError,
  withMetrics,
  type RunRecord,
} from '../../../shared/runs/index.js';
import { startRedis, type RedisTestServer } from '../../support/redis-server.js';

let server: RedisTestServer;
let redis: Redis;
let counter = 0;

before(async () => {
  server = await startRedis();
  redis = createRedis(server.url);
  await connectRedis(redis, server.url);
});

after(async () => {
  await redis.quit();
  await server.stop();
});

function freshPrefix(): string {
  counter += 1;
  return `t${process.pid}-${counter}`;
}

function newStore(): { store: RunStore; prefix: string } {
  const prefix = freshPrefix();
  return { store: new RunStore(redis, prefix), prefix };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const base = { dataset: 'photos', source: 'file:///data/photos', mode: 'all' } as const;

describe('RunStore: runs', () => {
  test('create, get and list newest first', async () => {
    const { store } = newStore();
    const a = await store.create(base);
    await sleep(3);
    const b = await store.create({ ...base, mode: 'missing', modelId: 'cae-1' });
    await sleep(3);
    const c = await store.create({ ...base, dataset: 'other' });

    for (const run of [a, b, c]) assert.match(run.id, /^[a-z0-9-]{6,64}$/);
    assert.equal(new Set([a.id, b.id, c.id]).size, 3);
    assert.equal(a.status, 'queued');
    assert.deepEqual([a.total, a.done, a.failed], [0, 0, 0]);
    assert.equal(a.startedAt, undefined);
    assert.equal(a.modelId, undefined);

    assert.deepEqual(await store.get(b.id), b);
    assert.equal(b.modelId, 'cae-1');
    assert.equal(await store.get('nosuchrun'), undefined);

    assert.deepEqual((await store.list()).map((r) => r.id), [c.id, b.id, a.id]);
    assert.deepEqual((await store.list({ limit: 2 })).map((r) => r.id), [c.id, b.id]);
    assert.deepEqual((await store.list({ limit: 2, offset: 2 })).map((r) => r.id), [a.id]);
  });

  test('create rejects bad input naming the field, expected and received value', async () => {
    const { store } = newStore();
    await assert.rejects(store.create({ ...base, dataset: 'Bad Name' }), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.match(error.message, /dataset/);
      assert.match(error.message, /lowercase/);
      assert.match(error.message, /"Bad Name"/);
      return true;
    });
    await assert.rejects(store.create({ ...base, source: '/no/scheme' }), /source: expected s3:\/\/bucket\/prefix or file:\/\/\/path/);
    await assert.rejects(store.get('BAD:ID'), (error: unknown) => error instanceof UserError && /run id/.test(error.message));
  });

  test('createOrJoin: concurrent enqueues from separate connections create one run', async () => {
    const { prefix } = newStore();
    const clients = Array.from({ length: 8 }, () => createRedis(server.url));
    try {
      await Promise.all(clients.map((c) => connectRedis(c, server.url)));
      const results = await Promise.all(clients.map((c) => new RunStore(c, prefix).createOrJoin(base)));
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.equal(new Set(results.map((r) => r.run.id)).size, 1);
      const other = await new RunStore(redis, prefix).createOrJoin({ ...base, mode: 'missing', modelId: 'cae-1' });
      assert.equal(other.created, true, 'different parameters are different work');
      assert.equal((await new RunStore(redis, prefix).list()).length, 2);
      assert.equal((await redis.keys(`${prefix}:lock:*`)).length, 0, 'locks released');
    } finally {
      for (const c of clients) c.disconnect();
    }
  });

  test('findActive finds a run with the same parameters until it finishes', async () => {
    const { store } = newStore();
    const all = await store.create(base);
    const missing = await store.create({ ...base, mode: 'missing' });
    const withModel = await store.create({ ...base, modelId: 'cae-1' });

    assert.equal((await store.findActive(base.dataset, base.source, 'all'))?.id, all.id);
    assert.equal((await store.findActive(base.dataset, base.source, 'missing'))?.id, missing.id);
    assert.equal((await store.findActive(base.dataset, base.source, 'all', 'cae-1'))?.id, withModel.id);
    assert.equal(await store.findActive(base.dataset, base.source, 'all', 'cae-2'), undefined);
    assert.equal(await store.findActive('other', base.source, 'all'), undefined);
    assert.equal(await store.findActive(base.dataset, 's3://bucket/photos', 'all'), undefined);

    await store.setStatus(all.id, 'embedding');
    assert.equal((await store.findActive(base.dataset, base.source, 'all'))?.id, all.id, 'still active while running');
    await store.setStatus(all.id, 'completed');
    assert.equal(await store.findActive(base.dataset, base.source, 'all'), undefined);

    const again = await store.create(base);
    assert.equal((await store.findActive(base.dataset, base.source, 'all'))?.id, again.id);
    await store.setStatus(again.id, 'failed', { error: 'boom' });
    assert.equal(await store.findActive(base.dataset, base.source, 'all'), undefined);
  });

  test('status transitions set startedAt, embeddingStartedAt and finishedAt', async () => {
    const { store } = newStore();
    const run = await store.create(base);

    const listing = await store.setStatus(run.id, 'listing');
    assert.equal(listing.status, 'listing');
    assert.ok(listing.startedAt);
    assert.equal(listing.finishedAt, undefined);
    assert.ok(listing.updatedAt >= run.updatedAt);
    await sleep(3);

    const training = await store.setStatus(run.id, 'training');
    assert.equal(training.startedAt, listing.startedAt, 'startedAt is set once');
    assert.equal(training.embeddingStartedAt, undefined);

    const embedding = await store.setStatus(run.id, 'embedding', { modelId: 'cae-7', collection: 'photos__cae-7' });
    assert.ok(embedding.embeddingStartedAt);
    assert.ok(embedding.embeddingStartedAt >= training.updatedAt);
    assert.equal(embedding.modelId, 'cae-7');
    assert.equal(embedding.collection, 'photos__cae-7');
    await sleep(3);

    const clustering = await store.setStatus(run.id, 'clustering');
    assert.equal(clustering.embeddingStartedAt, embedding.embeddingStartedAt, 'embeddingStartedAt is set once');

    const completed = await store.setStatus(run.id, 'completed');
    assert.ok(completed.finishedAt);
    assert.ok(completed.finishedAt >= completed.startedAt!);
    assert.equal(completed.modelId, 'cae-7', 'extra fields persist');

    // Reopening (retry failed) clears finishedAt; failing records the error.
    const reopened = await store.setStatus(run.id, 'embedding');
    assert.equal(reopened.finishedAt, undefined);
    assert.equal(reopened.embeddingStartedAt, embedding.embeddingStartedAt);
    const failed = await store.setStatus(run.id, 'failed', { error: 'Qdrant unreachable' });
    assert.equal(failed.error, 'Qdrant unreachable');
    assert.ok(failed.finishedAt);
    const retried = await store.setStatus(run.id, 'embedding');
    assert.equal(retried.error, undefined, 'a reopened run loses the old error');

    await assert.rejects(store.setStatus('nosuchrun', 'listing'), RunNotFoundError);
    await assert.rejects(store.setStatus(run.id, 'bogus' as never), /status/);
  });

  test('markDone and markFailed are idempotent; a retried key that succeeds counts as done only', async () => {
    const { store } = newStore();
    const run = await store.create(base);
    await store.setTotal(run.id, 5);

    assert.deepEqual(await store.markDone(run.id, ['a.jpg', 'b.jpg']), { done: 2, failed: 0 });
    assert.deepEqual(await store.markDone(run.id, ['a.jpg', 'b.jpg']), { done: 2, failed: 0 }, 'redelivery');

    const failures = [
      { key: 'c.jpg', reason: 'corrupt', message: 'not a JPEG' },
      { key: 'd.jpg', reason: 'truncated', message: 'premature end' },
    ];
    assert.deepEqual(await store.markFailed(run.id, failures), { done: 2, failed: 2 });
    assert.deepEqual(await store.markFailed(run.id, failures), { done: 2, failed: 2 }, 'redelivery');

    // c.jpg is retried and succeeds: done once, no longer failed.
    assert.deepEqual(await store.markDone(run.id, ['c.jpg']), { done: 3, failed: 1 });
    assert.deepEqual(await store.markDone(run.id, ['c.jpg']), { done: 3, failed: 1 });
    // A late duplicate failure of a key already done is ignored.
    assert.deepEqual(await store.markFailed(run.id, [{ key: 'a.jpg', reason: 'error', message: 'late' }]), { done: 3, failed: 1 });

    const record = await store.get(run.id);
    assert.deepEqual([record?.total, record?.done, record?.failed], [5, 3, 1]);
    assert.deepEqual(await store.failedKeys(run.id), ['d.jpg']);

    await store.markFailed(run.id, [
      { key: 'e.jpg', reason: 'corrupt', message: 'x' },
      { key: 'f.jpg', reason: 'corrupt', message: 'y' },
    ]);
    const page = await store.failures(run.id, { offset: 0, limit: 2 });
    assert.equal(page.total, 3);
    assert.deepEqual(page.items.map((f) => f.key), ['d.jpg', 'e.jpg']);
    assert.equal(page.items[0]?.reason, 'truncated');
    assert.equal(page.items[0]?.message, 'premature end');
    assert.ok(!Number.isNaN(Date.parse(page.items[0]?.at ?? '')));
    assert.deepEqual((await store.failures(run.id, { offset: 2, limit: 2 })).items.map((f) => f.key), ['f.jpg']);

    assert.equal(await store.clearFailures(run.id, ['d.jpg', 'e.jpg', 'nope.jpg']), 2);
    assert.deepEqual(await store.failedKeys(run.id), ['f.jpg']);
    assert.equal((await store.get(run.id))?.failed, 1);

    await assert.rejects(store.markDone('nosuchrun', ['a']), RunNotFoundError);
    await assert.rejects(store.markFailed('nosuchrun', failures), RunNotFoundError);
  });

  test('progress: throughput and ETA from the embedding start', async () => {
    const { store } = newStore();
    const run = await store.create(base);
    await store.setTotal(run.id, 100);
    const before = await store.progress(run.id);
    assert.equal(before.imagesPerSecond, undefined);
    assert.equal(before.etaSeconds, undefined);

    const t0 = Date.now();
    await store.setStatus(run.id, 'embedding');
    const idle = await store.progress(run.id);
    assert.equal(idle.etaSeconds, undefined, 'no ETA until something is done');

    await sleep(100);
    await store.markDone(run.id, Array.from({ length: 10 }, (_, i) => `img-${i}.jpg`));
    await store.markFailed(run.id, [{ key: 'bad.jpg', reason: 'corrupt', message: 'x' }]);
    const p = await store.progress(run.id);
    const elapsed = (Date.now() - t0) / 1000;

    assert.equal(p.done, 10);
    assert.equal(p.failed, 1);
    const rate = p.imagesPerSecond ?? Number.NaN;
    assert.ok(rate >= 10 / (elapsed + 0.01) && rate <= 10 / 0.1, `rate ${rate} for ~${elapsed}s`);
    const eta = p.etaSeconds ?? Number.NaN;
    assert.ok(Math.abs(eta - 89 / rate) < 1e-9, `eta ${eta}`);

    const done = await store.setStatus(run.id, 'completed');
    const final = withMetrics(done, Date.now() + 60_000);
    assert.equal(final.etaSeconds, 0);
    assert.ok((final.imagesPerSecond ?? 0) > 10 / (elapsed + 1), 'a finished run measures up to finishedAt');

    await assert.rejects(store.progress('nosuchrun'), RunNotFoundError);
  });

  test('waitFor resolves when another connection completes the run', async () => {
    const prefix = freshPrefix();
    const store = new RunStore(redis, prefix);
    const run = await store.create(base);

    const other = createRedis(server.url);
    await connectRedis(other, server.url);
    try {
      const worker = new RunStore(other, prefix);
      const seen: RunRecord[] = [];
      const waiting = store.waitFor(run.id, { timeoutMs: 5_000, pollMs: 20, onProgress: (r) => seen.push(r) });
      await sleep(60);
      await worker.setStatus(run.id, 'embedding');
      await worker.setTotal(run.id, 2);
      await worker.markDone(run.id, ['x', 'y']);
      await sleep(60);
      await worker.setStatus(run.id, 'completed');

      const final = await waiting;
      assert.equal(final.status, 'completed');
      assert.equal(final.done, 2);
      assert.ok(seen.length >= 2);
      assert.equal(seen.at(-1)?.status, 'completed');
      assert.ok(seen.some((r) => r.status === 'embedding' || r.status === 'queued'));
    } finally {
      await other.quit();
    }
  });

  test('waitFor times out with a clear message', async () => {
    const { store } = newStore();
    const run = await store.create(base);
    await store.setStatus(run.id, 'listing');
    const started = Date.now();
    await assert.rejects(store.waitFor(run.id, { timeoutMs: 150, pollMs: 20 }), (error: unknown) => {
      assert.ok(error instanceof RunWaitTimeoutError);
      assert.match(error.message, new RegExp(`Run "${run.id}" did not finish within 150 ms \\(status listing, done 0/0, failed 0\\)`));
      assert.equal(error.run.status, 'listing');
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took >= 140 && took < 1_500, `took ${took} ms`);
    await assert.rejects(store.waitFor('nosuchrun', { timeoutMs: 100 }), RunNotFoundError);
  });

  test('waitFor polls on through a Redis outage; if Redis stays away past the deadline, the timeout names the last record read', async () => {
    const own = await startRedis({ persistence: 'aof' });
    const conn = createRedis(own.url);
    const other = createRedis(own.url);
    try {
      await connectRedis(conn, own.url);
      await connectRedis(other, own.url);
      const prefix = freshPrefix();
      const store = new RunStore(conn, prefix);
      const run = await store.create(base);
      await store.setStatus(run.id, 'embedding');
      const waiting = store.waitFor(run.id, { timeoutMs: 30_000, pollMs: 50 });
      await sleep(150);
      await own.outage(1_500);
      await new RunStore(other, prefix).setStatus(run.id, 'completed');
      assert.equal((await waiting).status, 'completed');

      const second = await store.create(base);
      await store.setStatus(second.id, 'clustering');
      const started = Date.now();
      const timingOut = store.waitFor(second.id, { timeoutMs: 1_000, pollMs: 50 });
      await sleep(150);
      await own.pause();
      await assert.rejects(timingOut, (error: unknown) => {
        assert.ok(error instanceof RunWaitTimeoutError, String(error));
        assert.equal(error.run.status, 'clustering');
        return true;
      });
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    } finally {
      conn.disconnect();
      other.disconnect();
      await own.stop();
    }
  });

  test('delete removes every key of the run', async () => {
    const { store, prefix } = newStore();
    const keep = await store.create(base);
    const run = await store.create({ ...base, mode: 'missing' });
    await store.markDone(run.id, ['a']);
    await store.markFailed(run.id, [{ key: 'b', reason: 'corrupt', message: 'x' }]);
    assert.ok((await redis.keys(`${prefix}:run:${run.id}*`)).length >= 3);

    assert.equal(await store.delete(run.id), true);
    assert.equal(await store.delete(run.id), false);
    assert.deepEqual(await redis.keys(`${prefix}:run:${run.id}*`), []);
    assert.deepEqual((await store.list()).map((r) => r.id), [keep.id]);
    assert.equal(await store.findActive(base.dataset, base.source, 'missing'), undefined);
    assert.deepEqual(await redis.smembers(`${prefix}:runs:active`), [keep.id]);
  });

  test('a corrupted or foreign record is reported with its key', async () => {
    const { store, prefix } = newStore();
    const run = await store.create(base);
    const key = `${prefix}:run:${run.id}`;

    await redis.hset(key, 'status', 'exploded');
    await assert.rejects(store.get(run.id), (error: unknown) => {
      assert.ok(error instanceof CorruptRecordError);
      assert.equal(error.key, key);
      assert.match(error.message, new RegExp(`"${key}"`));
      assert.match(error.message, /status/);
      assert.match(error.message, /"exploded"/);
      return true;
    });
    await assert.rejects(store.list(), CorruptRecordError);

    await redis.del(key);
    await redis.set(key, 'not a hash');
    await assert.rejects(store.get(run.id), (error: unknown) => {
      assert.ok(error instanceof CorruptRecordError);
      assert.match(error.message, new RegExp(`"${key}"`));
      assert.match(error.message, /WRONGTYPE/);
      return true;
    });

    const other = await store.create(base);
    await redis.hset(`${prefix}:run:${other.id}:failed`, 'k.jpg', '{not json');
    await assert.rejects(store.failures(other.id), (error: unknown) => {
      assert.ok(error instanceof CorruptRecordError);
      assert.match(error.message, /:failed field "k\.jpg"/);
      return true;
    });
  });
});

describe('RunStore: dataset registry', () => {
  test('set, get and list round trip', async () => {
    const { store } = newStore();
    assert.equal(await store.getDataset('photos'), undefined);
    assert.deepEqual(await store.listDatasets(), []);

    const photos = await store.setDataset({
      name: 'photos',
      source: 's3://bucket/photos',
      modelId: 'cae-1',
      collection: 'photos__cae-1',
      alias: 'photos',
    });
    assert.ok(!Number.isNaN(Date.parse(photos.updatedAt)));
    assert.deepEqual(await store.getDataset('photos'), photos);

    await store.setDataset({ name: 'art', source: 'file:///data/art', modelId: 'cae-2', collection: 'art__cae-2', alias: 'art' });
    const updated = await store.setDataset({ ...photos, modelId: 'cae-3', collection: 'photos__cae-3' });
    assert.equal((await store.getDataset('photos'))?.collection, 'photos__cae-3');
    assert.deepEqual(
      (await store.listDatasets()).map((d) => [d.name, d.modelId]),
      [
        ['art', 'cae-2'],
        ['photos', 'cae-3'],
      ],
    );
    assert.equal(updated.name, 'photos');

    await assert.rejects(
      store.setDataset({ name: 'x', source: 'http://nope', modelId: 'm', collection: 'c', alias: 'a' }),
      (error: unknown) => error instanceof UserError && /source/.test(error.message) && /"http:\/\/nope"/.test(error.message),
    );
    assert.equal(await store.deleteDataset('art'), true);
    assert.deepEqual((await store.listDatasets()).map((d) => d.name), ['photos']);
  });
});
