// `imgsim enqueue --mode missing` without --model: the dataset's current model (from the
// dataset registry), said in the output; a one-line error naming what to do when the
// dataset has none yet. Real redis-server, the real CLI in a child process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RunStore, type RunRecord } from '../../../shared/runs/index.js';
import { jsonOf, runCli } from '../../support/cli.js';
import { startCliRedis, type CliRedis } from '../../support/cli-redis.js';

describe('enqueue --mode missing without --model', () => {
  let stack: CliRedis;
  let runs: RunStore;
  let env: Record<string, string>;
  const enqueue = (args: string[]) => runCli(['enqueue', 's3://images/photos/', ...args], env);

  before(async () => {
    stack = await startCliRedis('enqueue-missing');
    ({ runs, env } = stack);
    await runs.setDataset({ name: 'photos', source: 's3://images/photos/', modelId: 'cae-32-live', collection: 'imgsim_photos__cae-32-live__r1', alias: 'imgsim_photos' });
  });

  after(() => stack.stop());

  test("uses the dataset's current model and says so; --json tells modelFrom", async () => {
    const r = await enqueue(['--dataset', 'photos', '--mode', 'missing']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^run \S+ enqueued$/m);
    assert.match(r.stdout, /^model cae-32-live: the current model of dataset photos \(--mode missing without --model\)$/m);
    const id = /^run (\S+) enqueued$/m.exec(r.stdout)?.[1] ?? '';
    const run = await runs.get(id);
    assert.deepEqual([run?.mode, run?.modelId], ['missing', 'cae-32-live']);

    // The same work again joins that run, and the JSON says where the model came from.
    const again = await enqueue(['--dataset', 'photos', '--mode', 'missing', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const json = jsonOf<RunRecord & { created: boolean; modelFrom: string }>(again);
    assert.deepEqual([json.id, json.created, json.modelId, json.modelFrom], [id, false, 'cae-32-live', 'dataset']);
  });

  test('a dataset without a model yet: one line naming what to do, nothing enqueued', async () => {
    const before = (await runs.list({ limit: 100 })).length;
    const r = await enqueue(['--dataset', 'fresh', '--mode', 'missing']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(
      r.stderr,
      /^imgsim: Dataset "fresh" has no current model yet \(no build of it went live\), so --mode missing needs --model ID; build it first: imgsim enqueue s3:\/\/images\/photos\/ --dataset fresh \(mode all trains a model\)\n$/,
    );
    assert.equal((await runs.list({ limit: 100 })).length, before);
  });

  test('--mode missing with --train or a task is refused in one line', async () => {
    const train = await enqueue(['--dataset', 'photos', '--mode', 'missing', '--train']);
    assert.equal(train.code, 2);
    assert.match(train.stderr, /^imgsim: --train trains a new model; --mode missing embeds with an existing one/);
    const task = await enqueue(['--dataset', 'photos', '--mode', 'missing', '--task', 'denoise']);
    assert.equal(task.code, 2);
    assert.match(task.stderr, /^imgsim: --task denoise trains a new model; --mode missing embeds with an existing one \(use --mode all\)\n$/);
  });
});
