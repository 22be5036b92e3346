// A duplicates pass's fingerprinted / failed counts against a real redis-server: each
// fingerprint batch counts once however often its job runs (a retried job after a Redis
// restart made the drill show 3064/3000 fingerprinted), and only for the current pass.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { DuplicatePasses } from '../../../shared/runs/duplicate-passes.js';
import { startRedis, type RedisTestServer } from '../../support/redis-server.js';

let server: RedisTestServer;
let redis: Redis;

before(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
});

after(async () => {
  redis.disconnect();
  await server.stop();
});

test('a batch counted twice (its job retried) adds once; another pass id adds nothing', async () => {
  const passes = new DuplicatePasses(redis, 'count-test');
  const { pass } = await passes.createOrJoin('photos', 'all');
  assert.equal(await passes.addCounts('photos', pass.passId, 0, { fingerprinted: 60, failed: 4 }), true);
  assert.equal(await passes.addCounts('photos', pass.passId, 1, { fingerprinted: 64, failed: 0 }), true);
  assert.equal(await passes.addCounts('photos', pass.passId, 0, { fingerprinted: 60, failed: 4 }), true, 'the retry is acknowledged');
  assert.equal(await passes.addCounts('photos', 'other-pass', 2, { fingerprinted: 64, failed: 0 }), false);
  const now = await passes.get('photos');
  assert.deepEqual([now?.fingerprinted, now?.failed], [124, 4]);
});
