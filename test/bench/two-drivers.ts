// The two drivers at real size: `imgsim run` (the local driver) on a folder of photos,
// then the queue workers (`imgsim enqueue` over a local S3 server into the Qdrant
// emulator, separate worker processes) on the same photos with the local run's model,
// with the embed worker SIGKILLed once a third of the images are done. Prints each
// driver's wall time (the queued run from enqueue to searchable — a search is made then —
// and to mapped; ratio against the local run), and how far apart the results are: points, worst embedding cosine, cluster labels
// and map positions (both drivers run the same stage functions, so they should agree).
//
//   npm run bench:two-drivers -- --photos ../shared/photos-dev --size 64 --epochs 5
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { clustersFileSchema } from '../../shared/analysis/clusters-file.js';
import { openS3Storage } from '../../shared/storage/s3/index.js';
import { LocalStorage } from '../../shared/storage/local.js';
import { FlatIndex } from '../../shared/vectors/flat-index.js';
import { jsonOf, ROOT, runCli } from '../support/cli.js';
import { compareMaps, worstCosine } from '../support/compare-drivers.js';
import { ARTIFACTS_URI, SOURCE_BUCKET, startPipelineStack } from '../support/pipeline-stack.js';
import { startWorkers } from '../support/workers.js';
import { intOption, machineLine, stringOption } from './common.js';

const argv = process.argv.slice(2);
const photos = path.resolve(stringOption(argv, 'photos', path.join(ROOT, '..', 'shared', 'photos-dev')) as string);
const size = intOption(argv, 'size', 64);
const epochs = intOption(argv, 'epochs', 5);

async function main(): Promise<void> {
  console.log(`bench:two-drivers — ${machineLine()}`);
  const files = (await readdir(photos, { recursive: true })).filter((f) => /\.(jpe?g|png|webp)$/i.test(f));
  console.log(`photos: ${files.length} in ${photos}; --size ${size} --epochs ${epochs}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-two-drivers-'));
  const stack = await startPipelineStack({ IMGSIM_IMAGE_SIZE: String(size), IMGSIM_FILTERS: '16,32,64,128,256', IMGSIM_EPOCHS: String(epochs), IMGSIM_TSNE_ITERATIONS: '1000', IMGSIM_JOB_BATCH_SIZE: '64', IMGSIM_JOB_LOCK_MS: '30000' });
  try {
    const out = path.join(dir, 'local');
    let t = performance.now();
    const local = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'imgsim.js'), 'run', photos, '--out', out, '--json'], { env: { ...process.env, ...stack.env }, encoding: 'utf8', maxBuffer: 1 << 26 });
    if (local.status !== 0) throw new Error(`imgsim run failed: ${local.stderr}`);
    const localSeconds = (performance.now() - t) / 1000;
    const modelId = (JSON.parse(local.stdout) as { modelId: string }).modelId;
    console.log(`local driver: imgsim run ${localSeconds.toFixed(1)} s (model ${modelId})`);

    const src = await openS3Storage(`s3://${SOURCE_BUCKET}/photos/`, stack.s3cfg);
    for (const f of files) await src.put(f.split(path.sep).join('/'), await readFile(path.join(photos, f)));
    const artifacts = await openS3Storage(ARTIFACTS_URI, stack.s3cfg);
    for (const rel of await readdir(path.join(out, 'model'), { recursive: true })) {
      const bytes = await readFile(path.join(out, 'model', rel)).catch(() => undefined);
      if (bytes) await artifacts.put(`models/${modelId}/${rel.split(path.sep).join('/')}`, bytes);
    }
    const workers = startWorkers(stack.env);
    try {
      t = performance.now();
      const enq = await runCli(['enqueue', `s3://${SOURCE_BUCKET}/photos`, '--dataset', 'drill', '--model', modelId, '--json'], stack.env);
      if (enq.code !== 0) throw new Error(enq.stderr);
      const id = jsonOf<{ id: string }>(enq).id;
      for (;;) {
        const st = jsonOf<{ run: { done: number; total: number; status: string } }>(await runCli(['run-status', id, '--json'], stack.env));
        if (st.run.done >= st.run.total / 3 || st.run.status === 'completed') {
          console.log(`queued: ${st.run.done}/${st.run.total} done — SIGKILL the embed worker, restart it 3 s later`);
          await workers.kill('embed');
          await new Promise((r) => setTimeout(r, 3000));
          workers.start('embed');
          break;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      // Searchable first: the run completes (alias swapped) before its map is drawn.
      const searchable = jsonOf<{ run: { status: string; map?: { status: string } } }>(await runCli(['run-status', id, '--wait', '--timeout', '3600', '--json'], stack.env));
      const searchableSeconds = (performance.now() - t) / 1000;
      const query = path.join(photos, files[0] as string);
      const q0 = performance.now();
      const search = await runCli(['search', query, '--dataset', 'drill', '-k', '5', '--json', '--sheet', path.join(dir, 'sheet.png')], stack.env);
      const hits = search.code === 0 ? jsonOf<{ neighbors: unknown[] }>(search).neighbors.length : 0;
      const mapThen = jsonOf<{ run: { map?: { status: string; phase?: string } } }>(await runCli(['run-status', id, '--json'], stack.env)).run.map;
      console.log(
        `queue driver: ${searchable.run.status} (searchable) ${searchableSeconds.toFixed(1)} s after enqueue; a search then answered ${hits} hits in ${((performance.now() - q0) / 1000).toFixed(1)} s (CLI start included) with the map ${mapThen ? `${mapThen.status}${mapThen.phase ? ` (${mapThen.phase})` : ''}` : 'absent'}`,
      );
      const queued = jsonOf<{ run: { status: string; done: number; failed: number; collection: string; map?: { status: string } } }>(await runCli(['run-status', id, '--wait-map', '--timeout', '3600', '--json'], stack.env));
      const queuedSeconds = (performance.now() - t) / 1000;
      console.log(`queue driver: map ${queued.run.map?.status ?? 'absent'} ${queuedSeconds.toFixed(1)} s after enqueue; ${queued.run.done} done, ${queued.run.failed} failed (embed+index+publish+cluster with a given model) — ratio ${(queuedSeconds / localSeconds).toFixed(2)} of the local run (which also trains)`);

      const index = await FlatIndex.load(new LocalStorage(out));
      const keys = [...index.allKeys()];
      const stored = await stack.qdrant.vectorsOf(queued.run.collection, 'drill', keys);
      const worst = await worstCosine(index, stored);
      const points = await stack.qdrant.count(queued.run.collection, { dataset: 'drill' });
      console.log(`points: local ${keys.length}, queued ${points}; worst embedding cosine ${worst}`);
      const a = clustersFileSchema.parse(JSON.parse(await readFile(path.join(out, 'clusters.json'), 'utf8')));
      const b = clustersFileSchema.parse(JSON.parse((await artifacts.get('datasets/drill/clusters.json')).toString('utf8')));
      const { sameLabel: same, worstMove } = compareMaps(a, b);
      console.log(`clusters.json: k ${a.k} vs ${b.k}; same label ${same}/${Object.keys(a.points).length}; worst position difference ${worstMove.toExponential(2)} of the map's extent`);
    } finally {
      await workers.stop();
    }
  } finally {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
