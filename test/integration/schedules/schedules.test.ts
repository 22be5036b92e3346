// Scheduled re-indexing on BullMQ job schedulers, against a real redis-server and real
// `imgsim worker ingest` processes (which run the schedule queue): cron validation,
// exactly one scheduler and one delayed job per schedule however often processes
// restart or the schedule is added again, and a fired schedule enqueuing a normal run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { generateShapesDataset } from '../../../shared/images/synthetic.js';
import { connectRedis, createRedis } from '../../../shared/queue/connection.js';
import { parseCron, Schedules, startScheduleWorker, type ScheduleInfo, type ScheduleSpec } from '../../../shared/queue/schedules.js';
import { RunStore, type RunRecord } from '../../../shared/runs/index.js';
import { createLogger } from '../../../shared/logger.js';
import { UserError } from '../../../shared/errors.js';
import { jsonOf, runCli } from '../../support/cli.js';
import { startRedis } from '../../support/redis-server.js';
import { startQdrantEmulator } from '../../support/qdrant-emulator/index.js';
import { startWorkers, type WorkerPool } from '../../support/workers.js';

const PREFIX = 'imgsim';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('scheduled re-indexing', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  let env: Record<string, string>;
  let redis: Redis;
  let schedules: Schedules;
  let runs: RunStore;
  let workers: WorkerPool;
  let source: string;

  const cli = (args: string[]) => runCli(args, env);
  const started = () => workers.logs().split('ingest worker started').length - 1;
  /** The scheduler entries, and the delayed / waiting / active jobs of the schedule queue by scheduler. */
  const snapshot = async () => {
    const all = await schedules.queue.getJobSchedulers(0, -1);
    const delayed = await schedules.queue.getDelayed();
    const counts = await schedules.queue.getJobCounts('waiting', 'active', 'prioritized');
    const delayedOf = (name: string) => delayed.filter((j) => j.repeatJobKey === name).length;
    return { schedulers: all.map((s) => s.key), delayed: delayed.length, delayedOf, pending: (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0) };
  };

  before(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-schedules-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await generateShapesDataset(path.join(dir, 'images'), { perClass: 1, size: 32, seed: 1 });
    source = pathToFileURL(path.join(dir, 'images')).href;
    const server = await startRedis();
    cleanups.push(() => server.stop());
    const emulator = await startQdrantEmulator();
    cleanups.push(() => emulator.close());
    env = {
      IMGSIM_REDIS_URL: server.url,
      IMGSIM_QDRANT_URL: emulator.url,
      IMGSIM_ARTIFACTS: pathToFileURL(path.join(dir, 'artifacts')).href,
      IMGSIM_LOG_LEVEL: 'info',
      IMGSIM_SHUTDOWN_TIMEOUT_MS: '5000',
    };
    redis = createRedis(server.url, { forWorker: true });
    await connectRedis(redis, server.url);
    cleanups.push(() => Promise.resolve(redis.disconnect()));
    schedules = new Schedules(redis, PREFIX);
    cleanups.push(() => schedules.close());
    runs = new RunStore(redis, PREFIX);
    workers = startWorkers(env, ['ingest']);
    cleanups.push(() => workers.stop());
    await until('the ingest worker to start', () => (started() >= 1 ? true : undefined));
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  test('a cron pattern is validated before anything is stored, with a message naming --cron', async () => {
    assert.ok(parseCron('0 3 * * *').getTime() > Date.now());
    assert.ok(parseCron('*/10 * * * * *').getTime() - Date.now() <= 10_000, 'six fields: seconds first');
    for (const bad of ['61 3 * * *', 'every night', '0 3 * *', '0 3 * * * * *', '']) {
      assert.throws(() => parseCron(bad), (e: unknown) => e instanceof UserError && /^--cron: received "/.test(e.message), bad);
    }
    assert.throws(() => parseCron('0 3 * * *', 'Mars/Olympus'), UserError);

    const base: ScheduleSpec = { schedule: 'bad', dataset: 'photos', source: 's3://images/photos', mode: 'missing', cron: '0 3 * * *' };
    await assert.rejects(schedules.upsert({ ...base, tz: 'Nowhere/Else' }), /--tz: received "Nowhere\/Else"/);
    await assert.rejects(schedules.upsert({ ...base, dataset: 'Bad Name' }), /--dataset: received "Bad Name"/);
    await assert.rejects(schedules.upsert({ ...base, source: '/no/scheme' }), /--source: received "\/no\/scheme"/);
    await assert.rejects(schedules.upsert({ ...base, schedule: 'no spaces' }), /schedule name: received "no spaces"/);
    const r = await cli(['schedule', 'add', 'bad', '--dataset', 'photos', '--source', 's3://images/photos', '--cron', '61 3 * * *']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--cron: received "61 3 \* \* \*"; .*59/);
    assert.equal((await snapshot()).schedulers.length, 0, 'nothing stored');
  });

  test('restarts and repeated adds leave exactly one scheduler and one delayed job per schedule', async () => {
    const add = await cli(['schedule', 'add', 'nightly', '--dataset', 'photos', '--source', 's3://images/photos/', '--cron', '0 3 * * *', '--mode', 'missing', '--json']);
    assert.equal(add.code, 0, add.stderr);
    const info = jsonOf<ScheduleInfo>(add);
    assert.equal(info.schedule, 'nightly');
    assert.equal(info.cron, '0 3 * * *');
    assert.ok(info.next && Date.parse(info.next) > Date.now());

    // Ten simulated restarts of a process: new Queue and Worker instances on new
    // connections, each upserting the schedule again (as a process declaring its
    // schedules at start-up would), then closed.
    const logger = createLogger('silent');
    const spec: ScheduleSpec = { schedule: 'nightly', dataset: 'photos', source: 's3://images/photos/', mode: 'missing', cron: '0 3 * * *' };
    for (let i = 0; i < 10; i++) {
      const connection = createRedis(env.IMGSIM_REDIS_URL ?? '', { forWorker: true });
      await connectRedis(connection, env.IMGSIM_REDIS_URL ?? '');
      const q = new Schedules(connection, PREFIX);
      const worker = startScheduleWorker(() => Promise.resolve(undefined), { connection, prefix: PREFIX, logger });
      await worker.waitUntilReady();
      await q.upsert(spec);
      await worker.close();
      await q.close();
      connection.disconnect();
    }
    // Real restarts of the ingest worker process (it runs the schedule queue).
    for (let i = 0; i < 2; i++) {
      const before = started();
      await workers.kill('ingest', 'SIGTERM');
      workers.start('ingest');
      await until('the ingest worker to restart', () => (started() > before ? true : undefined));
    }
    const again = await cli(['schedule', 'add', 'nightly', '--dataset', 'photos', '--source', 's3://images/photos/', '--cron', '0 3 * * *', '--mode', 'missing']);
    assert.equal(again.code, 0, again.stderr);

    const s = await snapshot();
    assert.deepEqual(s.schedulers, ['nightly']);
    assert.equal(s.delayedOf('nightly'), 1, 'one pending job for the schedule');
    assert.equal(s.delayed, 1);
    assert.equal(s.pending, 0, 'nothing waiting or running');
    assert.equal(Date.parse((await schedules.get('nightly'))?.next ?? ''), Date.parse(info.next ?? ''), 'the next fire time did not move');

    // Adding the same name with another pattern updates it in place.
    assert.equal((await schedules.upsert({ ...spec, cron: '30 2 * * *', mode: 'all' })).mode, 'all');
    const s2 = await snapshot();
    assert.deepEqual(s2.schedulers, ['nightly']);
    assert.equal(s2.delayedOf('nightly'), 1);
    assert.equal(s2.delayed, 1);
  });

  test('schedule list and remove', async () => {
    const list = await cli(['schedule', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const all = jsonOf<ScheduleInfo[]>(list);
    assert.deepEqual(
      all.map((s) => [s.schedule, s.cron, s.mode, s.dataset, s.source]),
      [['nightly', '30 2 * * *', 'all', 'photos', 's3://images/photos/']],
    );
    const rm1 = await cli(['schedule', 'remove', 'nightly']);
    assert.equal(rm1.code, 0, rm1.stderr);
    const s = await snapshot();
    assert.deepEqual(s.schedulers, []);
    assert.equal(s.delayed, 0, 'its pending job went with it');
    const rm2 = await cli(['schedule', 'remove', 'nightly']);
    assert.equal(rm2.code, 2);
    assert.match(rm2.stderr, /Schedule "nightly" not found/);
  });

  test('fired N× counts firings: 0 for a schedule that never fired, then one per job a worker took', async () => {
    // Another key prefix: the ingest worker of this suite does not run these.
    const prefix = 'imgsim-fired';
    const own = new Schedules(redis, prefix);
    const logger = createLogger('silent');
    let worker: ReturnType<typeof startScheduleWorker> | undefined;
    try {
      await own.upsert({ schedule: 'later', dataset: 'photos', source: 's3://images/photos/', mode: 'missing', cron: '0 3 * * *' });
      assert.equal((await own.get('later'))?.iterations, 0, 'BullMQ counts the pending job it created: iterationCount 1');
      const list = await runCli(['schedule', 'list'], { ...env, IMGSIM_QUEUE_PREFIX: prefix });
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^later {2}"0 3 \* \* \*" .* fired 0×$/m);

      let calls = 0;
      await own.upsert({ schedule: 'often', dataset: 'photos', source: 's3://images/photos/', mode: 'missing', cron: '* * * * * *' });
      worker = startScheduleWorker(
        () => {
          calls += 1;
          return Promise.resolve(undefined);
        },
        { connection: redis, prefix, logger },
      );
      await until('two firings', () => (calls >= 2 ? true : undefined), 15_000);
      await worker.close();
      worker = undefined;
      // Every job taken was handled (close waits for it); nothing fires without a worker.
      assert.equal((await own.get('often'))?.iterations, calls);
      assert.equal((await own.get('later'))?.iterations, 0);
    } finally {
      await worker?.close();
      await own.remove('later');
      await own.remove('often');
      await own.close();
    }
  });

  test('a fired schedule enqueues a run through the ingest worker: missing uses the current model, none yet trains; firing again joins the active run', async () => {
    const runsOf = async (dataset: string): Promise<RunRecord[]> => (await runs.list({ limit: 100 })).filter((r) => r.dataset === dataset);
    // No model yet → a run that trains first (mode all, no model).
    await schedules.upsert({ schedule: 'fresh', dataset: 'fresh', source, mode: 'missing', cron: '* * * * * *' });
    // A registered dataset → a missing run with its model.
    await runs.setDataset({ name: 'known', source, modelId: 'cae-32-test', collection: 'imgsim_known__cae-32-test__x', alias: 'imgsim_known' });
    await schedules.upsert({ schedule: 'known', dataset: 'known', source, mode: 'missing', cron: '* * * * * *' });

    const fresh = await until('a run of the fresh schedule', async () => (await runsOf('fresh'))[0]);
    assert.equal(fresh.mode, 'all');
    assert.equal(fresh.modelId, undefined);
    assert.equal(fresh.source, source);
    const known = await until('a run of the known schedule', async () => (await runsOf('known'))[0]);
    assert.equal(known.mode, 'missing');
    assert.equal(known.modelId, 'cae-32-test');

    // Let both fire a few more times: the first run is still active (nothing trains or
    // embeds here), so every later firing returns it instead of creating another.
    await until('three firings', async () => ((await schedules.get('fresh'))?.iterations ?? 0) >= 3 ? true : undefined);
    await schedules.remove('fresh');
    await schedules.remove('known');
    assert.equal((await runsOf('fresh')).length, 1, workers.logs());
    const freshNow = await runs.get(fresh.id);
    assert.equal(freshNow?.status, 'training', 'the ingest worker listed the source and asked for training');
    const s = await snapshot();
    assert.deepEqual(s.schedulers, []);
  });
});
