// Operator commands and workers while a service is away, with the real `imgsim` in child
// processes: `run-status --wait` rides through a Redis outage (Redis keeps its data: AOF)
// and says when Redis went away and came back; Redis-only commands work while S3 is
// unreachable (the artefact store opens on first use); a worker logs one warn and one info
// line for an outage, not a dump per connection per attempt.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Redis } from 'ioredis';
import { RunStore } from '../../../shared/runs/index.js';
import { runCli } from '../../support/cli.js';
import { startCliRedis, type CliRedis } from '../../support/cli-redis.js';
import type { RedisTestServer } from '../../support/redis-server.js';
import { startWorkers } from '../../support/workers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Without Node's multi-line process warnings (the AWS SDK's "NodeVersionSupportWarning" on Node 20). */
function withoutNodeWarnings(text: string): string {
  return text.replace(/^(\[\w+\] )?\(node:\d+\) Warning:[^]*?\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)\n/gm, '');
}

/** A port nothing listens on (it was free a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
}

describe('operator commands and workers through outages', () => {
  let stack: CliRedis;
  let server: RedisTestServer;
  let redis: Redis;
  let runs: RunStore;
  let env: Record<string, string>;

  /** Whether a client other than this test's ran a MULTI/EXEC last (a RunStore read: the CLI is polling). */
  const cliPolling = async (): Promise<boolean> => {
    const me = String(await redis.client('ID'));
    const list = String(await redis.client('LIST'));
    return list.split('\n').some((l) => !l.startsWith(`id=${me} `) && / cmd=exec /.test(l));
  };

  before(async () => {
    stack = await startCliRedis('outages', { persistence: 'aof' });
    ({ server, redis, runs, env } = stack);
  });

  after(() => stack.stop());

  test('run-status --wait: Redis stopped and started again → one line when it goes, one when it is back, exit 0 when the run completes', async () => {
    const run = await runs.create({ dataset: 'photos', source: 's3://images/photos/', mode: 'all' });
    await runs.setStatus(run.id, 'embedding', { modelId: 'cae-32-test' });
    await runs.setTotal(run.id, 4);
    const waiting = runCli(['run-status', run.id, '--wait'], env);
    await until('run-status to poll', cliPolling);
    await sleep(600); // inside the wait loop (a poll every 500 ms)

    await server.outage(3_000);
    await until('run-status to poll again after the restart', cliPolling, 30_000);
    await runs.markDone(run.id, ['a.png', 'b.png', 'c.png', 'd.png']);
    await runs.setStatus(run.id, 'completed');

    const r = await waiting;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${run.id}\\s+completed\\s+photos\\s+4/4 done, 0 failed`, 'm'));
    const away = r.stderr.match(/^Redis at redis:\/\/127\.0\.0\.1:\d+\/? unreachable \(.+\); waiting for it to come back$/gm) ?? [];
    const back = r.stderr.match(new RegExp(`^Redis at redis://127\\.0\\.0\\.1:\\d+/? is back after (\\d+ms|\\d+(\\.\\d)?s|\\d+m \\d\\ds); still waiting for run ${run.id}$`, 'gm')) ?? [];
    assert.equal(away.length, 1, r.stderr);
    assert.equal(back.length, 1, r.stderr);
    assert.ok(r.stderr.indexOf(away[0] ?? '') < r.stderr.indexOf(back[0] ?? ''), 'gone, then back');
    assert.doesNotMatch(r.stderr, /imgsim: |Error:|\[ioredis\]/, 'no error, no dump');
  });

  test('S3 unreachable: run-status, runs and enqueue work (run state is in Redis); what needs S3 fails in one line', async () => {
    const s3env = {
      ...env,
      IMGSIM_ARTIFACTS: 's3://imgsim-artifacts/imgsim/',
      IMGSIM_S3_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
      IMGSIM_S3_ACCESS_KEY_ID: 'imgsim',
      IMGSIM_S3_SECRET_ACCESS_KEY: 'imgsim-secret',
      IMGSIM_S3_MAX_ATTEMPTS: '1',
    };
    const run = await runs.create({ dataset: 'offline', source: 's3://images/offline/', mode: 'all' });
    const status = await runCli(['run-status', run.id], s3env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^${run.id}\\s+queued\\s+offline`, 'm'));
    const list = await runCli(['runs'], s3env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${run.id} `, 'm'));
    const enqueued = await runCli(['enqueue', 's3://images/later/', '--dataset', 'later'], s3env);
    assert.equal(enqueued.code, 0, enqueued.stderr);
    assert.match(enqueued.stdout, /^run \S+ enqueued$/m);

    // retry-failed reads the run's listing from the artefact store: that one needs S3.
    await runs.setStatus(run.id, 'completed', { modelId: 'cae-32-test' });
    await runs.markFailed(run.id, [{ key: 'x.png', reason: 'transient', message: 'embed gave up after 16 attempts' }]);
    const retry = await runCli(['retry-failed', run.id], s3env);
    assert.notEqual(retry.code, 0);
    const stderr = withoutNodeWarnings(retry.stderr);
    assert.equal(stderr.trim().split('\n').length, 1, retry.stderr);
    assert.match(stderr, /^imgsim: S3 endpoint http:\/\/127\.0\.0\.1:\d+ is unreachable: /);
  });

  test('a worker through a Redis outage: one warn line and one info line, nothing else', async () => {
    // Its own key prefix: the runs the other tests enqueued are not its business.
    const workers = startWorkers({ ...env, IMGSIM_LOG_LEVEL: 'info', IMGSIM_QUEUE_PREFIX: 'outage-worker' }, ['ingest']);
    try {
      await until('the ingest worker to start', () => workers.logs().includes('ingest worker started'));
      await server.outage(4_000);
      await until('the worker to see Redis back', () => workers.logs().includes('Redis is back'), 30_000);
      await sleep(1_000); // anything late would show now
    } finally {
      await workers.stop();
    }
    const logs = withoutNodeWarnings(workers.logs());
    assert.equal(logs.match(/warn {2}Redis unreachable; reconnecting {2}redis=redis:\/\/127\.0\.0\.1:\d+\/? cause=\S/g)?.length, 1, logs);
    assert.equal(logs.match(/info {2}Redis is back after (\d+ms|\d+(\.\d)?s|\d+m \d\ds) \(\d+ reconnect attempts?\) {2}redis=/g)?.length, 1, logs);
    assert.doesNotMatch(logs, /Error:|errno|\[ioredis\]|\berror\b/, logs);
    const others = logs.split('\n').filter((l) => l.trim() && !/ingest worker (started|stopped)|shutting down|Redis unreachable|Redis is back/.test(l));
    assert.deepEqual(others, [], logs);
  });
});
