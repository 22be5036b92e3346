// Services going away and coming back while the server runs: /readyz names what is down,
// API calls answer 503 with the reason (not 500, not a hang), /healthz stays up, and
// everything works again once the service returns, without restarting the server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aliasName, collectionName } from '../../../shared/runs/naming.js';
import { eventually, MODEL_ID, seedDataset, startStack, uploadForm, type SeededDataset, type Stack } from './helpers.js';

interface Ready {
  status: string;
  failed: string[];
  checks: Record<string, { ok: boolean; error?: string }>;
}
interface ErrorBody {
  statusCode: number;
  message: string;
  service?: string;
}

describe('faults: Redis, Qdrant and the artefact store down and back', () => {
  let stack: Stack;
  let ds: SeededDataset;
  let vector: number[];
  const searchByVector = (): Promise<Response> =>
    stack.api('/v1/datasets/photos/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector, k: 3 }) });
  const ready = async (): Promise<{ status: number; body: Ready }> => {
    const r = await fetch(`${stack.url}/readyz`);
    return { status: r.status, body: (await r.json()) as Ready };
  };
  const becomesReady = (what: string): Promise<void> => eventually(async () => (await ready()).status === 200, 20_000, `readyz 200 after ${what}`);
  const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
    const t0 = Date.now();
    const value = await run();
    return [value, Date.now() - t0];
  };

  before(async () => {
    stack = await startStack();
    ds = await seedDataset(stack.services, 'photos');
    vector = Array.from(ds.vectors.get(ds.keys[0] as string) as Float32Array);
  });
  after(async () => {
    await stack.close();
  });

  test('Redis down: readyz 503 naming redis, API 503 with the reason at once; back: recovers by itself', async () => {
    assert.equal((await searchByVector()).status, 200);
    await stack.redisProxy.cut();
    try {
      const [r, ms] = await timed(ready);
      assert.equal(r.status, 503);
      assert.deepEqual(r.body.failed, ['redis']);
      assert.match(r.body.checks.redis?.error ?? '', /Redis at redis:\/\/127\.0\.0\.1:\d+\/? is unreachable/);
      assert.ok(ms < 4_000, `readyz answered in ${ms} ms`);

      const [s, sms] = await timed(searchByVector);
      assert.equal(s.status, 503);
      const body = (await s.json()) as ErrorBody;
      assert.equal(body.service, 'redis');
      assert.match(body.message, /Redis .*unreachable/);
      assert.ok(sms < 2_000, `search answered in ${sms} ms`);
      assert.equal((await stack.api('/v1/runs')).status, 503);
      assert.equal((await fetch(`${stack.url}/healthz`)).status, 200);
      const metrics = await stack.api('/metrics');
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /imgsim_redis_up 0/);
    } finally {
      await stack.redisProxy.restore();
    }
    await becomesReady('Redis back');
    const again = await searchByVector();
    assert.equal(again.status, 200, await again.clone().text());
    assert.equal(((await again.json()) as { neighbors: Array<{ key: string }> }).neighbors[0]?.key, ds.keys[0]);
    const runs = await stack.api('/v1/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ source: 's3://b/p', dataset: 'after' }) });
    assert.equal(runs.status, 201, 'enqueueing works again (BullMQ on the reconnected connection)');
    assert.match(await (await stack.api('/metrics')).text(), /imgsim_redis_up 1/);
  });

  test('Redis restarted (a new process, its data gone): the server reconnects; unknown dataset is 404 until registered again', async () => {
    await stack.redis.restart();
    await becomesReady('Redis restart');
    assert.equal((await searchByVector()).status, 404);
    await stack.services.runs.setDataset({ name: 'photos', source: 's3://imgsim-src/photos/', modelId: MODEL_ID, collection: collectionName('photos', MODEL_ID, 'seed-000001'), alias: aliasName('photos') });
    assert.equal((await searchByVector()).status, 200);
    const runs = await stack.api('/v1/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ source: 's3://b/p', dataset: 'after' }) });
    assert.equal(runs.status, 201, await runs.clone().text());
  });

  test('Qdrant down: readyz 503 naming qdrant, search 503 (vector, key and upload); back: recovers', async () => {
    await stack.qdrantProxy.cut();
    try {
      const r = await ready();
      assert.equal(r.status, 503);
      assert.deepEqual(r.body.failed, ['qdrant']);
      assert.match(r.body.checks.qdrant?.error ?? '', /Qdrant at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
      for (const response of [
        await searchByVector(),
        await stack.api('/v1/datasets/photos/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: ds.keys[1] }) }),
        await stack.api('/v1/datasets/photos/search', { method: 'POST', body: uploadForm(ds.images.get(ds.keys[1] as string) as Buffer, 'q.png') }),
        await stack.api('/v1/datasets/photos'),
      ]) {
        assert.equal(response.status, 503);
        const body = (await response.json()) as ErrorBody;
        assert.equal(body.service, 'qdrant');
        assert.match(body.message, /unreachable/);
      }
    } finally {
      await stack.qdrantProxy.restore();
    }
    await becomesReady('Qdrant back');
    assert.equal((await searchByVector()).status, 200);
  });

  test('artefact store down: readyz 503 naming storage, clusters 503; back: recovers', async () => {
    await stack.s3Proxy.cut();
    try {
      const r = await ready();
      assert.equal(r.status, 503);
      assert.deepEqual(r.body.failed, ['storage']);
      assert.match(r.body.checks.storage?.error ?? '', /S3 endpoint .* is unreachable/);
      const clusters = await stack.api('/v1/datasets/photos/clusters');
      assert.equal(clusters.status, 503);
      assert.equal(((await clusters.json()) as ErrorBody).service, 'storage');
    } finally {
      await stack.s3Proxy.restore();
    }
    await becomesReady('S3 back');
    assert.equal((await stack.api('/v1/datasets/photos/clusters')).status, 200);
  });
});
