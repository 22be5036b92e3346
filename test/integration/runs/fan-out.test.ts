// The fan-out of a large listing on real BullMQ queues (real redis-server): batches are
// added in chunks under a publish job that a gate holds back, so publish never runs
// before the last batch is in — even when every batch added so far has finished — and a
// fan-out cut short (its worker killed mid-way) is completed by calling it again, with
// no batch added twice — and a batch that failed for good before the retry is not added
// back (BullMQ would make publish wait for it again, forever).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FanOut, ObjectRef } from '../../../shared/jobs/scheduler.js';
import { connectRedis, createRedis } from '../../../shared/queue/connection.js';
import { BullScheduler, FAN_OUT_GATE_QUEUE } from '../../../shared/queue/scheduler.js';
import { startRedis, type RedisTestServer } from '../../support/redis-server.js';

let server: RedisTestServer;
let redis: Redis;

before(async () => {
  server = await startRedis();
  redis = createRedis(server.url);
  await connectRedis(redis, server.url);
});

after(async () => {
  redis.disconnect();
  await server.stop();
});

const BATCHES = 200; // > 3 chunks of 64
const PER_BATCH = 2;

/** The batches of a listing; `cutAt`: the producer dies there (the worker was killed). */
// eslint-disable-next-line @typescript-eslint/require-await -- an async source, like listing pages read from storage
async function* batches(count: number, cutAt?: number): AsyncGenerator<ObjectRef[]> {
  for (let b = 0; b < count; b++) {
    if (b === cutAt) throw new Error('train worker killed mid-fan-out');
    yield Array.from({ length: PER_BATCH }, (_, i) => ({ key: `img/${String(b * PER_BATCH + i).padStart(6, '0')}.jpg`, etag: 'e1' }));
  }
}

function plan(source: AsyncIterable<ObjectRef[]>, attempt = ''): FanOut {
  return { runId: 'run-000001', dataset: 'ds', source: 's3://bucket/ds', modelId: 'm1', collection: 'c1', attempt, batches: source };
}

async function until(what: string, ok: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a fan-out cut short holds publish back; calling it again completes it without adding a batch twice', async () => {
  const prefix = `fanout${process.pid}`;
  const scheduler = new BullScheduler(redis, prefix);
  const seen = { embed: new Map<string, number>(), index: new Map<string, number>() };
  const count = (m: Map<string, number>, id: string | undefined): void => void m.set(id ?? '?', (m.get(id ?? '?') ?? 0) + 1);
  const stages = ['embed', 'index'] as const;
  const connections = stages.map(() => createRedis(server.url, { forWorker: true }));
  const workers = stages.map(
    (stage, i) =>
      new Worker(
        stage,
        // eslint-disable-next-line @typescript-eslint/require-await -- a stand-in processor
        async (job) => {
          count(seen[stage], job.id);
          if (job.id?.endsWith('-index-3')) throw new UnrecoverableError('batch 3 cannot be indexed');
          return {};
        },
        { connection: connections[i] as Redis, prefix, concurrency: 8 },
      ),
  );
  const publishState = async (id = 'run-000001-publish'): Promise<string | undefined> => (await scheduler.queues.publish.getJob(id))?.getState();
  try {
    await assert.rejects(scheduler.fanOut(plan(batches(BATCHES, 150))), /killed mid-fan-out/);
    assert.equal(await publishState(), 'waiting-children');
    // What was added before the cut (two chunks of 64 batches) runs to completion (batch 3 fails for good)…
    const finished = async (): Promise<number> => (await scheduler.queues.index.getCompletedCount()) + (await scheduler.queues.index.getFailedCount());
    await until('the first 128 batches indexed', async () => (await finished()) === 128);
    // …and publish still waits: the gate holds it until the last batch is in.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await publishState(), 'waiting-children');
    assert.equal(await scheduler.queues.publish.getWaitingCount(), 0);

    await scheduler.fanOut(plan(batches(BATCHES))); // the retry of the killed job
    await until('publish released', async () => (await publishState()) === 'waiting');
    assert.equal(await scheduler.queues.index.getCompletedCount(), BATCHES - 1);
    assert.equal(await scheduler.queues.index.getFailedCount(), 1);
    assert.equal(await scheduler.queues.embed.getCompletedCount(), BATCHES);
    assert.equal(seen.embed.size, BATCHES);
    assert.ok([...seen.embed.values(), ...seen.index.values()].every((n) => n === 1), 'no batch embedded or indexed twice');
    const gates = await redis.keys(`${prefix}:${FAN_OUT_GATE_QUEUE}:*gate*`);
    assert.deepEqual(gates, [], 'the gate is removed');

    // A completed fan-out called again is a no-op.
    await scheduler.fanOut(plan(batches(BATCHES)));
    assert.equal(await publishState(), 'waiting');
    assert.equal(await scheduler.queues.index.getCompletedCount(), BATCHES - 1);
    assert.equal((await scheduler.queues.index.getJobCounts('waiting', 'waiting-children', 'active')).waiting, 0);

    // Nothing to embed: publish is released at once.
    await scheduler.fanOut(plan(batches(0), 'r1'));
    assert.equal(await publishState('run-000001-r1-publish'), 'waiting');
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await scheduler.close();
    for (const c of connections) c.disconnect();
  }
});
