// Soak of the cluster worker: one real `imgsim worker cluster` process clusters the same
// Qdrant collection (the emulator) for `--runs` runs in a row; the worker's RSS after
// each run is printed with the growth per run against the baseline measured by the
// operator drills of issue 10 before clustering moved to a worker thread: +14 MiB per
// run (341 → 410 MiB over 6 runs of 3,501 points).
//
//   npm run bench:cluster-soak [-- --runs=10 --points=3500 --dim=1024 --iterations=500]
import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { createRng, gaussian } from '../../shared/analysis/rng.js';
import { connectRedis, createRedis } from '../../shared/queue/connection.js';
import { RunStore } from '../../shared/runs/index.js';
import { startPipelineStack } from '../support/pipeline-stack.js';
import { startWorkers } from '../support/workers.js';
import { intOption, machineLine, table } from './common.js';

const BASELINE_MIB_PER_RUN = 14;

const argv = process.argv.slice(2);
const runs = intOption(argv, 'runs', 10);
const points = intOption(argv, 'points', 3500, 3);
const dim = intOption(argv, 'dim', 1024);
const iterations = intOption(argv, 'iterations', 500, 250);

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** Clustered unit-variance blobs (16 centres), like embeddings of a photo collection. */
function vectors(n: number, d: number): Float32Array[] {
  const rng = createRng(5);
  const centres = Array.from({ length: 16 }, () => Float32Array.from({ length: d }, () => gaussian(rng) * 4));
  return Array.from({ length: n }, (_, i) => {
    const c = centres[i % centres.length] as Float32Array;
    return Float32Array.from(c, (x) => x + gaussian(rng));
  });
}

async function main(): Promise<void> {
  const stack = await startPipelineStack({ IMGSIM_TSNE_ITERATIONS: String(iterations), IMGSIM_LOG_LEVEL: 'warn' });
  const redis = createRedis(stack.redisUrl);
  await connectRedis(redis, stack.redisUrl);
  const workers = startWorkers(stack.env, ['cluster']);
  const queue = new Queue('cluster', { connection: redis, prefix: 'imgsim' });
  try {
    const dataset = 'soak';
    const modelId = 'soak-model';
    const collection = `imgsim_${dataset}__${modelId}__fixed`;
    await stack.qdrant.ensureCollection(collection, dim);
    const rows = vectors(points, dim);
    for (let i = 0; i < rows.length; i += 256) {
      await stack.qdrant.upsert(
        collection,
        rows.slice(i, i + 256).map((vector, j) => ({ dataset, key: `img/${String(i + j).padStart(6, '0')}.jpg`, vector, payload: { etag: 'e', modelId, width: 800, height: 533 } })),
      );
    }
    const store = new RunStore(redis, 'imgsim');
    const table_: string[][] = [['run', 'seconds', 'worker RSS MiB']];
    const rss: number[] = [];
    const pid = workers.pid('cluster');
    if (pid === undefined) throw new Error('the cluster worker did not start');
    await new Promise((r) => setTimeout(r, 3000));
    const before = await rssMiB(pid);
    table_.push(['idle', '-', before.toFixed(0)]);
    for (let r = 1; r <= runs; r++) {
      const run = await store.create({ dataset, source: 'file:///soak', mode: 'all', modelId });
      // As the publish job leaves a live build: the run completed, its map pending.
      await store.setMap(run.id, { status: 'pending' });
      await store.setStatus(run.id, 'completed', { modelId, collection });
      const started = performance.now();
      await queue.add('cluster', { runId: run.id, dataset, modelId, collection, attempt: '', published: true }, { jobId: `${run.id}-cluster` });
      const done = await store.waitFor(run.id, { until: 'mapped', timeoutMs: 30 * 60_000, pollMs: 250 });
      if (done.map?.status !== 'done') throw new Error(`run ${r}: map ${done.map?.status ?? 'absent'} ${done.map?.error ?? ''}\n${workers.logs()}`);
      const seconds = (performance.now() - started) / 1000;
      const now = await rssMiB(pid);
      rss.push(now);
      table_.push([String(r), seconds.toFixed(1), now.toFixed(0)]);
    }
    const first = rss[0] as number;
    const last = rss[rss.length - 1] as number;
    const perRun = rss.length > 1 ? (last - first) / (rss.length - 1) : 0;
    console.log(machineLine());
    console.log(`cluster worker soak: ${runs} runs of ${points} points × ${dim} dims, t-SNE ${iterations} iterations`);
    console.log(table(table_));
    console.log(
      `growth after the first run: ${perRun >= 0 ? '+' : ''}${perRun.toFixed(1)} MiB per run (${first.toFixed(0)} → ${last.toFixed(0)} MiB); ` +
        `baseline before the clustering thread: +${BASELINE_MIB_PER_RUN} MiB per run; ratio ${(perRun / BASELINE_MIB_PER_RUN).toFixed(2)}`,
    );
  } finally {
    await queue.close();
    await workers.stop();
    redis.disconnect();
    await stack.stop();
  }
}

await main();
