// The queue-driven pipeline end to end, against real processes: redis-server, an S3
// server (s3rver), the schema-checked Qdrant emulator, and the six workers as separate
// `imgsim worker` processes driven by `imgsim enqueue` / `run-status --wait`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateShapesDataset } from '../../../shared/images/synthetic.js';
import { loadEncoder } from '../../../shared/model/store.js';
import { initBackend } from '../../../shared/model/backend.js';
import { openS3Storage, type S3ClientConfig } from '../../../shared/storage/s3/index.js';
import { QdrantStore } from '../../../shared/vectors/qdrant/index.js';
import { decodeObjects } from '../../../pipelines/ingest.js';
import { encodeBatch } from '../../../pipelines/embed.js';
import { batchFloats } from '../../../shared/images/decoded.js';
import { aliasName } from '../../../shared/runs/naming.js';
import { writeBadInputFixtures } from '../../support/image-fixtures.js';
import { jsonOf, runCli } from '../../support/cli.js';
import { startPipelineStack } from '../../support/pipeline-stack.js';
import { startWorkers, type WorkerPool } from '../../support/workers.js';
import { Queue } from 'bullmq';
import { connectRedis, createRedis } from '../../../shared/queue/connection.js';
import { RunStore } from '../../../shared/runs/index.js';
import { BullScheduler } from '../../../shared/queue/scheduler.js';
import { enqueueRun } from '../../../pipelines/distributed/runs.js';

interface RunJson {
  run: { id: string; status: string; total: number; done: number; failed: number; modelId?: string; collection?: string; error?: string };
  failures: Array<{ key: string; reason: string }>;
}

describe('queue-driven run over S3 into Qdrant', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  let env: Record<string, string>;
  let s3cfg: S3ClientConfig;
  let qdrant: QdrantStore;
  let qdrantErrors: () => number;
  let workers: WorkerPool;
  let good: string[];
  let bad: Record<string, string>;
  let first: RunJson;
  /** The full re-index of the SIGKILL test: its collection replaced first's as the live one. */
  let live: RunJson | undefined;
  let dir: string;
  let redisUrl: string;

  const cli = (args: string[]) => runCli(args, env);
  const waitRun = async (id: string): Promise<RunJson> => {
    const r = await cli(['run-status', id, '--wait-map', '--timeout', '400', '--json']);
    assert.ok(r.code === 0 || r.code === 1, `${r.stderr}\n${workers.logs()}`);
    return jsonOf<RunJson>(r);
  };
  const enqueue = async (args: string[]): Promise<string> => {
    const r = await cli(['enqueue', 's3://imgsim-src/photos', '--dataset', 'shapes', '--json', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return jsonOf<{ id: string }>(r).id;
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-queue-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const stack = await startPipelineStack({ IMGSIM_S3_LIST_PAGE_SIZE: '25', IMGSIM_JOB_BATCH_SIZE: '16', IMGSIM_TRAIN_SAMPLE: '200' });
    cleanups.push(() => stack.stop());
    ({ qdrant, qdrantErrors, s3cfg, env, redisUrl } = stack);

    // Images: generated shapes + every kind of bad input, uploaded under photos/.
    const local = path.join(dir, 'images');
    // ≥ 600 images, listed in pages of 25 keys.
    await generateShapesDataset(path.join(local, 'shapes'), { perClass: 67, seed: 4 });
    const fixtures = await writeBadInputFixtures(path.join(local, 'mixed'));
    bad = Object.fromEntries(Object.entries(fixtures.bad).map(([f, r]) => [`mixed/${f}`, r]));
    const src = await openS3Storage('s3://imgsim-src/photos/', s3cfg);
    good = [];
    for (const sub of ['shapes', 'mixed']) {
      for (const rel of await readdir(path.join(local, sub), { recursive: true })) {
        const key = `${sub}/${rel}`;
        const bytes = await readFile(path.join(local, key)).catch(() => undefined);
        if (!bytes) continue; // a folder
        await src.put(key, bytes);
        if (sub === 'shapes' || fixtures.good.includes(rel)) good.push(key);
      }
    }
    workers = startWorkers(env);
    cleanups.push(() => workers.stop());
    first = await waitRun(await enqueue(['--train']));
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  test('the run completes: every good image indexed once, every bad one failed with its reason', async () => {
    assert.equal(first.run.status, 'completed', `${first.run.error ?? ''}\n${workers.logs()}`);
    assert.equal(first.run.done, good.length);
    const failures = new Map(first.failures.map((f) => [f.key, f.reason]));
    for (const [key, reason] of Object.entries(bad)) assert.equal(failures.get(`${key}`), reason, key);
    const collection = first.run.collection ?? '';
    assert.equal(await qdrant.count(collection, { dataset: 'shapes' }), good.length);
    const keys = new Set<string>();
    for await (const p of qdrant.scroll(collection, { dataset: 'shapes' })) {
      keys.add(p.key);
      assert.ok(Number.isInteger(p.payload.cluster), `cluster payload on ${p.key}`);
    }
    assert.deepEqual([...keys].sort(), [...good].sort());
    assert.equal(await qdrant.getAliasTarget(aliasName('shapes')), collection);
    assert.equal(qdrantErrors(), 0, 'every Qdrant request and response matched the schema');
  });

  test('the vectors in Qdrant equal local embedding with the same model and images', async () => {
    await initBackend('wasm');
    const artifacts = await openS3Storage('s3://imgsim-artifacts/imgsim/', s3cfg);
    const { meta, encoder } = await loadEncoder(artifacts, `models/${first.run.modelId ?? ''}/`);
    const src = await openS3Storage('s3://imgsim-src/photos/', s3cfg);
    const sample = good.slice(0, 5).map((key) => ({ key, etag: '' }));
    const { images } = await decodeObjects(src, sample, { size: meta.inputSize, fit: meta.fit, maxPixels: 1e8, concurrency: 2 });
    const local = encodeBatch(encoder, batchFloats(images, [0, 1, 2, 3, 4]), 5, meta.inputSize);
    const stored = await qdrant.vectorsOf(first.run.collection ?? '', 'shapes', images.keys);
    const dim = meta.embeddingDim;
    images.keys.forEach((key, i) => {
      const a = local.subarray(i * dim, (i + 1) * dim);
      const b = stored.get(key) as Float32Array;
      const na = Math.hypot(...a);
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += ((a[j] as number) / na) * (b[j] as number);
      assert.ok(dot > 0.99999, `${key}: cosine ${dot}`);
    });
  });

  test('search --dataset answers from Qdrant with the dataset model', async () => {
    const query = path.join(dir, 'images', good[0] as string);
    const r = await cli(['search', query, '--dataset', 'shapes', '-k', '3', '--json', '--sheet', path.join(dir, 'sheet.png')]);
    assert.equal(r.code, 0, r.stderr);
    const res = jsonOf<{ neighbors: Array<{ key: string; score: number }> }>(r);
    assert.equal(res.neighbors.length, 3);
    assert.equal(res.neighbors[0]?.key, good[0]);
  });

  test('features --dataset re-ranks Qdrant candidates by ORB matching, images read from S3', async () => {
    const query = path.join(dir, 'images', good[0] as string);
    const out = path.join(dir, 'features');
    const r = await cli(['features', query, '--dataset', 'shapes', '-k', '3', '--candidates', '10', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const res = jsonOf<{ method: string; queryKeypoints: number; neighbors: Array<{ key: string; png?: string; inliers?: number }> }>(r);
    assert.equal(res.method, 'match');
    assert.equal(res.neighbors.length, 3);
    assert.equal(res.neighbors[0]?.key, good[0], 'the query itself (it is indexed) comes first');
    assert.ok(res.queryKeypoints > 0, 'the textured shapes have ORB keypoints');
    for (const n of res.neighbors) assert.ok(n.png && (await readFile(n.png)).length > 0, `a PNG for ${n.key}`);
    const ref = await cli(['features', query, '--dataset', 'shapes', '-k', '3', '--method', 'reference', '--json']);
    assert.equal(ref.code, 0, ref.stderr);
    assert.equal(jsonOf<{ neighbors: unknown[] }>(ref).neighbors.length, 3);
    const both = await cli(['features', query, '--dataset', 'shapes', '--index', dir]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /exactly one of --index <dir> or --dataset <name>/);
  });

  test('SIGKILL of the embed worker mid-run: the stalled jobs are picked up again, every image indexed exactly once', async () => {
    const redis = createRedis(redisUrl);
    await connectRedis(redis, redisUrl);
    const runs = new RunStore(redis, 'imgsim');
    try {
      // A run that re-embeds everything (into a new collection, swapped in when complete).
      const id = await enqueue(['--model', first.run.modelId ?? '', '--mode', 'all']);
      for (let i = 0; i < 600; i++) {
        const r = await runs.progress(id);
        if (r.status === 'embedding' && r.done > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const before = await runs.progress(id);
      assert.equal(before.status, 'embedding', 'killed while embedding');
      await workers.kill('embed', 'SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 500));
      workers.start('embed');
      const after = await waitRun(id);
      live = after;
      assert.equal(after.run.status, 'completed', workers.logs());
      assert.ok(before.done < good.length, `killed mid-run (${before.done}/${good.length} done)`);
      assert.equal(after.run.done, good.length);
      assert.notEqual(after.run.collection, first.run.collection, 'a new collection');
      assert.equal(await qdrant.count(after.run.collection ?? '', { dataset: 'shapes' }), good.length);
    } finally {
      redis.disconnect();
    }
  });

  test('a malformed job payload fails at once, naming the field, without retries', async () => {
    const connection = createRedis(redisUrl, { forWorker: true });
    const queue = new Queue('embed', { connection, prefix: 'imgsim' });
    try {
      const job = await queue.add('embed', { runId: 'abc123', dataset: 'Bad Name', batch: -1 }, { attempts: 5, jobId: 'malformed-1' });
      let state = '';
      for (let i = 0; i < 100 && state !== 'failed'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = await job.getState();
      }
      const failed = await queue.getJob('malformed-1');
      assert.equal(state, 'failed');
      assert.match(failed?.failedReason ?? '', /Invalid embed job payload: dataset: expected 1–63 lowercase/);
      assert.match(failed?.failedReason ?? '', /source: /);
      assert.match(failed?.failedReason ?? '', /batch: /);
      assert.equal(failed?.attemptsMade, 1, 'not retried');
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  test('retry-failed re-enqueues the failed images; still-bad ones fail again with the same reasons; a superseded run is refused', async () => {
    assert.ok(live, 'the SIGKILL test re-indexed the dataset');
    const superseded = await cli(['retry-failed', first.run.id]);
    assert.equal(superseded.code, 2);
    assert.match(superseded.stderr, new RegExp(`${first.run.collection ?? ''}, which is no longer live .*live: ${live.run.collection ?? ''}`));
    assert.match(superseded.stderr, /imgsim enqueue s3:\/\/imgsim-src\/photos --dataset shapes --mode missing --model /);

    const r = await cli(['retry-failed', live.run.id, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const imageFailures = live.failures.filter((f) => f.reason !== 'not-an-image');
    assert.equal(jsonOf<{ retried: number }>(r).retried, imageFailures.length);
    const after = await waitRun(live.run.id);
    assert.equal(after.run.status, 'completed');
    assert.equal(after.run.done, good.length);
    assert.deepEqual(new Map(after.failures.map((f) => [f.key, f.reason])), new Map(first.failures.map((f) => [f.key, f.reason])));
  });

  test('enqueueing the same work while it runs returns the same run', async () => {
    const redis = createRedis(redisUrl);
    await connectRedis(redis, redisUrl);
    const scheduler = new BullScheduler(redis, 'imgsim');
    try {
      const deps = { runs: new RunStore(redis, 'imgsim'), scheduler };
      const input = { source: 's3://imgsim-src/photos', dataset: 'shapes', mode: 'missing' as const, modelId: first.run.modelId ?? '' };
      const a = await enqueueRun(input, deps);
      const b = await enqueueRun(input, deps);
      assert.equal(a.created, true);
      assert.equal(b.created, false);
      assert.equal(b.run.id, a.run.id);
      assert.equal((await waitRun(a.run.id)).run.status, 'completed');
    } finally {
      await scheduler.close();
      redis.disconnect();
    }
  });

  test('runs lists the runs; an invalid enqueue names the field', async () => {
    const r = await cli(['runs', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(jsonOf<unknown[]>(r).length >= 2);
    const badName = await cli(['enqueue', 's3://imgsim-src/photos', '--dataset', 'Bad Name!']);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /--dataset: received "Bad Name!"/);
  });
  test('--mode missing adds nothing, re-embeds a changed object only, removes a deleted one', async () => {
    const modelId = first.run.modelId ?? '';
    const collection = (await qdrant.getAliasTarget(aliasName('shapes'))) ?? '';
    const again = await waitRun(await enqueue(['--mode', 'missing', '--model', modelId]));
    assert.equal(again.run.status, 'completed');
    assert.equal(again.run.done, 0, 'nothing new to embed');
    assert.equal(await qdrant.count(collection, { dataset: 'shapes' }), good.length);

    const src = await openS3Storage('s3://imgsim-src/photos/', s3cfg);
    const changed = good[1] as string;
    const removed = good[2] as string;
    await src.put(changed, await src.get(good[3] as string));
    await src.delete(removed);
    const third = await waitRun(await enqueue(['--mode', 'missing', '--model', modelId]));
    assert.equal(third.run.status, 'completed');
    assert.equal(third.run.done, 1, 'only the changed object is embedded again');
    const versions = await qdrant.indexedVersions(collection, 'shapes');
    assert.equal(versions.has(removed), false);
    assert.equal(versions.size, good.length - 1);
  });
});
