// Image-to-image tasks in the queue-driven mode, against real processes (redis-server,
// s3rver, the Qdrant emulator, the six `imgsim worker` processes): `imgsim enqueue
// --task denoise` trains a denoiser in the train worker (the task travels in the job
// payloads), the run records the task and indexes the images with its encoder, and
// `imgsim apply --model <modelId>` loads it from the S3 artefact store and applies it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { generateShapesDataset } from '../../../shared/images/synthetic.js';
import { openS3Storage } from '../../../shared/storage/s3/index.js';
import type { RunRecord } from '../../../shared/runs/index.js';
import { jsonOf, runCli } from '../../support/cli.js';
import { startPipelineStack } from '../../support/pipeline-stack.js';
import { startWorkers } from '../../support/workers.js';

describe('queue-driven run with --task denoise', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  let env: Record<string, string>;
  let dir: string;
  let images: string[];
  let run: RunRecord;
  const cli = (args: string[]) => runCli(args, env);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-task-run-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const stack = await startPipelineStack({ IMGSIM_JOB_BATCH_SIZE: '16' });
    cleanups.push(() => stack.stop());
    env = stack.env;
    const local = path.join(dir, 'images');
    await generateShapesDataset(local, { perClass: 5, size: 32, seed: 3 });
    const src = await openS3Storage('s3://imgsim-src/scans/', stack.s3cfg);
    images = [];
    for (const rel of await readdir(local, { recursive: true })) {
      const bytes = await readFile(path.join(local, rel)).catch(() => undefined);
      if (!bytes) continue;
      await src.put(rel, bytes);
      images.push(rel);
    }
    const workers = startWorkers(env);
    cleanups.push(() => workers.stop());

    const r = await cli(['enqueue', 's3://imgsim-src/scans', '--dataset', 'scans', '--task', 'denoise', '--noise', 'gaussian,crosshair', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const enqueued = jsonOf<RunRecord & { created: boolean }>(r);
    assert.equal(enqueued.created, true);
    const waited = await cli(['run-status', enqueued.id, '--wait', '--timeout', '400', '--json']);
    assert.equal(waited.code, 0, `${waited.stderr}\n${workers.logs()}`);
    run = jsonOf<{ run: RunRecord }>(waited).run;
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  test('the run records the task, trains a denoiser and indexes every image with it', () => {
    assert.equal(run.status, 'completed');
    assert.equal(run.task, 'denoise (gaussian sigma 0.1 + crosshair width 1-3)');
    assert.match(run.modelId ?? '', /^cae-denoise-32-/);
    assert.equal(run.done, images.length);
  });

  test('a different task is a different run; two enqueues of it at once make one run; --task with --model is refused', async () => {
    const args = ['enqueue', 's3://imgsim-src/scans', '--dataset', 'scans', '--task', 'colorize', '--json'];
    const both = await Promise.all([cli(args), cli(args)]);
    for (const r of both) assert.equal(r.code, 0, r.stderr);
    const [a, b] = both.map((r) => jsonOf<RunRecord & { created: boolean }>(r));
    assert.ok(a && b);
    assert.notEqual(a.id, run.id);
    assert.equal(a.id, b.id, 'the second enqueue joined the first');
    assert.deepEqual([a.created, b.created].sort(), [false, true]);
    assert.equal(a.task, 'colorize');
    const bad = await cli(['enqueue', 's3://imgsim-src/scans', '--dataset', 'scans', '--task', 'denoise', '--model', run.modelId ?? '']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--task denoise trains a new model; it cannot be combined with --model/);
    const done = await cli(['run-status', a.id, '--wait', '--timeout', '400', '--json']);
    assert.equal(done.code, 0, done.stderr);
    assert.match(jsonOf<{ run: RunRecord }>(done).run.modelId ?? '', /^cae-colorize-32-/);
  });

  test('imgsim apply --model <modelId> loads the denoiser from the S3 artefact store', async () => {
    const out = path.join(dir, 'applied');
    const inputs = images.slice(0, 3).map((rel) => path.join(dir, 'images', rel));
    const r = await cli(['apply', '--model', run.modelId ?? '', ...inputs, '--out', out, '--corrupt', '--expect-task', 'denoise', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const res = jsonOf<{ outputs: Array<{ file: string }>; preview: string }>(r);
    assert.equal(res.outputs.length, 3);
    for (const o of res.outputs) {
      const info = await sharp(path.join(out, o.file)).metadata();
      assert.deepEqual([info.width, info.height], [32, 32]);
    }
    const wrong = await cli(['apply', '--model', run.modelId ?? '', inputs[0] ?? '', '--out', out, '--expect-task', 'superres']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /denoise/);
  });
});
