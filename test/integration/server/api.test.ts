// The HTTP API against real Redis, S3 (s3rver) and the Qdrant emulator: runs (enqueue,
// list, progress, retry-failed), datasets (record, point count, clusters), search by
// upload / key / vector with filters, request validation and the upload checks, metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { artifactKeys } from '../../../shared/runs/naming.js';
import sharp from 'sharp';
import { RUN_STATUSES } from '../../../shared/runs/index.js';
import { eventually, MODEL_ID, seedDataset, startStack, testImage, uploadForm, type SeededDataset, type Stack } from './helpers.js';

interface Neighbor {
  key: string;
  score: number;
  cluster?: number;
}
interface ErrorBody {
  statusCode: number;
  message: string;
  issues?: Array<{ field: string; message: string }>;
  service?: string;
}

const UPLOAD_LIMIT = 4096;

describe('HTTP API', () => {
  let stack: Stack;
  let ds: SeededDataset;
  const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const search = (name: string, init: RequestInit): Promise<Response> => stack.api(`/v1/datasets/${name}/search`, init);

  before(async () => {
    stack = await startStack({ IMGSIM_UPLOAD_LIMIT_BYTES: String(UPLOAD_LIMIT) });
    ds = await seedDataset(stack.services, 'photos');
  });
  after(async () => {
    await stack.close();
    assert.deepEqual(stack.emulator.errors, [], 'every Qdrant request conformed to the API schema');
  });

  describe('runs', () => {
    let runId: string;

    test('POST /v1/runs creates a queued run (201) and enqueues its ingest job; the same work again returns it (200)', async () => {
      const body = { source: 's3://imgsim-src/photos/', dataset: 'holiday', mode: 'all' };
      const r = await stack.api('/v1/runs', json(body));
      assert.equal(r.status, 201, await r.clone().text());
      const { run, created } = (await r.json()) as { run: { id: string; status: string; dataset: string; total: number }; created: boolean };
      assert.equal(created, true);
      assert.equal(run.status, 'queued');
      assert.equal(run.dataset, 'holiday');
      assert.equal(r.headers.get('location'), `/v1/runs/${run.id}`);
      runId = run.id;
      assert.equal(await stack.services.scheduler.queues.ingest.getJobCountByTypes('waiting'), 1);

      const again = await stack.api('/v1/runs', json(body));
      assert.equal(again.status, 200);
      const second = (await again.json()) as { run: { id: string }; created: boolean };
      assert.deepEqual([second.run.id, second.created], [runId, false]);
    });

    test('GET /v1/runs/{id} gives progress and a page of failures; GET /v1/runs lists it', async () => {
      await stack.services.runs.setStatus(runId, 'embedding', { modelId: 'm1', collection: 'c1' });
      await stack.services.runs.setTotal(runId, 10);
      await stack.services.runs.markDone(runId, ['a.png', 'b.png', 'c.png']);
      await stack.services.runs.markFailed(runId, [
        { key: 'bad1.png', reason: 'corrupt', message: 'not a PNG' },
        { key: 'bad2.png', reason: 'truncated', message: 'cut short' },
      ]);
      const r = await stack.api(`/v1/runs/${runId}?failuresLimit=1`);
      assert.equal(r.status, 200);
      const body = (await r.json()) as {
        run: { id: string; status: string; total: number; done: number; failed: number; imagesPerSecond?: number; etaSeconds?: number };
        failures: { total: number; limit: number; items: Array<{ key: string; reason: string; message: string }> };
      };
      assert.equal(body.run.status, 'embedding');
      assert.deepEqual([body.run.total, body.run.done, body.run.failed], [10, 3, 2]);
      assert.ok(typeof body.run.imagesPerSecond === 'number' && body.run.imagesPerSecond > 0);
      assert.ok(typeof body.run.etaSeconds === 'number' && body.run.etaSeconds >= 0);
      assert.equal(body.failures.total, 2);
      assert.equal(body.failures.items.length, 1);
      assert.ok(['corrupt', 'truncated'].includes(body.failures.items[0]?.reason ?? ''));

      const list = await stack.api('/v1/runs?limit=5');
      const { runs } = (await list.json()) as { runs: Array<{ id: string; status: string }> };
      assert.ok(runs.some((x) => x.id === runId));
      assert.ok(runs.every((x) => (RUN_STATUSES as readonly string[]).includes(x.status)));
    });

    test('unknown runs are 404; malformed ids and bodies are 400 naming the field', async () => {
      assert.equal((await stack.api('/v1/runs/zzzzzz-000000')).status, 404);
      assert.equal((await stack.api('/v1/runs/zzzzzz-000000/retry-failed', { method: 'POST' })).status, 404);
      const badId = await stack.api('/v1/runs/NOT_AN_ID');
      assert.equal(badId.status, 400);
      assert.match(((await badId.json()) as ErrorBody).message, /params\.id/);

      const cases: Array<[unknown, RegExp]> = [
        [{ dataset: 'x' }, /body\.source/],
        [{ source: 'http://nope', dataset: 'x' }, /body\.source: expected s3:\/\/bucket\/prefix/],
        [{ source: 's3://b/p', dataset: 'Bad Name' }, /body\.dataset/],
        [{ source: 's3://b/p', dataset: 'x', mode: 'some' }, /body\.mode/],
        [{ source: 's3://b/p', dataset: 'x', colour: 'red' }, /body: Unrecognized key: "colour"/],
        [{ source: 's3://b/p', dataset: 'x', task: { task: 'sharpen' } }, /body\.task/],
        [{ source: 's3://b/p', dataset: 'x', task: { task: 'denoise', noise: { sigma: 2 } } }, /body\.task\.noise\.sigma/],
        [{ source: 's3://b/p', dataset: 'x', task: { task: 'superres', scale: 3 } }, /body\.task\.scale/],
        [{ source: 's3://b/p', dataset: 'x', model: 'cae-1', task: { task: 'colorize' } }, /body\.task: a task trains a new model/],
      ];
      for (const [body, message] of cases) {
        const r = await stack.api('/v1/runs', json(body));
        assert.equal(r.status, 400, JSON.stringify(body));
        const e = (await r.json()) as ErrorBody;
        assert.match(e.message, message);
        assert.ok(e.issues && e.issues.length > 0);
      }
      const notJson = await stack.api('/v1/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"source":' });
      assert.equal(notJson.status, 400);
      const limit = await stack.api('/v1/runs?limit=1000');
      assert.equal(limit.status, 400);
      assert.match(((await limit.json()) as ErrorBody).message, /query\.limit/);
    });

    test("POST /v1/runs with mode missing and no model: the dataset's current model (modelFrom dataset); 409 naming what to do when it has none", async () => {
      const r = await stack.api('/v1/runs', json({ source: 's3://imgsim-src/photos/', dataset: 'photos', mode: 'missing' }));
      assert.equal(r.status, 201, await r.clone().text());
      const body = (await r.json()) as { run: { id: string; mode: string; modelId?: string }; created: boolean; modelFrom: string };
      assert.deepEqual([body.run.mode, body.run.modelId, body.modelFrom], ['missing', MODEL_ID, 'dataset']);
      const given = await stack.api('/v1/runs', json({ source: 's3://imgsim-src/photos/', dataset: 'photos', mode: 'missing', model: MODEL_ID }));
      assert.equal(given.status, 200, 'the same work as the run just created');
      assert.equal(((await given.json()) as { modelFrom: string }).modelFrom, 'request');
      // Leave the queues and runs as the other tests expect them.
      await stack.services.scheduler.queues.ingest.remove(`${body.run.id}-ingest`);
      await stack.services.runs.delete(body.run.id);

      const none = await stack.api('/v1/runs', json({ source: 's3://b/p', dataset: 'never-built', mode: 'missing' }));
      assert.equal(none.status, 409);
      assert.match(((await none.json()) as ErrorBody).message, /^Dataset "never-built" has no current model yet .*--mode missing needs --model ID; build it first: imgsim enqueue s3:\/\/b\/p --dataset never-built/);
    });

    test('POST /v1/runs with a task: the run records it, defaults fill the omitted noise parameters', async () => {
      const r = await stack.api('/v1/runs', json({ source: 's3://imgsim-src/tasks/', dataset: 'tasks', task: { task: 'denoise', noise: { kinds: ['crosshair'] } } }));
      assert.equal(r.status, 201);
      const { run } = (await r.json()) as { run: { id: string; task?: string } };
      assert.equal(run.task, 'denoise (crosshair width 1-3)');
      const fetched = (await (await stack.api(`/v1/runs/${run.id}`)).json()) as { run: { task?: string } };
      assert.equal(fetched.run.task, run.task);
    });

    test('POST /v1/runs/{id}/retry-failed: 409 before a model exists', async () => {
      const r = await stack.api('/v1/runs', json({ source: 's3://imgsim-src/other/', dataset: 'other' }));
      const { run } = (await r.json()) as { run: { id: string } };
      const retry = await stack.api(`/v1/runs/${run.id}/retry-failed`, { method: 'POST' });
      assert.equal(retry.status, 409);
      assert.match(((await retry.json()) as ErrorBody).message, /has no model yet/);
    });
  });

  describe('datasets', () => {
    test('GET /v1/datasets and /v1/datasets/{name}: model, collection and point count', async () => {
      const list = (await (await stack.api('/v1/datasets')).json()) as { datasets: Array<{ name: string }> };
      assert.deepEqual(
        list.datasets.map((d) => d.name),
        ['photos'],
      );
      const r = await stack.api('/v1/datasets/photos');
      assert.equal(r.status, 200);
      const d = (await r.json()) as { name: string; modelId: string; collection: string; alias: string; points: number };
      assert.equal(d.modelId, 'cae-16-test');
      assert.equal(d.alias, 'imgsim_photos');
      assert.match(d.collection, /^imgsim_photos__cae-16-test/);
      assert.equal(d.points, ds.keys.length);
    });

    test('clusters.json and clusters.png come from the artefact store', async () => {
      const c = await stack.api('/v1/datasets/photos/clusters');
      assert.equal(c.status, 200);
      const clusters = (await c.json()) as { k: number; points: Record<string, { x: number; y: number; label: number }> };
      assert.equal(clusters.k, 2);
      assert.deepEqual(Object.keys(clusters.points).sort(), [...ds.keys].sort());
      const png = await stack.api('/v1/datasets/photos/clusters.png');
      assert.equal(png.status, 200);
      assert.equal(png.headers.get('content-type'), 'image/png');
      assert.deepEqual([...Buffer.from(await png.arrayBuffer()).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    });

    test('clusters.json carries its version as ETag: a revalidation is a 304, a new map a new ETag and body (kept in memory by version)', async () => {
      const first = await stack.api('/v1/datasets/photos/clusters');
      const etag = first.headers.get('etag');
      assert.ok(etag && /^"[^"]+"$/.test(etag), `etag ${etag}`);
      assert.equal(first.headers.get('cache-control'), 'private, no-cache');
      const again = await stack.api('/v1/datasets/photos/clusters', { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
      assert.equal((await again.arrayBuffer()).byteLength, 0);
      const key = artifactKeys.clusters('photos');
      const before = (await first.json()) as { k: number };
      await stack.services.artifacts.put(key, JSON.stringify({ ...before, k: 7 }));
      try {
        const changed = await stack.api('/v1/datasets/photos/clusters', { headers: { 'if-none-match': etag } });
        assert.equal(changed.status, 200);
        assert.notEqual(changed.headers.get('etag'), etag);
        assert.equal(((await changed.json()) as { k: number }).k, 7);
      } finally {
        await stack.services.artifacts.put(key, JSON.stringify(before));
      }
    });

    test('unknown datasets are 404 on every dataset route; a bad name is 400', async () => {
      for (const path of ['/v1/datasets/nope', '/v1/datasets/nope/clusters', '/v1/datasets/nope/clusters.png']) {
        const r = await stack.api(path);
        assert.equal(r.status, 404, path);
        assert.match(((await r.json()) as ErrorBody).message, /Dataset "nope" not found/);
      }
      assert.equal((await search('nope', json({ key: 'x' }))).status, 404);
      const bad = await stack.api('/v1/datasets/BAD!');
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as ErrorBody).message, /params\.name/);
    });
  });

  describe('features', () => {
    const features = (name: string, init: RequestInit): Promise<Response> => stack.api(`/v1/datasets/${name}/features`, init);
    type FeatureNeighbor = { key: string; score: number; aeScore?: number; inliers?: number };

    before(async () => {
      // The candidates' images are read from the dataset's source.
      await stack.s3.createBucket('imgsim-src');
      const source = await stack.services.openSource('s3://imgsim-src/photos/');
      for (const [key, bytes] of ds.images) await source.put(key, bytes);
    });

    test('an uploaded indexed image matches itself first by ORB inliers; the reference method answers too', async () => {
      const key = ds.keys[2] as string;
      const r = await features('photos', { method: 'POST', body: uploadForm(ds.images.get(key) as Buffer, 'query.png', { k: '3', candidates: '8' }) });
      assert.equal(r.status, 200);
      const body = (await r.json()) as { method: string; queryKeypoints: number; neighbors: FeatureNeighbor[] };
      assert.equal(body.method, 'match');
      assert.ok(body.queryKeypoints > 0);
      assert.equal(body.neighbors.length, 3);
      assert.equal(body.neighbors[0]?.key, key);
      assert.ok((body.neighbors[0]?.score ?? 0) >= 8, 'many inliers with itself');
      assert.ok((body.neighbors[0]?.score ?? 0) > (body.neighbors[1]?.score ?? 0));

      const ref = await features('photos', { method: 'POST', body: uploadForm(ds.images.get(key) as Buffer, 'query.png', { method: 'reference', k: '2' }) });
      assert.equal(ref.status, 200);
      assert.equal(((await ref.json()) as { neighbors: FeatureNeighbor[] }).neighbors.length, 2);
    });

    test('a flat image falls back to autoencoder neighbours; bad requests name the problem', async () => {
      const flat = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toBuffer();
      const r = await features('photos', { method: 'POST', body: uploadForm(flat, 'flat.png', { k: '2' }) });
      assert.equal(r.status, 200);
      const body = (await r.json()) as { fallback?: string; queryKeypoints: number; neighbors: FeatureNeighbor[] };
      assert.equal(body.fallback, 'autoencoder');
      assert.equal(body.queryKeypoints, 0);
      assert.equal(body.neighbors.length, 2);

      const image = ds.images.get(ds.keys[0] as string) as Buffer;
      const badMethod = await features('photos', { method: 'POST', body: uploadForm(image, 'q.png', { method: 'sift' }) });
      assert.equal(badMethod.status, 400);
      assert.match(((await badMethod.json()) as ErrorBody).message, /form\.method/);
      assert.equal((await features('photos', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })).status, 415);
      assert.equal((await features('photos', json({ key: 'x' }))).status, 404, 'JSON {key}: a key that is not indexed');
      assert.equal((await features('nope', { method: 'POST', body: uploadForm(image, 'q.png') })).status, 404);
    });
  });

  describe('search', () => {
    test('an uploaded image finds itself first (score ≈ 1), then k − 1 others, best first', async () => {
      const key = ds.keys[3] as string;
      const r = await search('photos', { method: 'POST', body: uploadForm(ds.images.get(key) as Buffer, 'query.png', { k: '4' }) });
      assert.equal(r.status, 200, await r.clone().text());
      const body = (await r.json()) as { dataset: string; modelId: string; neighbors: Neighbor[] };
      assert.equal(body.modelId, 'cae-16-test');
      assert.equal(body.neighbors.length, 4);
      assert.equal(body.neighbors[0]?.key, key);
      assert.ok((body.neighbors[0]?.score ?? 0) > 0.999, String(body.neighbors[0]?.score));
      for (let i = 1; i < body.neighbors.length; i++) assert.ok((body.neighbors[i - 1]?.score ?? 0) >= (body.neighbors[i]?.score ?? 0));
      assert.ok(body.neighbors.every((n) => n.cluster === 0 || n.cluster === 1));
    });

    test('multipart fields filter by key prefix and cluster', async () => {
      const image = ds.images.get(ds.keys[0] as string) as Buffer;
      const byPrefix = (await (await search('photos', { method: 'POST', body: uploadForm(image, 'q.png', { k: '100', keyPrefix: 'odd' }) })).json()) as { neighbors: Neighbor[] };
      assert.equal(byPrefix.neighbors.length, ds.keys.length / 2);
      assert.ok(byPrefix.neighbors.every((n) => n.key.startsWith('odd/')));
      const byCluster = (await (await search('photos', { method: 'POST', body: uploadForm(image, 'q.png', { cluster: '0' }) })).json()) as { neighbors: Neighbor[] };
      assert.ok(byCluster.neighbors.length > 0 && byCluster.neighbors.every((n) => n.cluster === 0));
    });

    test('search by key leaves the key out; by vector finds the vector\'s key first; JSON filters apply', async () => {
      const key = ds.keys[2] as string;
      const byKey = (await (await search('photos', json({ key, k: 3 }))).json()) as { neighbors: Neighbor[] };
      assert.equal(byKey.neighbors.length, 3);
      assert.ok(byKey.neighbors.every((n) => n.key !== key));

      const vector = Array.from(ds.vectors.get(key) as Float32Array);
      const byVector = (await (await search('photos', json({ vector, k: 2 }))).json()) as { neighbors: Neighbor[] };
      assert.equal(byVector.neighbors[0]?.key, key);

      const filtered = (await (await search('photos', json({ vector, k: 10, filters: { keyPrefix: 'odd/', cluster: 1 } }))).json()) as { neighbors: Neighbor[] };
      assert.ok(filtered.neighbors.length > 0 && filtered.neighbors.every((n) => n.key.startsWith('odd/') && n.cluster === 1));

      const unknownKey = await search('photos', json({ key: 'even/nope.png' }));
      assert.equal(unknownKey.status, 404);
      assert.match(((await unknownKey.json()) as ErrorBody).message, /not indexed/);
    });

    test('invalid searches are 400 naming the field', async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{}, /exactly one of key or vector/],
        [{ key: 'a', vector: [1] }, /exactly one of key or vector/],
        [{ key: 'a', k: 0 }, /body\.k/],
        [{ key: 'a', k: 1001 }, /body\.k: Too big/],
        [{ key: 'a', k: 2.5 }, /body\.k/],
        [{ vector: ['x'] }, /body\.vector\.0/],
        [{ key: 'a', filters: { cluster: -1 } }, /body\.filters\.cluster/],
        [{ key: 'a', filters: { colour: 'red' } }, /body\.filters: Unrecognized key/],
        [[{ key: 'a' }], /body: expected object, received array/],
      ];
      for (const [body, message] of cases) {
        const r = await search('photos', json(body));
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(((await r.json()) as ErrorBody).message, message, JSON.stringify(body));
      }
      const wrongDim = await search('photos', json({ vector: [1, 2, 3] }));
      assert.equal(wrongDim.status, 400);
      const image = ds.images.get(ds.keys[0] as string) as Buffer;
      const badK = await search('photos', { method: 'POST', body: uploadForm(image, 'q.png', { k: 'many' }) });
      assert.equal(badK.status, 400);
      assert.match(((await badK.json()) as ErrorBody).message, /form\.k/);
      const wrongField = new FormData();
      wrongField.append('file', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'q.png');
      const noImage = await search('photos', { method: 'POST', body: wrongField });
      assert.equal(noImage.status, 400);
      assert.match(((await noImage.json()) as ErrorBody).message, /form\.file: unexpected file; send the query image in the field "image"/);
    });

    test('an upload over the limit is 413 with a message', async () => {
      const big = await testImage(5, 64); // ≈ 12 KB of noise: over the 4 KiB limit
      assert.ok(big.length > UPLOAD_LIMIT);
      const r = await search('photos', { method: 'POST', body: uploadForm(big, 'big.png') });
      assert.equal(r.status, 413);
      assert.match(((await r.json()) as ErrorBody).message, /larger than the limit of 4096 bytes/);
    });

    test('a text file, an empty file or a truncated image is 415; a non-JSON, non-multipart body is 415', async () => {
      const text = await search('photos', { method: 'POST', body: uploadForm(Buffer.from('hello, I am not an image\n'), 'notes.txt', {}, 'text/plain') });
      assert.equal(text.status, 415);
      assert.match(((await text.json()) as ErrorBody).message, /"notes\.txt" is not an image imgsim reads/);
      const empty = await search('photos', { method: 'POST', body: uploadForm(Buffer.alloc(0), 'empty.png') });
      assert.equal(empty.status, 415);
      const png = ds.images.get(ds.keys[0] as string) as Buffer;
      const cut = await search('photos', { method: 'POST', body: uploadForm(png.subarray(0, 60), 'cut.png') });
      assert.equal(cut.status, 415);
      assert.match(((await cut.json()) as ErrorBody).message, /cannot decode "cut\.png"/);
      const plain = await search('photos', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'key=x' });
      assert.equal(plain.status, 415);
      const octets = await search('photos', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(png) });
      assert.equal(octets.status, 415);
    });
  });

  describe('metrics', () => {
    test('/metrics: queue depth gauges by state for every stage queue, plus the job counters', async () => {
      // The three runs created by the runs tests above wait in the ingest queue (no worker here).
      await eventually(async () => {
        const text = await (await stack.api('/metrics')).text();
        return /imgsim_queue_jobs\{queue="ingest",state="waiting"\} 3/.test(text);
      }, 5_000, 'ingest waiting = 3 in /metrics');
      const r = await stack.api('/metrics');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
      const text = await r.text();
      for (const queue of ['ingest', 'train', 'embed', 'index', 'publish', 'cluster']) {
        for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
          assert.match(text, new RegExp(`imgsim_queue_jobs\\{queue="${queue}",state="${state}"\\} \\d+`), `${queue} ${state}`);
        }
        assert.match(text, new RegExp(`imgsim_jobs_failed_total\\{queue="${queue}"\\} 0`));
      }
      assert.match(text, /imgsim_redis_up 1/);
      assert.match(text, /# TYPE imgsim_job_duration_seconds histogram/);
      assert.match(text, /imgsim_images_embedded_total 0/);
      assert.match(text, /imgsim_images_failed_total 0/);
    });
  });
});
