// The redis-server test helper, and the Redis start-up checks of shared/queue/connection.ts.
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { UserError } from '../../../shared/errors.js';
import { assertNoEviction, connectRedis, createRedis } from '../../../shared/queue/connection.js';
import { startRedis } from '../../support/redis-server.js';

test('restart keeps the URL; a new connection works (data is not kept)', async () => {
  const server = await startRedis();
  try {
    const url = server.url;
    assert.equal(url, `redis://127.0.0.1:${server.port}`);
    const first = createRedis(url);
    await connectRedis(first, url);
    await first.set('k', 'v');
    await first.quit();

    await server.restart();
    assert.equal(server.url, url);
    const second = createRedis(server.url);
    await connectRedis(second, server.url);
    assert.equal(await second.ping(), 'PONG');
    assert.equal(await second.get('k'), null, 'nothing is persisted');
    await second.quit();
  } finally {
    await server.stop();
  }
});

test('a connection made before restart reconnects on its own', async () => {
  const server = await startRedis();
  const redis = createRedis(server.url);
  try {
    await connectRedis(redis, server.url);
    await server.restart();
    assert.equal(await redis.ping(), 'PONG');
  } finally {
    redis.disconnect();
    await server.stop();
  }
});

/** Open a raw TCP connection to the port: resolves on connect, rejects with its error. */
function tcpConnect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

async function refused(port: number): Promise<void> {
  await assert.rejects(tcpConnect(port), (error: unknown) => {
    assert.equal((error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    return true;
  });
}

test("persistence 'aof': restart() keeps the data and the port", async () => {
  const server = await startRedis({ persistence: 'aof' });
  const redis = createRedis(server.url);
  try {
    assert.equal(server.persistence, 'aof');
    await connectRedis(redis, server.url);
    await redis.set('k', 'v');
    await redis.rpush('list', 'a', 'b', 'c');
    const port = server.port;

    await server.restart();
    assert.equal(server.port, port);
    assert.equal(server.url, `redis://127.0.0.1:${port}`);
    assert.equal(await redis.get('k'), 'v'); // the same client reconnects on its own
    assert.deepEqual(await redis.lrange('list', 0, -1), ['a', 'b', 'c']);
  } finally {
    redis.disconnect();
    await server.stop();
  }
});

test("persistence 'aof': while paused the port refuses connections; resume() serves the same data on the same port", async () => {
  const server = await startRedis({ persistence: 'aof' });
  const port = server.port;
  try {
    const before = createRedis(server.url);
    await connectRedis(before, server.url);
    await before.set('k', 'before pause');
    await before.quit();

    await server.pause();
    assert.equal(server.paused, true);
    await server.pause(); // already paused: nothing happens
    await refused(port);

    await server.resume();
    assert.equal(server.paused, false);
    assert.equal(server.port, port);
    const after = createRedis(server.url);
    await connectRedis(after, server.url);
    assert.equal(await after.get('k'), 'before pause');
    await after.quit();
    await server.resume(); // not paused: nothing happens
  } finally {
    await server.stop();
  }
});

test("persistence 'aof': a crash (pause with SIGKILL) loses no acknowledged write", async () => {
  const server = await startRedis({ persistence: 'aof' });
  const redis = createRedis(server.url);
  redis.on('error', () => undefined); // the crash drops the connection
  try {
    await connectRedis(redis, server.url);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 2_000; i++) pipeline.set(`key:${i}`, String(i));
    await pipeline.exec();
    await redis.incr('last'); // acknowledged: on disk before the reply (appendfsync always)

    await server.pause({ signal: 'SIGKILL' });
    await refused(server.port);
    await server.resume();

    assert.equal(await redis.dbsize(), 2_001);
    assert.equal(await redis.get('key:1999'), '1999');
    assert.equal(await redis.get('last'), '1');
  } finally {
    redis.disconnect();
    await server.stop();
  }
});

test('outage(ms): a client made before it works again after it; without persistence the data is gone', async () => {
  const server = await startRedis();
  const redis = createRedis(server.url);
  redis.on('error', () => undefined);
  try {
    await connectRedis(redis, server.url);
    await redis.set('k', 'v');
    const started = Date.now();
    await server.outage(300);
    assert.ok(Date.now() - started >= 300);
    assert.equal(await redis.ping(), 'PONG');
    assert.equal(await redis.get('k'), null, 'nothing is persisted by default');
  } finally {
    redis.disconnect();
    await server.stop();
  }
});

test('stop() while paused removes the directory; the server cannot be resumed after stop()', async () => {
  const server = await startRedis({ persistence: 'aof' });
  await server.pause();
  await access(server.directory);
  await server.stop();
  await assert.rejects(access(server.directory), { code: 'ENOENT' });
  await assert.rejects(server.resume(), /resume\(\) after stop\(\)/);
  await assert.rejects(server.restart(), /restart\(\) after stop\(\)/);
});

test('stop() frees the port and is idempotent', async () => {
  const server = await startRedis();
  await server.stop();
  await server.stop();
  // Nothing listens any more: we can bind the port ourselves.
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(server.port, '127.0.0.1', () => probe.close(() => resolve()));
  });
});

test('assertNoEviction refuses an evicting Redis and accepts noeviction', async () => {
  const lru = await startRedis({ maxmemoryPolicy: 'allkeys-lru' });
  const safe = await startRedis();
  const a = createRedis(lru.url);
  const b = createRedis(safe.url);
  try {
    await connectRedis(a, lru.url);
    await assert.rejects(assertNoEviction(a, lru.url), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.match(error.message, /allkeys-lru/);
      assert.match(error.message, /noeviction/);
      assert.ok(error.message.includes(lru.url));
      return true;
    });
    await connectRedis(b, safe.url);
    await assertNoEviction(b, safe.url);
  } finally {
    a.disconnect();
    b.disconnect();
    await Promise.all([lru.stop(), safe.stop()]);
  }
});

test('connectRedis on a closed port names Redis and the address', async () => {
  const server = await startRedis();
  const url = server.url;
  await server.stop();
  const redis = createRedis(url);
  // ioredis also emits the ECONNREFUSED as an 'error' event; without a listener it prints
  // "[ioredis] Unhandled error event" (connectRedis adds none).
  const events: Error[] = [];
  redis.on('error', (error: Error) => events.push(error));
  await assert.rejects(connectRedis(redis, url), (error: unknown) => {
    assert.ok(error instanceof UserError);
    assert.match(error.message, /Redis/);
    assert.ok(error.message.includes(`127.0.0.1:${server.port}`), error.message);
    return true;
  });
  redis.disconnect();
});

test('startRedis says how to install redis-server when it is missing', async () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await assert.rejects(startRedis(), /redis-server is not on PATH.*apt-get install redis-server/);
  } finally {
    process.env.PATH = path;
  }
});
