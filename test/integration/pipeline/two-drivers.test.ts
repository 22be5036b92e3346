// One stage, two drivers: the local runner (`imgsim run` on a folder) and the queue
// workers (`imgsim enqueue` over S3 into Qdrant, with the same model) run the same stage
// functions, so on the same images they must give the same embeddings, the same points
// and the same clusters.json. The queued run is searchable before its map exists: the
// cluster worker starts only once the run has completed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clustersFileSchema, type ClustersFile } from '../../../shared/analysis/clusters-file.js';
import { generateShapesDataset } from '../../../shared/images/synthetic.js';
import { openS3Storage } from '../../../shared/storage/s3/index.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import { FlatIndex } from '../../../shared/vectors/flat-index.js';
import { jsonOf, runCli } from '../../support/cli.js';
import { compareMaps, worstCosine } from '../../support/compare-drivers.js';
import { ARTIFACTS_URI, SOURCE_BUCKET, startPipelineStack, type PipelineStack } from '../../support/pipeline-stack.js';
import { startWorkers, type WorkerPool } from '../../support/workers.js';

interface RunJson {
  run: { id: string; status: string; done: number; failed: number; collection?: string; error?: string; map?: { status: string } };
  failures: Array<{ key: string; reason: string }>;
}

describe('the local and the queue driver on the same images and model', () => {
  let stack: PipelineStack;
  let workers: WorkerPool | undefined;
  let dir: string;
  let out: string;
  let modelId: string;
  let queued: RunJson;
  let searchable: RunJson;
  let searchedEarly: { code: number; stderr: string; neighbors: number };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-two-drivers-'));
    stack = await startPipelineStack({ IMGSIM_JOB_BATCH_SIZE: '16' });
    const images = path.join(dir, 'images');
    await generateShapesDataset(images, { perClass: 6, seed: 9 });
    await writeFile(path.join(images, 'notes.txt'), 'not an image');
    await writeFile(path.join(images, 'broken.jpg'), Buffer.from('not a jpeg at all'));

    // Local driver: the whole pipeline in one process, model written to <out>/model/.
    out = path.join(dir, 'out');
    const local = await runCli(['run', images, '--out', out, '--json'], stack.env);
    assert.equal(local.code, 0, local.stderr);
    modelId = jsonOf<{ modelId: string }>(local).modelId;

    // Queue driver: the same files in S3, the same model in the artefact store.
    const src = await openS3Storage(`s3://${SOURCE_BUCKET}/same/`, stack.s3cfg);
    for (const rel of await readdir(images, { recursive: true })) {
      const bytes = await readFile(path.join(images, rel)).catch(() => undefined);
      if (bytes) await src.put(rel.split(path.sep).join('/'), bytes);
    }
    const artifacts = await openS3Storage(ARTIFACTS_URI, stack.s3cfg);
    const model = path.join(out, 'model');
    for (const rel of await readdir(model, { recursive: true })) {
      const bytes = await readFile(path.join(model, rel)).catch(() => undefined);
      if (bytes) await artifacts.put(`models/${modelId}/${rel.split(path.sep).join('/')}`, bytes);
    }
    // Every worker but the cluster one: the run must become searchable without its map.
    workers = startWorkers(stack.env, ['ingest', 'train', 'embed', 'index', 'publish']);
    const enq = await runCli(['enqueue', `s3://${SOURCE_BUCKET}/same`, '--dataset', 'same', '--model', modelId, '--json'], stack.env);
    assert.equal(enq.code, 0, enq.stderr);
    const id = jsonOf<{ id: string }>(enq).id;
    searchable = jsonOf<RunJson>(await runCli(['run-status', id, '--wait', '--timeout', '300', '--json'], stack.env));
    const query = path.join(images, 'red-circle', (await readdir(path.join(images, 'red-circle')))[0] ?? '');
    const early = await runCli(['search', query, '--dataset', 'same', '-k', '3', '--json', '--sheet', path.join(dir, 'sheet.png')], stack.env);
    searchedEarly = { code: early.code ?? -1, stderr: early.stderr, neighbors: early.code === 0 ? jsonOf<{ neighbors: unknown[] }>(early).neighbors.length : 0 };
    workers.start('cluster');
    queued = jsonOf<RunJson>(await runCli(['run-status', id, '--wait-map', '--timeout', '300', '--json'], stack.env));
    assert.equal(queued.run.status, 'completed', `${queued.run.error ?? ''}\n${workers.logs()}`);
  });

  after(async () => {
    await workers?.stop();
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the queued run is searchable before its map: completed with the map pending, search answers; then the map is done', () => {
    assert.equal(searchable.run.status, 'completed', searchable.run.error);
    assert.equal(searchable.run.map?.status, 'pending');
    assert.equal(searchedEarly.code, 0, searchedEarly.stderr);
    assert.equal(searchedEarly.neighbors, 3);
    assert.equal(queued.run.map?.status, 'done');
  });

  test('the same points, and the same images recorded as failed with the same reasons', async () => {
    const index = await FlatIndex.load(new LocalStorage(out));
    const remote: string[] = [];
    for await (const p of stack.qdrant.scroll(queued.run.collection ?? '', { dataset: 'same' })) remote.push(p.key);
    assert.deepEqual([...remote].sort(), [...index.allKeys()].sort());
    assert.equal(remote.length, 54);
    const localFailures = JSON.parse(await readFile(path.join(out, 'failures.json'), 'utf8')) as Array<{ key: string; reason: string }>;
    const byKey = (f: { key: string; reason: string }) => `${f.key}: ${f.reason}`;
    assert.deepEqual(queued.failures.map(byKey).sort(), localFailures.map(byKey).sort());
  });

  test('the same embeddings (cosine > 0.9999 for every image)', async () => {
    const index = await FlatIndex.load(new LocalStorage(out));
    const keys = [...index.allKeys()];
    const stored = await stack.qdrant.vectorsOf(queued.run.collection ?? '', 'same', keys);
    const worst = await worstCosine(index, stored);
    assert.ok(worst > 0.9999, `worst cosine ${worst}`);
  });

  test('the same clusters.json: one schema, the same k and labels, the same map', async () => {
    const local: ClustersFile = clustersFileSchema.parse(JSON.parse(await readFile(path.join(out, 'clusters.json'), 'utf8')));
    const artifacts = await openS3Storage(ARTIFACTS_URI, stack.s3cfg);
    const remote: ClustersFile = clustersFileSchema.parse(JSON.parse((await artifacts.get('datasets/same/clusters.json')).toString('utf8')));
    assert.equal(local.version, 1);
    assert.equal(remote.version, 1);
    assert.equal(remote.modelId, local.modelId);
    assert.equal(remote.collection, queued.run.collection);
    assert.equal(remote.count, local.count);
    assert.equal(remote.k, local.k);
    assert.deepEqual(Object.keys(remote.points).sort(), Object.keys(local.points).sort());
    const diff = compareMaps(local, remote);
    assert.deepEqual(diff.missing, []);
    assert.equal(diff.sameLabel, Object.keys(local.points).length, 'every label the same');
    assert.ok(diff.worstMove < 1e-3, `positions differ by up to ${diff.worstMove} of the map's extent`);
  });
});
