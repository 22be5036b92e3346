// The queue-driven pipeline at scale (issue 12, deliverable 4, queued half): N small
// generated JPEGs (default 100,000 at 32×32, a few hundred visual families so the map has
// clusters) uploaded to the S3 server (s3rver, its own process), then one queued run
// through the six real worker processes (`imgsim worker ingest|train|embed|index|publish|
// cluster`, one each), Redis and the Qdrant emulator (in this process). The run trains its
// own model (enqueued without --model: ingest → train on an IMGSIM_TRAIN_SAMPLE sample →
// embed/index fan-out → publish → cluster), as an operator's first run of a dataset does.
// Measured from `imgsim enqueue`: time to searchable (`run-status --wait`, the alias
// swapped) — a search is made then and the map's state recorded (searchable before
// mapped) — and to mapped (`run-status --wait-map`); images/s = N / time to searchable;
// each phase from the run record; the peak RSS of every worker (its VmHWM, and the sampled
// RSS of it with its children: the cluster worker's map process), of redis-server, the S3
// server and this process (the emulator holds every vector). Generating and uploading the
// images is set-up and timed apart. With several --sizes each N gets a fresh stack and
// fresh workers, and the growth of each process's peak with N is printed. Figures only;
// nothing is asserted. Targets: searchable without waiting for the map; no worker's RSS
// grows with N.
//
//   npm run bench:scale-queued [-- --sizes 10000,100000 --size 32 --epochs 1 --train-sample 1000 --map-sample 10000 --json out.json]
//   npm run bench:scale-queued -- --images 2000          (one N; --sizes wins when both are given)
//   npm run bench:scale-queued -- --images 20000 --kill-train-in-fan-out
//     (a drill: SIGKILL the train worker as soon as the run starts fanning out — while the
//     fan-out's gate is up — and start a new one; the job's retry must complete the fan-out
//     with the same model: every image done once, one index job per batch)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { mapConcurrent } from '../../shared/concurrency.js';
import { MAP_SAMPLE_DEFAULT } from '../../shared/config/pipeline-settings.js';
import { RUN_STAGES as STAGES, type Stage } from '../../shared/jobs/contracts.js';
import { createRng } from '../../shared/random.js';
import { RunStore } from '../../shared/runs/index.js';
import { TERMINAL_STATUSES, type RunRecord } from '../../shared/runs/types.js';
import { openS3Storage } from '../../shared/storage/s3/index.js';
import { jsonOf, runCli } from '../support/cli.js';
import { SOURCE_BUCKET, startPipelineStack, type PipelineStack } from '../support/pipeline-stack.js';
import { startWorkers, watchPeakRss, type PeakRss, type WorkerPool } from '../support/workers.js';
import { intListOption, intOption, machineLine, option, stringOption, table, writeJsonResult } from './common.js';

const argv = process.argv.slice(2);
const sizes = option(argv, 'sizes', '') !== '' ? intListOption(argv, 'sizes', []) : [intOption(argv, 'images', 100_000)];
const size = intOption(argv, 'size', 32);
const epochs = intOption(argv, 'epochs', 1);
const trainSample = intOption(argv, 'train-sample', 1000, 2);
const families = intOption(argv, 'families', 300);
const filters = option(argv, 'filters', '16,32,64,128,256');
const tsneIterations = intOption(argv, 'tsne-iterations', 1000, 250);
const mapSample = intOption(argv, 'map-sample', MAP_SAMPLE_DEFAULT, 10);
const jobBatch = intOption(argv, 'job-batch', 64);
const uploadConcurrency = intOption(argv, 'upload-concurrency', 32);
const jsonFile = stringOption(argv, 'json', undefined);
const killTrainInFanOut = argv.includes('--kill-train-in-fan-out');
const SEED = 23;
const DATASET = 'scale';
const PREFIX = 'scale/';
const TIMEOUT_S = '14400';
/** This process: the Qdrant emulator (every vector, as JavaScript numbers) and the bench's own bookkeeping. */
const SELF = 'bench + Qdrant emulator';

// ---------------------------------------------------------------------------
// Images: family f (of --families) is a 4×4 colour grid; image i picks a family by a hash
// of i, jitters the grid (±24 per value), upscales it with a cubic kernel, adds per-pixel
// noise (±12) and is encoded as JPEG quality 85 (~1 KB at 32×32). Deterministic per i;
// keys `scale/<i / 1000>/<i>.jpg` (folders of 1,000, as photo libraries are laid out).

const familyGrids = Array.from({ length: families }, (_, f) => {
  const rng = createRng(SEED * 7919 + f);
  return Uint8Array.from({ length: 4 * 4 * 3 }, () => Math.floor(rng() * 256));
});

const keyOf = (i: number): string => `${String(Math.floor(i / 1000)).padStart(4, '0')}/${String(i).padStart(7, '0')}.jpg`;

async function imageOf(i: number): Promise<Buffer> {
  const rng = createRng(i * 2654435761 + SEED);
  const grid = familyGrids[Math.floor(rng() * families)] as Uint8Array;
  const raw = Buffer.alloc(grid.length);
  for (let j = 0; j < raw.length; j++) raw[j] = Math.max(0, Math.min(255, Math.round((grid[j] as number) + (rng() - 0.5) * 48)));
  const pixels = await sharp(raw, { raw: { width: 4, height: 4, channels: 3 } }).resize(size, size, { kernel: 'cubic' }).raw().toBuffer();
  for (let j = 0; j < pixels.length; j++) pixels[j] = Math.max(0, Math.min(255, Math.round((pixels[j] as number) + (rng() - 0.5) * 24)));
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

/** Generate and upload images 0..n-1 in chunks: generation and upload timed apart. */
async function upload(stack: PipelineStack, n: number): Promise<{ generateSeconds: number; uploadSeconds: number; mib: number }> {
  const src = await openS3Storage(`s3://${SOURCE_BUCKET}/${PREFIX}`, stack.s3cfg);
  let generateMs = 0;
  let uploadMs = 0;
  let bytes = 0;
  const CHUNK = 2000;
  for (let start = 0; start < n; start += CHUNK) {
    const ids = Array.from({ length: Math.min(CHUNK, n - start) }, (_, j) => start + j);
    let t = performance.now();
    const images = await mapConcurrent(ids, Math.max(2, os.availableParallelism() * 2), imageOf);
    generateMs += performance.now() - t;
    t = performance.now();
    await mapConcurrent(ids, uploadConcurrency, async (i, j) => {
      const body = images[j] as Buffer;
      bytes += body.length;
      await src.put(keyOf(i), body);
    });
    uploadMs += performance.now() - t;
  }
  return { generateSeconds: generateMs / 1000, uploadSeconds: uploadMs / 1000, mib: bytes / 2 ** 20 };
}

// ---------------------------------------------------------------------------
// The run's timeline, read from its record once a second in this process (cheap: one
// MULTI of HGETALL + SCARD + HLEN), printed when the status or map changes and every 60 s.

interface Timeline {
  /** When each status (and `map <status>`) was first seen, Date.now() ms. */
  firstSeen: Partial<Record<string, number>>;
  last?: RunRecord;
  stop(): void;
}

function followRun(runs: RunStore, id: string, t0: number): Timeline {
  const timeline: Timeline = { firstSeen: {}, stop: () => clearInterval(timer) };
  let lastLine = '';
  let lastPrint = 0;
  const poll = async (): Promise<void> => {
    const run = await runs.get(id);
    if (!run) return;
    timeline.last = run;
    const now = (performance.now() - t0) / 1000;
    const state = `${run.status}${run.map ? ` map ${run.map.status}${run.map.phase ? `/${run.map.phase}` : ''}` : ''}`;
    for (const key of [run.status, run.map ? `map ${run.map.status}` : '']) if (key) timeline.firstSeen[key] ??= Date.now();
    if (state !== lastLine || now - lastPrint >= 60) {
      console.log(`  ${now.toFixed(0).padStart(5)} s  ${state}  ${run.done}/${run.total} done, ${run.failed} failed  (load ${os.loadavg()[0]?.toFixed(1)})`);
      lastLine = state;
      lastPrint = now;
    }
  };
  const timer = setInterval(() => void poll().catch(() => undefined), 1000);
  return timeline;
}

/** Seconds from the run's creation to a time (ISO 8601 or Date.now() ms). */
const since = (run: RunRecord, at: string | number | undefined): number | undefined =>
  at === undefined ? undefined : ((typeof at === 'number' ? at : Date.parse(at)) - Date.parse(run.createdAt)) / 1000;

// ---------------------------------------------------------------------------

interface Row {
  n: number;
  generateSeconds: number;
  uploadSeconds: number;
  uploadMiB: number;
  workersReadySeconds: number;
  enqueueCliSeconds: number;
  searchableSeconds: number;
  mappedSeconds: number;
  imagesPerSecond: number;
  /** From the run record (createdAt → finishedAt / map done), without the CLI's start and polling. */
  record: { searchable?: number; mapped?: number; embeddingStarted?: number; trainingStarted?: number; publishingStarted?: number; embedImagesPerSecond?: number };
  mapAtSearchable: string;
  search: { hits: number; seconds: number; mapAfter: string };
  done: number;
  failed: number;
  points: number;
  k?: number;
  rss: Record<string, PeakRss>;
  /** --kill-train-in-fan-out: what the kill found, and the index jobs in the end (one per batch when nothing was added twice). */
  drill?: { gateUpAtKill: boolean; indexJobsAtKill: number; indexJobsCompleted: number; batches: number };
  redisUsedMemoryPeakMiB: number;
  emulatorRequests: number;
  emulatorSchemaErrors: number;
  loadAverage: { start: number[]; end: number[] };
}

async function workersReady(stack: PipelineStack, workers: WorkerPool, timeoutMs = 300_000): Promise<number> {
  const t = performance.now();
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  const queues = STAGES.map((s) => new Queue(s, { connection: redis, prefix: 'imgsim' }));
  try {
    for (;;) {
      const counts = await Promise.all(queues.map((q) => q.getWorkersCount()));
      if (counts.every((c) => c > 0)) return (performance.now() - t) / 1000;
      const dead = STAGES.filter((s) => workers.pid(s) === undefined);
      if (dead.length > 0) throw new Error(`worker(s) ${dead.join(', ')} exited:\n${workers.logs().slice(-4000)}`);
      if (performance.now() - t > timeoutMs) throw new Error(`workers not ready after ${timeoutMs / 1000} s:\n${workers.logs().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    redis.disconnect();
  }
}

/**
 * The drill: poll every 10 ms for the fan-out's gate (the publish job is in, held back,
 * and batches are being added); then SIGKILL the train worker, count the index jobs added
 * so far, and start a new train worker. The killed job's retry must finish the fan-out.
 */
async function killTrainWhenFanningOut(runs: RunStore, redis: Redis, workers: WorkerPool, id: string): Promise<{ gateUpAtKill: boolean; indexJobsAtKill: number }> {
  const gate = `imgsim:fan-out-gate:${id}-gate`;
  for (let polls = 0; (await redis.exists(gate)) === 0; polls++) {
    if (polls % 100 === 0) {
      const run = await runs.get(id);
      if (run && (TERMINAL_STATUSES.has(run.status) || run.done > 0)) throw new Error(`drill: the fan-out was over (run ${run.status}, ${run.done} done) before its gate was seen`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await workers.kill('train');
  const gateUpAtKill = (await redis.exists(gate)) === 1;
  const indexJobsAtKill = (await redis.keys(`imgsim:index:${id}-index-*`)).filter((k) => /-index-\d+$/.test(k)).length;
  console.log(`drill: train worker SIGKILLed while fanning out — gate ${gateUpAtKill ? 'up (publish held back)' : 'lifted meanwhile'}, ${indexJobsAtKill} index jobs added; a new train worker started`);
  workers.start('train');
  return { gateUpAtKill, indexJobsAtKill };
}

const mapState = (run: RunRecord | undefined): string => (run?.map ? `${run.map.status}${run.map.phase ? ` (${run.map.phase})` : ''}` : 'absent');

async function runOne(n: number): Promise<Row> {
  const loadStart = os.loadavg();
  console.log(`\n=== N = ${n.toLocaleString('en')} (load average ${loadStart.map((l) => l.toFixed(2)).join(' ')})`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-scale-queued-'));
  const stack = await startPipelineStack({
    IMGSIM_IMAGE_SIZE: String(size),
    IMGSIM_FILTERS: filters,
    IMGSIM_EPOCHS: String(epochs),
    IMGSIM_TRAIN_SAMPLE: String(trainSample),
    IMGSIM_TSNE_ITERATIONS: String(tsneIterations),
    IMGSIM_MAP_SAMPLE: String(mapSample),
    IMGSIM_JOB_BATCH_SIZE: String(jobBatch),
    IMGSIM_JOB_LOCK_MS: '60000',
  });
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  let workers: WorkerPool | undefined;
  const pids = (): Record<string, number | undefined> => ({
    ...Object.fromEntries(STAGES.map((s: Stage) => [`worker ${s}`, workers?.pid(s)])),
    'redis-server': stack.redis.pid,
    's3 server': stack.s3.pid,
    [SELF]: process.pid,
  });
  const watch = watchPeakRss(pids, { intervalMs: 1000, ownOnly: [SELF] });
  try {
    const up = await upload(stack, n);
    console.log(`set-up: generated ${n} ${size}×${size} JPEGs (${up.mib.toFixed(1)} MiB) in ${up.generateSeconds.toFixed(1)} s, uploaded in ${up.uploadSeconds.toFixed(1)} s (${(n / up.uploadSeconds).toFixed(0)}/s, ${uploadConcurrency} in flight)`);
    const query = path.join(dir, 'query.jpg');
    await writeFile(query, await imageOf(0));

    workers = startWorkers(stack.env);
    const workersReadySeconds = await workersReady(stack, workers);
    console.log(`workers: 6 processes ready in ${workersReadySeconds.toFixed(1)} s`);

    const t0 = performance.now();
    const enq = await runCli(['enqueue', `s3://${SOURCE_BUCKET}/${PREFIX}`, '--dataset', DATASET, '--json'], stack.env);
    if (enq.code !== 0) throw new Error(`enqueue failed: ${enq.stderr}`);
    const enqueueCliSeconds = (performance.now() - t0) / 1000;
    const id = jsonOf<{ id: string }>(enq).id;
    const runs = new RunStore(redis);
    const timeline = followRun(runs, id, t0);
    const drill = killTrainInFanOut && workers ? killTrainWhenFanningOut(runs, redis, workers, id) : undefined;
    // Awaited once the run is searchable; until then a failure must not crash the process unreported.
    drill?.catch((e: unknown) => console.log(`drill failed: ${String(e)}`));
    try {
      const searchableRun = await runCli(['run-status', id, '--wait', '--timeout', TIMEOUT_S, '--json'], stack.env);
      const searchableSeconds = (performance.now() - t0) / 1000;
      if (searchableRun.code !== 0) throw new Error(`run-status --wait exited ${searchableRun.code}: ${searchableRun.stdout.slice(0, 2000)}\n${searchableRun.stderr.slice(-2000)}\n${workers.logs().slice(-4000)}`);
      const mapAtSearchable = mapState(await runs.get(id));
      console.log(`searchable ${searchableSeconds.toFixed(1)} s after enqueue (${(n / searchableSeconds).toFixed(1)} images/s); map then: ${mapAtSearchable}`);
      const q0 = performance.now();
      const search = await runCli(['search', query, '--dataset', DATASET, '-k', '5', '--json', '--sheet', path.join(dir, 'sheet.png')], stack.env);
      const searchSeconds = (performance.now() - q0) / 1000;
      const hits = search.code === 0 ? jsonOf<{ neighbors: unknown[] }>(search).neighbors.length : 0;
      if (search.code !== 0) console.log(`search failed (exit ${search.code}): ${search.stderr.slice(-1000)}`);
      const mapAfter = mapState(await runs.get(id));
      console.log(`a search then: ${hits} hits in ${searchSeconds.toFixed(1)} s (CLI start included); map after it: ${mapAfter}`);

      const mapped = await runCli(['run-status', id, '--wait-map', '--timeout', TIMEOUT_S, '--json'], stack.env);
      const mappedSeconds = (performance.now() - t0) / 1000;
      if (mapped.code !== 0) console.log(`run-status --wait-map exited ${mapped.code}: ${mapped.stdout.slice(0, 2000)}`);
      const final = await runs.progress(id);
      console.log(`mapped ${mappedSeconds.toFixed(1)} s after enqueue: map ${mapState(final)}, k ${final.map?.k ?? '-'}, ${final.map?.points ?? 0} points`);
      timeline.stop();

      const points = final.collection ? await stack.qdrant.count(final.collection, { dataset: DATASET }) : 0;
      const killed = await drill;
      const drillRow = killed ? { ...killed, indexJobsCompleted: await new Queue('index', { connection: redis, prefix: 'imgsim' }).getCompletedCount(), batches: Math.ceil(n / jobBatch) } : undefined;
      const memory = await redis.info('memory');
      const redisPeak = Number(/used_memory_peak:(\d+)/.exec(memory)?.[1] ?? 0) / 2 ** 20;
      const mapDone = final.map?.status === 'done' ? final.map.updatedAt : undefined;
      const row: Row = {
        n,
        generateSeconds: up.generateSeconds,
        uploadSeconds: up.uploadSeconds,
        uploadMiB: up.mib,
        workersReadySeconds,
        enqueueCliSeconds,
        searchableSeconds,
        mappedSeconds,
        imagesPerSecond: n / searchableSeconds,
        record: {
          searchable: since(final, final.finishedAt),
          mapped: since(final, mapDone),
          embeddingStarted: since(final, final.embeddingStartedAt),
          trainingStarted: since(final, timeline.firstSeen.training),
          publishingStarted: since(final, timeline.firstSeen.publishing),
          embedImagesPerSecond: final.imagesPerSecond,
        },
        mapAtSearchable,
        search: { hits, seconds: searchSeconds, mapAfter },
        done: final.done,
        failed: final.failed,
        points,
        ...(final.map?.k !== undefined ? { k: final.map.k } : {}),
        rss: watch.stop(),
        ...(drillRow ? { drill: drillRow } : {}),
        redisUsedMemoryPeakMiB: redisPeak,
        emulatorRequests: stack.emulator.requests.length,
        emulatorSchemaErrors: stack.qdrantErrors(),
        loadAverage: { start: loadStart, end: os.loadavg() },
      };
      printRow(row);
      return row;
    } finally {
      timeline.stop();
    }
  } finally {
    watch.stop();
    await workers?.stop();
    redis.disconnect();
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const f1 = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(1));

function printRow(r: Row): void {
  const rec = r.record;
  console.log(
    `run record (from its creation): training from ${f1(rec.trainingStarted)} s (approx., 1 s polls), embedding from ${f1(rec.embeddingStarted)} s, ` +
      `publishing from ${f1(rec.publishingStarted)} s (approx.), searchable ${f1(rec.searchable)} s, mapped ${f1(rec.mapped)} s; embedding ${f1(rec.embedImagesPerSecond)} images/s`,
  );
  if (r.drill) console.log(`drill: gate ${r.drill.gateUpAtKill ? 'up' : 'lifted'} at the kill with ${r.drill.indexJobsAtKill} index jobs; in the end ${r.drill.indexJobsCompleted} index jobs completed for ${r.drill.batches} batches`);
  console.log(`${r.done} done, ${r.failed} failed, ${r.points} points, k ${r.k ?? '-'}; Redis used_memory_peak ${r.redisUsedMemoryPeakMiB.toFixed(1)} MiB; emulator ${r.emulatorRequests} requests, ${r.emulatorSchemaErrors} schema errors`);
  const lines = [['process', 'peak RSS MiB (VmHWM)', 'with children MiB (sampled)', 'largest child MiB']];
  for (const [name, p] of Object.entries(r.rss)) lines.push([name, p.hwmMiB.toFixed(0), p.treeMiB.toFixed(0), p.childHwmMiB > 0 ? p.childHwmMiB.toFixed(0) : '-']);
  console.log(table(lines));
}

async function main(): Promise<void> {
  console.log(`bench:scale-queued — ${machineLine()}`);
  console.log(
    `images ${sizes.join(', ')} at ${size}×${size} (${families} families), filters ${filters}, ${epochs} epoch(s) on a sample of ${trainSample}, ` +
      `job batches of ${jobBatch}, t-SNE ${tsneIterations} iterations on a map sample of ${mapSample}; the run trains its own model`,
  );
  const rows: Row[] = [];
  for (const n of sizes) rows.push(await runOne(n));

  console.log('\nsummary (seconds from the start of `imgsim enqueue`; searchable/mapped as run-status --wait/--wait-map returned)');
  const out = [['N', 'upload s (set-up)', 'to searchable s', 'images/s', 'to mapped s', 'map at searchable', 'search hits', 'done', 'failed', 'k', 'load start → end']];
  for (const r of rows) {
    out.push([
      String(r.n),
      r.uploadSeconds.toFixed(1),
      r.searchableSeconds.toFixed(1),
      r.imagesPerSecond.toFixed(1),
      r.mappedSeconds.toFixed(1),
      r.mapAtSearchable,
      String(r.search.hits),
      String(r.done),
      String(r.failed),
      String(r.k ?? '-'),
      `${r.loadAverage.start[0]?.toFixed(1)} → ${r.loadAverage.end[0]?.toFixed(1)}`,
    ]);
  }
  console.log(table(out));
  const names = Object.keys(rows[0]?.rss ?? {});
  const rssLines = [['process (peak RSS MiB: own VmHWM / with children)', ...rows.map((r) => `N=${r.n}`), ...(rows.length > 1 ? [`ratio ${rows.at(-1)?.n}/${rows[0]?.n}`] : [])]];
  for (const name of names) {
    const cells = rows.map((r) => `${r.rss[name]?.hwmMiB.toFixed(0) ?? '-'} / ${r.rss[name]?.treeMiB.toFixed(0) ?? '-'}`);
    const a = rows[0]?.rss[name];
    const b = rows.at(-1)?.rss[name];
    const ratio = a && b && a.treeMiB > 0 ? [`${(b.hwmMiB / a.hwmMiB).toFixed(2)} / ${(b.treeMiB / a.treeMiB).toFixed(2)}`] : [];
    rssLines.push([name, ...cells, ...(rows.length > 1 ? ratio : [])]);
  }
  console.log(`\n${table(rssLines)}`);
  await writeJsonResult(jsonFile, { sizes, size, epochs, trainSample, families, filters, tsneIterations, mapSample, jobBatch, machine: machineLine(), rows });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
