// The redis-server test helper, and the Redis start-up checks of shared/queue/connection.ts.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
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
