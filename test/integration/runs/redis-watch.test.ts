// Reconnect logging (shared/queue/connection.ts RedisWatch): a Redis outage is one warn
// line (masked URL, cause) and one info line (time away, reconnect attempts) however many
// connections, queues and workers a process has; nothing at error level, no dumps on the
// console. A real redis-server stopped and started again on the same port.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { loadConfig } from '../../../shared/config/index.js';
import { connectRedis, createRedis, displayRedisUrl, isRedisConnectionError, RedisWatch } from '../../../shared/queue/connection.js';
import { startStageWorker } from '../../../shared/queue/stage-worker.js';
import { connectServices, type Services } from '../../../shared/services.js';
import { startRedis, type RedisTestServer } from '../../support/redis-server.js';

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger at debug whose lines land in `lines`. */
function captureLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const WARN = 40;
const INFO = 30;
const ERROR = 50;

async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let server: RedisTestServer;
let dir: string;

before(async () => {
  server = await startRedis();
  dir = await mkdtemp(path.join(tmpdir(), 'imgsim-redis-watch-'));
});

after(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a worker process\'s connections, queues and stage worker: one warn and one info line per outage, nothing at error, no console dumps', async () => {
  const { logger, lines } = captureLogger();
  const config = loadConfig({ IMGSIM_REDIS_URL: server.url, IMGSIM_ARTIFACTS: pathToFileURL(path.join(dir, 'artifacts')).href, IMGSIM_QDRANT_URL: 'http://127.0.0.1:9' });
  // BullMQ prints an 'error' event nobody listens to with console.error (a multi-line dump).
  const consoleErrors: unknown[][] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => void consoleErrors.push(args);
  let services: Services | undefined;
  let worker: ReturnType<typeof startStageWorker> | undefined;
  const connection = createRedis(server.url, { forWorker: true });
  try {
    services = await connectServices(config, logger, { forWorker: true });
    void services.scheduler; // the stage queues and the flow producer, on the shared connection
    await connectRedis(connection, server.url);
    services.redisWatch.watch(connection);
    worker = startStageWorker('index', () => Promise.resolve(undefined), { connection, prefix: config.queuePrefix, concurrency: 1, lockDuration: 30_000, logger });
    await worker.waitUntilReady();

    for (const round of [1, 2]) {
      const t0 = Date.now();
      await server.outage(2_500);
      await until(`"back" line of outage ${round}`, () => lines.filter((l) => l.level === INFO && /^Redis is back/.test(l.msg)).length === round);
      const warns = lines.filter((l) => l.level === WARN);
      const backs = lines.filter((l) => l.level === INFO && /^Redis is back/.test(l.msg));
      assert.equal(warns.length, round, JSON.stringify(warns));
      const warn = warns[round - 1] as LogLine;
      assert.equal(warn.msg, 'Redis unreachable; reconnecting');
      assert.equal(warn.redis, displayRedisUrl(server.url));
      assert.match(String(warn.cause), /ECONNREFUSED|connection closed/);
      const back = backs[round - 1] as LogLine;
      assert.ok(Number(back.awayMs) >= 2_000 && Number(back.awayMs) <= Date.now() - t0, `awayMs ${String(back.awayMs)}`);
      assert.ok(Number(back.attempts) >= 1, `attempts ${String(back.attempts)}`);
      assert.match(back.msg, /^Redis is back after (\d+ms|\d+(\.\d)?s|\d+m \d\ds) \(\d+ reconnect attempts?\)$/);
    }
    assert.deepEqual(lines.filter((l) => l.level >= ERROR), [], 'nothing at error level');
    assert.deepEqual(consoleErrors, [], 'no console dumps');
    assert.ok(lines.some((l) => l.level < INFO), 'the attempts in between went to debug');
    // The connections work again (BullMQ on the reconnected ones too).
    assert.equal(await services.redis.ping(), 'PONG');
    await services.scheduler.queues.cluster.add('probe', {});
    assert.equal(await services.scheduler.queues.cluster.count(), 1);
  } finally {
    await worker?.close();
    console.error = consoleError;
    await services?.close();
    connection.disconnect();
  }
  // Closing on purpose is not an outage.
  assert.equal(lines.filter((l) => l.level === WARN).length, 2);
});

test('a connection closed on purpose (quit, disconnect) reports nothing; onDown/onUp replace the log lines', async () => {
  const { logger, lines } = captureLogger();
  const events: string[] = [];
  const a = createRedis(server.url);
  const b = createRedis(server.url);
  await connectRedis(a, server.url);
  await connectRedis(b, server.url);
  const quiet = new RedisWatch(server.url, { logger }).watch(a);
  const custom = new RedisWatch(server.url, { onDown: (o) => events.push(`down ${o.cause}`), onUp: (r) => events.push(`up ${r.attempts}`) }).watch(b);
  await a.quit();
  assert.equal(quiet.up, true);
  await server.outage(1_000);
  await until('the custom watch to see Redis back', () => events.length === 2);
  assert.match(events[0] ?? '', /^down (connect ECONNREFUSED|connection closed)/);
  assert.match(events[1] ?? '', /^up \d+$/);
  assert.equal(custom.up, true);
  b.disconnect();
  assert.deepEqual(lines.filter((l) => l.level >= WARN), []);
  quiet.close();
  custom.close();
});

test('isRedisConnectionError: refused, closed and exhausted retries are; a script or type error is not', () => {
  assert.ok(isRedisConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })));
  assert.ok(isRedisConnectionError(new Error('Connection is closed.')));
  assert.ok(isRedisConnectionError(Object.assign(new Error('Reached the max retries per request limit (which is 3).'), { name: 'MaxRetriesPerRequestError' })));
  assert.ok(!isRedisConnectionError(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')));
  assert.ok(!isRedisConnectionError(new Error('Missing key for job 12')));
});
