// Operator fault drills (issue 10) as the suite's own tests, on real processes: the six
// `imgsim worker` processes, a redis-server with AOF, the S3 server process and the Qdrant
// emulator, driven through the `imgsim` CLI as an operator would. Each drill takes a
// service away (or makes a step outlast a server's keep-alive) in the middle of a queued
// run and asserts that the run completes, every good image is exactly one point of the
// live collection, and the failure list holds the bad images only:
//   (a) clustering longer than the Qdrant server's keep-alive (pooled sockets closed
//       under the cluster worker while it computes);
//   (b) S3 down 20 s during embed jobs (job retries ride it out); and with a retry budget
//       smaller than the outage: the run completes held back (failures 'transient', the
//       alias stays on the previous build), then `retry-failed` completes it and it goes live;
//   (c) Redis killed (AOF keeps every acknowledged write) and restarted while embedding,
//       with `run-status --wait` waiting in another process.
// One stack and one model for the file (trained by the first run); every drill indexes
// its own dataset name with that model (`--model <id> --mode all`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { generateShapesDataset } from '../../../shared/images/synthetic.js';
import { connectRedis, createRedis } from '../../../shared/queue/connection.js';
import { RunStore, type RunRecord } from '../../../shared/runs/index.js';
import { aliasName } from '../../../shared/runs/naming.js';
import { writeBadInputFixtures } from '../../support/image-fixtures.js';
import { jsonOf, ROOT, runCli, type CliResult } from '../../support/cli.js';
import { SOURCE_BUCKET, startPipelineStack, type PipelineStack } from '../../support/pipeline-stack.js';
import { startWorkers, type WorkerPool } from '../../support/workers.js';

interface RunJson {
  run: RunRecord;
  failures: Array<{ key: string; reason: string; message: string }>;
}

const SOURCE = `s3://${SOURCE_BUCKET}/photos`;
/** The emulator closes an idle keep-alive socket after this + Node's 1 s buffer. */
const KEEP_ALIVE_MS = 1_000;
/**
 * Job retries of the stack's workers: 30 attempts, 0.5 s doubling to 2 s (~55 s of
 * backoff). Covers the 20 s outage as the defaults (16 attempts, 1 s → 60 s, ~10 min) do,
 * and picks the work up again within ~2 s once the service is back.
 */
const RETRIES = { IMGSIM_JOB_ATTEMPTS: '30', IMGSIM_JOB_BACKOFF_MS: '500', IMGSIM_JOB_BACKOFF_MAX_MS: '2000' };
/** A retry budget far shorter than an outage: 3 attempts, 0.2 s then 0.4 s apart. */
const SMALL_BUDGET = { IMGSIM_JOB_ATTEMPTS: '3', IMGSIM_JOB_BACKOFF_MS: '200', IMGSIM_JOB_BACKOFF_MAX_MS: '500', IMGSIM_S3_MAX_ATTEMPTS: '1' };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('operator drills: the run completes through service faults', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  let stack: PipelineStack;
  let env: Record<string, string>;
  let workers: WorkerPool;
  /** Every worker pool started, for the logs in failure messages. */
  const pools: WorkerPool[] = [];
  let redis: Redis;
  let runs: RunStore;
  let good: string[];
  /** Bad object key → the reason its failure must carry. */
  let bad: Record<string, string>;
  let modelId: string;

  const logs = (): string => pools.map((p) => p.logs()).join('\n').slice(-20_000);
  const cli = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> => runCli(args, { ...env, ...extra });
  const startPool = (extra: Record<string, string> = {}, stages?: Parameters<typeof startWorkers>[1]): WorkerPool => {
    const pool = startWorkers({ ...env, ...extra }, stages);
    pools.push(pool);
    return pool;
  };
  const waitRun = async (id: string): Promise<RunJson> => {
    const r = await cli(['run-status', id, '--wait-map', '--timeout', '300', '--json']);
    assert.ok(r.code === 0 || r.code === 1, `run-status exited ${r.code}: ${r.stderr}\n${logs()}`);
    const result = jsonOf<RunJson>(r);
    note(`run ${result.run.dataset}: ${timeline(result.run)}`);
    return result;
  };
  const enqueue = async (dataset: string, extra: string[] = ['--model', modelId, '--mode', 'all']): Promise<string> => {
    const r = await cli(['enqueue', SOURCE, '--dataset', dataset, '--json', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return jsonOf<{ id: string }>(r).id;
  };
  /** Poll the run store until `ok(run)`; the last record read. */
  const until = async (id: string, what: string, ok: (r: RunRecord) => boolean, timeoutMs = 120_000): Promise<RunRecord> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await runs.progress(id);
      if (ok(r)) return r;
      assert.ok(Date.now() < deadline, `run ${id}: not ${what} within ${timeoutMs} ms (status ${r.status}, ${r.done}+${r.failed}/${r.total})\n${logs()}`);
      await sleep(50);
    }
  };
  /**
   * The drill's promise: the run completed and is live (no heldBack), its collection holds
   * every good image exactly once (count and keys), the alias points at it, and its
   * failure list is exactly the bad images with their reasons.
   */
  const assertCompleteAndLive = async (result: RunJson, dataset: string): Promise<void> => {
    const { run } = result;
    assert.equal(run.status, 'completed', `${run.error ?? ''}\n${logs()}`);
    assert.equal(run.heldBack, undefined, 'the build went live');
    assert.deepEqual(
      new Map(result.failures.map((f) => [f.key, f.reason])),
      new Map(Object.entries(bad)),
      `the failures are the bad images only:\n${result.failures.map((f) => `${f.key}: ${f.reason} — ${f.message}`).join('\n')}`,
    );
    assert.equal(run.done, good.length);
    const collection = run.collection ?? '';
    assert.equal(await stack.qdrant.getAliasTarget(aliasName(dataset)), collection, 'the alias points at the run collection');
    assert.equal(await stack.qdrant.count(collection, { dataset }), good.length, 'one point per good image');
    const keys: string[] = [];
    for await (const p of stack.qdrant.scroll(collection, { dataset })) keys.push(p.key);
    assert.deepEqual(keys.sort(), [...good].sort(), 'the points are the good images, each once');
    assert.equal(stack.qdrantErrors(), 0, 'every Qdrant request and response matched the schema');
  };

  before(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-drills-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // No Keep-Alive hint: the client keeps pooled sockets for its own default (longer than
    // the server does), as with servers and proxies that send none.
    stack = await startPipelineStack(
      { IMGSIM_JOB_BATCH_SIZE: '16', IMGSIM_TRAIN_SAMPLE: '120', ...RETRIES },
      { emulator: { keepAliveTimeoutMs: KEEP_ALIVE_MS, advertiseKeepAlive: false } },
    );
    cleanups.push(() => stack.stop());
    env = stack.env;

    // 180 generated shapes + every kind of bad input under photos/.
    const local = path.join(dir, 'images');
    await generateShapesDataset(path.join(local, 'shapes'), { perClass: 20, size: 32, seed: 7 });
    const fixtures = await writeBadInputFixtures(path.join(local, 'mixed'));
    bad = Object.fromEntries(Object.entries(fixtures.bad).map(([f, r]) => [`mixed/${f}`, r]));
    good = [];
    const objects: Array<{ key: string; body: Buffer }> = [];
    for (const sub of ['shapes', 'mixed']) {
      for (const rel of await readdir(path.join(local, sub), { recursive: true })) {
        const key = `${sub}/${rel}`;
        const body = await readFile(path.join(local, key)).catch(() => undefined);
        if (!body) continue; // a folder
        objects.push({ key: `photos/${key}`, body });
        if (sub === 'shapes' || fixtures.good.includes(rel)) good.push(key);
      }
    }
    await stack.s3.seedObjects(SOURCE_BUCKET, objects);
    note(`stack up, ${good.length} good + ${Object.keys(bad).length} bad objects in S3`);

    redis = createRedis(stack.redisUrl);
    redis.on('error', () => undefined); // the Redis drill stops the server under it
    await connectRedis(redis, stack.redisUrl);
    cleanups.push(() => Promise.resolve(redis.disconnect()));
    runs = new RunStore(redis, 'imgsim');

    workers = startPool();
    cleanups.push(() => workers.stop());
    const first = await waitRun(await enqueue('drill-base', ['--train']));
    await assertCompleteAndLive(first, 'drill-base');
    modelId = first.run.modelId ?? '';
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  test('(a) clustering outlasts the Qdrant server keep-alive: the run completes, every point has its cluster', async () => {
    // The cluster worker alone with many t-SNE iterations: the step leaves its pooled
    // Qdrant sockets idle for longer than the server keeps them open.
    await workers.kill('cluster', 'SIGTERM');
    // 20,000 iterations: 8,000 took 2.5 s on a quiet machine, too short to outlast the keep-alive clearly.
    const slow = startPool({ IMGSIM_TSNE_ITERATIONS: '20000' }, ['cluster']);
    const connection = createRedis(stack.redisUrl, { forWorker: true });
    connection.on('error', () => undefined);
    const queue = new Queue('cluster', { connection, prefix: 'imgsim' });
    // When Qdrant requests arrived (the emulator runs in this process).
    const arrivals: number[] = [];
    let seen = stack.emulator.requests.length;
    const sampler = setInterval(() => {
      const n = stack.emulator.requests.length;
      if (n !== seen) arrivals.push(Date.now());
      seen = n;
    }, 10);
    try {
      const dataset = 'drill-keepalive';
      const result = await waitRun(await enqueue(dataset));
      clearInterval(sampler);
      const job = await queue.getJob(`${result.run.id}-cluster`);
      const start = job?.processedOn ?? 0;
      const end = job?.finishedOn ?? 0;
      // The longest silence towards Qdrant while the cluster job ran: computing the map.
      const during = arrivals.filter((t) => t >= start && t <= end);
      let idleMs = 0;
      for (let i = 1; i < during.length; i++) idleMs = Math.max(idleMs, (during[i] as number) - (during[i - 1] as number));
      note(`(a) cluster job ${end - start} ms, Qdrant idle for ${idleMs} ms within it; the server closes idle sockets after ${KEEP_ALIVE_MS + 1_000} ms`);
      await assertCompleteAndLive(result, dataset);
      // At least a second past the moment the server closed the cluster worker's sockets.
      assert.ok(idleMs > KEEP_ALIVE_MS + 2_000, `the cluster step left Qdrant idle for ${idleMs} ms only: not clearly longer than the keep-alive`);
      for await (const p of stack.qdrant.scroll(result.run.collection ?? '', { dataset })) {
        assert.ok(Number.isInteger(p.payload.cluster), `cluster payload on ${p.key}`);
        assert.equal(typeof p.payload.x, 'number', `x on ${p.key}`);
      }
    } finally {
      clearInterval(sampler);
      await queue.close();
      connection.disconnect();
      await slow.stop();
      workers.start('cluster');
    }
  });

  test('(b) S3 down 20 s during embed jobs: job retries ride it out, no good image fails', async () => {
    const dataset = 'drill-s3-outage';
    const id = await enqueue(dataset);
    const at = await until(id, 'embedding', (r) => r.status === 'embedding' && r.done > 0);
    assert.ok(at.done < good.length, `S3 went down mid-run (${at.done}/${good.length} done)`);
    const t0 = Date.now();
    await stack.s3.outage(20_000);
    const result = await waitRun(id);
    note(`(b) S3 down 20 s at ${at.done}/${at.total}; the run finished ${((Date.now() - t0) / 1000).toFixed(1)} s after S3 went down`);
    await assertCompleteAndLive(result, dataset);
  });

  test('(b) S3 down longer than the retry budget: held back (the live build stays), then retry-failed completes it and it goes live', async () => {
    // drill-base (indexed by the first run) is the complete, live build that an
    // incomplete one must not replace.
    const dataset = 'drill-base';
    const previous = await stack.qdrant.getAliasTarget(aliasName(dataset));
    assert.ok(previous, 'drill-base is live');
    // Job attempts are set when jobs are added (the ingest worker's fan-out), backoff by the
    // worker running them: ingest, embed and index get the small budget.
    const budgeted = ['ingest', 'embed', 'index'] as const;
    for (const stage of budgeted) await workers.kill(stage, 'SIGTERM');
    const small = startPool(SMALL_BUDGET, budgeted);
    let id: string;
    let held: RunJson;
    try {
      id = await enqueue(dataset);
      const at = await until(id, 'embedding', (r) => r.status === 'embedding' && r.done > 0);
      await stack.s3.pause();
      // Down until every item is settled: the remaining embed jobs give up after 3 attempts.
      const settled = await until(id, 'settled', (r) => r.total > 0 && r.done + r.failed >= r.total);
      await stack.s3.resume();
      held = await waitRun(id);
      note(`(b) small budget: S3 down at ${at.done}/${at.total}; ${settled.done} done, ${settled.failed} failed when it came back`);
    } finally {
      await stack.s3.resume();
      await small.stop();
      for (const stage of budgeted) workers.start(stage);
    }
    assert.equal(held.run.status, 'completed', `${held.run.error ?? ''}\n${logs()}`);
    assert.match(held.run.heldBack ?? '', /transient/, 'held back for the transient failures');
    assert.notEqual(held.run.collection, previous);
    assert.equal(await stack.qdrant.getAliasTarget(aliasName(dataset)), previous, 'the complete previous build stays live');
    const transient = held.failures.filter((f) => f.reason === 'transient');
    assert.ok(transient.some((f) => good.includes(f.key)), 'good images gave up as transient');
    for (const f of held.failures) assert.ok(f.reason === 'transient' || bad[f.key] === f.reason, `${f.key}: ${f.reason} — ${f.message}`);
    assert.ok((await stack.qdrant.count(held.run.collection ?? '', { dataset })) < good.length, 'the held-back collection is incomplete');

    const retried = await cli(['retry-failed', id, '--json']);
    assert.equal(retried.code, 0, retried.stderr);
    // Every failed item of the listing (a key listed as not an image was never in it).
    assert.equal(jsonOf<{ retried: number }>(retried).retried, held.failures.filter((f) => f.reason !== 'not-an-image').length);
    const done = await waitRun(id);
    await assertCompleteAndLive(done, dataset);
    assert.equal(done.run.collection, held.run.collection, 'the held-back collection completed and went live');
  });

  test('(c) Redis killed and restarted (AOF) while embedding: the run completes, run-status --wait rides through', async () => {
    const dataset = 'drill-redis';
    // Embedding waits until run-status --wait is up and polling (a CLI start takes seconds):
    // the embed queue is paused meanwhile.
    const connection = createRedis(stack.redisUrl, { forWorker: true });
    connection.on('error', () => undefined);
    const embedQueue = new Queue('embed', { connection, prefix: 'imgsim' });
    let waiter: ReturnType<typeof runStatusWait>;
    let id: string;
    try {
      await embedQueue.pause();
      id = await enqueue(dataset);
      waiter = runStatusWait(id, env);
      await waiter.polling;
    } finally {
      await embedQueue.resume();
      await embedQueue.close();
      connection.disconnect();
    }
    const at = await until(id, 'embedding', (r) => r.status === 'embedding' && r.done > 0);
    assert.ok(at.done < good.length, `Redis went down mid-run (${at.done}/${good.length} done)`);
    // A crash (SIGKILL: AOF with fsync on every write keeps what was acknowledged), 4 s
    // down, then a clean restart a second later.
    await stack.redis.outage(4_000, { signal: 'SIGKILL' });
    await sleep(1_000);
    await stack.redis.restart();
    const r = await waiter.result;
    note(`(c) Redis killed for 4 s at ${at.done}/${at.total}, then restarted; run-status said:\n${r.stderr.split('\n').filter((l) => /Redis/.test(l)).join('\n')}`);
    assert.equal(r.code, 0, `run-status --wait exited ${r.code}: ${r.stderr}\n${logs()}`);
    assert.match(r.stderr, /unreachable/, 'run-status said Redis went away');
    assert.match(r.stderr, /is back/, 'run-status said Redis came back');
    const status = await cli(['run-status', id, '--json']);
    assert.equal(status.code, 0, status.stderr);
    await assertCompleteAndLive(jsonOf<RunJson>(status), dataset);
  });
});

/**
 * `imgsim run-status <id> --wait` as a child process, started now: `polling` resolves on
 * its first progress line (it is connected and waiting), `result` when it exits.
 */
function runStatusWait(id: string, env: Record<string, string>): { polling: Promise<void>; result: Promise<CliResult> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'imgsim.js'), 'run-status', id, '--wait', '--timeout', '300'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let onFirstLine: () => void = () => undefined;
  const polling = new Promise<void>((resolve) => (onFirstLine = resolve));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes(id)) onFirstLine();
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      onFirstLine();
      resolve({ code, stdout, stderr });
    });
  });
  return { polling, result };
}

const fileStart = Date.now();

/** A timed line on stderr (the test log): what the drill measured. */
function note(message: string): void {
  process.stderr.write(`# [${((Date.now() - fileStart) / 1000).toFixed(1)} s] ${message}\n`);
}

/** Seconds from creation to start, embedding and the end, from a run record. */
function timeline(r: RunRecord): string {
  const at = (iso: string | undefined): string => (iso ? `${((Date.parse(iso) - Date.parse(r.createdAt)) / 1000).toFixed(1)} s` : '-');
  return `${r.status}, ${r.done}/${r.total} done, ${r.failed} failed; started ${at(r.startedAt)}, embedding ${at(r.embeddingStartedAt)}, finished ${at(r.finishedAt)}`;
}
