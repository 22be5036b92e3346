// A queued dataset's duplicates pass end to end, against real processes: redis-server, the
// S3 server, the schema-checked Qdrant emulator and the eight workers (the run's six,
// fingerprint and duplicates) as `imgsim worker` processes; the HTTP API in this process.
// 30 generated collages and edited copies (rotated, cropped, mirrored, an exact copy) are indexed by
// a run, a pass is started over the API and its groups read back; a dismissed pair is gone
// from them; after a `--mode missing` run that adds one more copy and removes images, the
// next pass fingerprints that image alone, drops the gone ones (compacting a mostly stale
// fingerprint file) and keeps the earlier groups; a duplicates schedule fires; passes at a
// --fraction and a --cosine carry their learned threshold to the workers. Candidates come
// from Qdrant (sparse visual-word queries of the dataset's words collection, learned
// neighbours of the live collection), their verification from verify jobs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { makeDuplicate } from '../../../shared/images/edits.js';
import { createRng } from '../../../shared/random.js';
import { artifactKeys } from '../../../shared/runs/naming.js';
import type { Services } from '../../../shared/services.js';
import type { S3Storage } from '../../../shared/storage/s3/index.js';
import { buildServer } from '../../../workers/server/app.js';
import { jsonOf, runCli } from '../../support/cli.js';
import { startDuplicatesStack, type DuplicatesStack } from '../../support/duplicates-stack.js';
import type { PipelineStack } from '../../support/pipeline-stack.js';
import type { WorkerPool } from '../../support/workers.js';

const TOKEN = 'duplicates-test-token-0123456789';
const DATASET = 'dups';
const WORDS = `imgsim_${DATASET}__words`;

interface Pass {
  passId: string;
  status: string;
  mode: string;
  images?: number;
  toFingerprint?: number;
  fingerprinted?: number;
  failed?: number;
  pairs?: number;
  groups?: number;
  phase?: string;
  candidatePairs?: number;
  chunks?: number;
  verified?: number;
  error?: string;
}
interface Group {
  tier: string;
  keeper: string;
  members: Array<{ key: string; tier: string; keeper: boolean }>;
  pairs: Array<{ a: string; b: string; tier: string; inliers?: number; identical?: string; mirrored?: boolean }>;
}
interface Page {
  pass?: Pass;
  report?: {
    passId: string;
    images: number;
    fingerprinted: number;
    compareAll: boolean;
    dismissed: number;
    pairsByTier: Record<string, number>;
    seconds: Record<string, number>;
    memory: { fingerprints: number; peakRssMiB: number };
  };
  total: number;
  nextOffset?: number;
  groups: Group[];
}

/** Each group as its sorted member keys, the groups sorted. */
const shapes = (groups: readonly Group[]): string[][] => groups.map((g) => g.members.map((m) => m.key).sort()).sort((x, y) => (x[0] as string).localeCompare(y[0] as string));

describe('queued duplicates pass of a dataset', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  let stack: PipelineStack;
  let workers: WorkerPool;
  let services: Services;
  let app: FastifyInstance;
  let src: S3Storage;
  let env: Record<string, string>;
  let runAndWait: DuplicatesStack['runAndWait'];
  let first: Page;

  const api = async <T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const r = await app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` }, ...(body !== undefined ? { payload: body as object } : {}) });
    return { status: r.statusCode, json: r.json<T>() };
  };
  /** Start a pass over the API and wait until it has finished. */
  const pass = async (body: unknown = {}): Promise<Page> => {
    const started = await api<{ pass: Pass; created: boolean }>('POST', `/v1/datasets/${DATASET}/duplicates`, body);
    assert.equal(started.status, 202, JSON.stringify(started.json));
    assert.equal(started.json.created, true);
    return waitPass(started.json.pass.passId);
  };
  const waitPass = async (passId: string): Promise<Page> => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const page = await api<Page>('GET', `/v1/datasets/${DATASET}/duplicates?limit=100`);
      assert.equal(page.status, 200, JSON.stringify(page.json));
      const p = page.json.pass;
      if (p?.passId === passId && (p.status === 'completed' || p.status === 'failed')) {
        assert.equal(p.status, 'completed', `${p.error ?? ''}\n${workers.logs().slice(-3000)}`);
        // Every verify job counted once (the progress `imgsim dataset duplicates --wait` shows).
        assert.equal(p.verified, p.chunks, JSON.stringify(p));
        return page.json;
      }
      if (Date.now() > deadline) throw new Error(`pass ${passId} not done: ${JSON.stringify(p)}\n${workers.logs().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  };

  before(async () => {
    // Fingerprint batches of 8 images: a pass of 34 fans out over 5 jobs.
    const d = await startDuplicatesStack({ dataset: DATASET, collages: 30, size: 320, seed: 500, batchSize: 8, trainSample: 64, serviceEnv: { IMGSIM_API_TOKEN: TOKEN } });
    cleanups.push(() => d.stop());
    ({ stack, workers, services, env, src, runAndWait } = d);
    app = await buildServer(services);
    cleanups.push(() => app.close());
    first = await pass();
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  test('the pass groups each original with its edited copies, and nothing else', async () => {
    assert.deepEqual(shapes(first.groups), [
      ['c01.png', 'edits/c01-rotate.jpg'],
      ['c02.png', 'edits/c02-crop.jpg'],
      ['c03.png', 'edits/c03-exact.png'],
      ['c05.png', 'edits/c05-flip.jpg'],
    ]);
    const of = (key: string): Group => first.groups.find((g) => g.members.some((m) => m.key === key)) as Group;
    assert.deepEqual([of('c03.png').tier, of('c03.png').pairs[0]?.identical], ['exact', 'bytes']);
    for (const k of ['c01.png', 'c02.png']) {
      const g = of(k);
      assert.equal(g.tier, 'verified', JSON.stringify(g));
      assert.ok((g.pairs[0]?.inliers ?? 0) >= 12, JSON.stringify(g.pairs));
    }
    // The mirrored copy: found by the mirror hash, confirmed on the mirror image's ORB features
    // (decoded again by the pairs step from the bytes read from S3).
    const flip = of('c05.png');
    assert.deepEqual([flip.tier, flip.pairs[0]?.mirrored], ['perceptual', true], JSON.stringify(flip));
    assert.ok(flip.pairs[0]?.inliers !== undefined, JSON.stringify(flip.pairs));
    // The keeper has the most pixels: the original over its crop; the rotated copy's canvas grew.
    assert.deepEqual([of('c01.png').keeper, of('c02.png').keeper], ['edits/c01-rotate.jpg', 'c02.png']);
    assert.equal(first.pass?.images, 34);
    assert.equal(first.pass?.toFingerprint, 34);
    assert.equal(first.pass?.fingerprinted, 34);
    assert.equal(first.report?.compareAll, true);
    assert.equal(first.report?.memory.fingerprints, 34);
    assert.equal(stack.qdrantErrors(), 0, `Qdrant requests off the schema: ${JSON.stringify(stack.emulator.errors.slice(0, 3))}`);
    // Learned-tier candidates came from Qdrant's batch query, never a scroll of vectors; the
    // visual-word candidates from sparse batch queries of the dataset's words collection,
    // which holds one point per fingerprinted image.
    assert.ok(stack.emulator.requests.some((r) => r.path.endsWith('/points/query/batch') && !r.path.includes(WORDS)), 'learned batch queries made');
    assert.ok(stack.emulator.requests.some((r) => r.path === `/collections/${WORDS}/points/query/batch`), 'sparse word queries made');
    assert.equal(await services.qdrant.count(WORDS, { dataset: DATASET }), 34);
    // The ledger keeps where each image's record lies in its file, and the verify jobs read
    // those records by ranged GETs (never a file's header: fewer bytes than the files hold).
    const ledger = JSON.parse((await services.artifacts.get(artifactKeys.duplicatesLedger(DATASET))).toString('utf8')) as { files: Array<{ file: string; keys: string[]; records?: Array<[number, number]> }> };
    for (const f of ledger.files) assert.equal(f.records?.length, f.keys.length, JSON.stringify(f));
    let fileBytes = 0;
    for await (const o of services.artifacts.list(`${artifactKeys.duplicatesDir(DATASET)}fingerprints/`)) if (o.key.endsWith('.bin')) fileBytes += o.size;
    const stored = JSON.parse((await services.artifacts.get(artifactKeys.duplicatesReport(DATASET))).toString('utf8')) as { verifyReads?: { bytes: number; requests: number; jobs: number } };
    const reads = stored.verifyReads;
    assert.ok(reads && reads.jobs >= 1 && reads.requests >= 1, JSON.stringify(reads));
    assert.ok(reads.bytes < reads.jobs * fileBytes && reads.requests <= reads.jobs * ledger.files.length, `${JSON.stringify(reads)} of ${fileBytes} bytes in ${ledger.files.length} files`);
    // Verification ran as jobs, and their artefacts are gone once the pass committed.
    const left = [];
    for await (const o of services.artifacts.list(`${artifactKeys.duplicatesDir(DATASET)}passes/`)) left.push(o.key);
    assert.deepEqual(left, []);
  });

  test('paged and filtered by tier; requests name the field they got wrong', async () => {
    const one = await api<Page>('GET', `/v1/datasets/${DATASET}/duplicates?limit=1`);
    assert.deepEqual([one.json.total, one.json.groups.length, one.json.nextOffset], [4, 1, 1]);
    const last = await api<Page>('GET', `/v1/datasets/${DATASET}/duplicates?limit=2&offset=3`);
    assert.deepEqual([last.json.groups.length, last.json.nextOffset], [1, undefined]);
    const exact = await api<Page>('GET', `/v1/datasets/${DATASET}/duplicates?tier=exact`);
    assert.deepEqual(shapes(exact.json.groups), [['c03.png', 'edits/c03-exact.png']]);
    const minExact = await api<Page>('GET', `/v1/datasets/${DATASET}/duplicates?minTier=exact`);
    assert.equal(minExact.json.total, 1);

    const bad = await api<{ message: string; issues: Array<{ field: string }> }>('GET', `/v1/datasets/${DATASET}/duplicates?tier=close&limit=0`);
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.issues.map((i) => i.field).sort(), ['query.limit', 'query.tier']);
    const clash = await api<{ issues: Array<{ field: string }> }>('GET', `/v1/datasets/${DATASET}/duplicates?tier=learned&minTier=exact`);
    assert.deepEqual([clash.status, clash.json.issues.map((i) => i.field)], [400, ['query.tier']]);
    const same = await api<{ issues: Array<{ field: string }> }>('POST', `/v1/datasets/${DATASET}/duplicates/dismiss`, { a: 'c01.png', b: 'c01.png' });
    assert.deepEqual([same.status, same.json.issues.map((i) => i.field)], [400, ['body.b']]);
    // A key that is no image of the dataset (a typo) is refused, not stored to match nothing.
    const typo = await api<{ message: string; issues: Array<{ field: string }> }>('POST', `/v1/datasets/${DATASET}/duplicates/dismiss`, { a: 'c01.png', b: 'edits/c01-rotated.jpg' });
    assert.deepEqual([typo.status, typo.json.issues.map((i) => i.field)], [400, ['body.b']]);
    assert.match(typo.json.message, /^body\.b: "edits\/c01-rotated\.jpg" is not an image of dataset "dups"$/);
    const mode = await api<{ issues: Array<{ field: string }> }>('POST', `/v1/datasets/${DATASET}/duplicates`, { mode: 'some' });
    assert.deepEqual([mode.status, mode.json.issues.map((i) => i.field)], [400, ['body.mode']]);
    assert.equal((await api('GET', '/v1/datasets/nothere/duplicates')).status, 404);
  });

  test('a dismissed pair is gone from the stored groups at once, and stays dismissed', async () => {
    const d = await api<{ dismissed: boolean }>('POST', `/v1/datasets/${DATASET}/duplicates/dismiss`, { a: 'edits/c02-crop.jpg', b: 'c02.png' });
    assert.deepEqual([d.status, d.json.dismissed], [201, true]);
    const again = await api<{ dismissed: boolean }>('POST', `/v1/datasets/${DATASET}/duplicates/dismiss`, { a: 'c02.png', b: 'edits/c02-crop.jpg' });
    assert.deepEqual([again.status, again.json.dismissed], [200, false]);
    const page = await api<Page>('GET', `/v1/datasets/${DATASET}/duplicates`);
    assert.deepEqual(shapes(page.json.groups), [
      ['c01.png', 'edits/c01-rotate.jpg'],
      ['c03.png', 'edits/c03-exact.png'],
      ['c05.png', 'edits/c05-flip.jpg'],
    ]);
    assert.equal(page.json.report?.dismissed, 1);
    assert.ok(await services.artifacts.exists(artifactKeys.duplicatesDismissed(DATASET)), 'stored with the dataset in the artefact store');
  });

  test('after a --mode missing run adds a copy and removes images, the next pass fingerprints the new image alone, drops the gone ones and keeps the rest', async (t) => {
    // Gone: the exact copy, and five other images of one fingerprint file (that file is
    // then mostly stale: its live records are rewritten into a new file).
    const ledger = JSON.parse((await services.artifacts.get(artifactKeys.duplicatesLedger(DATASET))).toString('utf8')) as { files: Array<{ file: string; keys: string[]; records?: Array<[number, number]> }> };
    const plain = (k: string): boolean => /^c(0[6-9]|[1-2]\d)\.png$/.test(k);
    const stale = ledger.files.find((f) => f.keys.filter(plain).length >= 5 && f.keys.length === 8) as { file: string; keys: string[] };
    assert.ok(stale, JSON.stringify(ledger.files.map((f) => f.keys)));
    // Every other file as a ledger written before record spans has it: those are read whole
    // by the verify jobs and stay without spans; the others keep theirs without being read.
    const spans = new Map(ledger.files.map((f) => [f.file, f.records]));
    const older = { ...ledger, files: ledger.files.map((f, i) => (i % 2 === 1 ? { ...f, records: undefined } : f)) };
    await services.artifacts.put(artifactKeys.duplicatesLedger(DATASET), JSON.stringify(older));
    const removed = [...stale.keys.filter(plain).slice(0, 5), 'edits/c03-exact.png'];
    for (const key of removed) await src.delete(key);
    const rng = createRng(99);
    await src.put('edits/c04-scale.jpg', await makeDuplicate(await src.get('c04.png'), 'scale', rng));
    await runAndWait(['--mode', 'missing']);
    const next = await pass();
    const stored = JSON.parse((await services.artifacts.get(artifactKeys.duplicatesReport(DATASET))).toString('utf8')) as { memory: { peakRssMiB: number; worstBlockMs: number } };
    t.diagnostic(
      `first pass ${JSON.stringify(first.report?.seconds)} peak ${first.report?.memory.peakRssMiB} MiB; incremental ${JSON.stringify(next.report?.seconds)}, pairs/verify/merge peak ${stored.memory.peakRssMiB} MiB, worst event-loop block ${stored.memory.worstBlockMs} ms`,
    );
    // The pairs and verify steps turn the worker's event loop (a loose bound: the machine is shared).
    assert.ok(stored.memory.worstBlockMs < 1500, JSON.stringify(stored.memory));
    assert.equal(next.pass?.images, 35 - removed.length);
    assert.equal(next.pass?.toFingerprint, 1, JSON.stringify(next.pass));
    assert.equal(next.report?.fingerprinted, 1);
    assert.equal(next.report?.compareAll, false);
    assert.equal(next.report?.memory.fingerprints, 35 - removed.length);
    assert.deepEqual(shapes(next.groups), [
      ['c01.png', 'edits/c01-rotate.jpg'],
      ['c04.png', 'edits/c04-scale.jpg'],
      ['c05.png', 'edits/c05-flip.jpg'],
    ]);
    const after = JSON.parse((await services.artifacts.get(artifactKeys.duplicatesLedger(DATASET))).toString('utf8')) as { files: Array<{ file: string; count: number; keys: string[]; records?: Array<[number, number]> }> };
    for (const [i, f] of older.files.entries()) {
      const kept = after.files.find((g) => g.file === f.file);
      if (!kept) continue;
      if (i % 2 === 1) assert.equal(kept.records, undefined, `${f.file}: spans unknown, still unknown`);
      else assert.deepEqual(kept.records, kept.keys.map((k) => spans.get(f.file)?.[f.keys.indexOf(k)]), `${f.file}: its spans carried over`);
    }
    for (const f of after.files.filter((g) => !spans.has(g.file))) assert.equal(f.records?.length, f.keys.length, `new file ${f.file} has its spans`);
    assert.ok(!after.files.some((f) => f.file === stale.file), 'the stale file left the ledger');
    assert.equal(await services.artifacts.exists(artifactKeys.duplicatesFingerprints(DATASET, stale.file)), false, 'and the artefact store');
    assert.ok(after.files.some((f) => /-c00000\.bin$/.test(f.file)), 'its live records were compacted into a new file');
    assert.deepEqual(after.files.flatMap((f) => f.keys).sort().length, 35 - removed.length);
    assert.equal(next.report?.dismissed, 1, 'the dismissed pair, kept from the first pass, is still left out');
    assert.equal(await services.qdrant.count(WORDS, { dataset: DATASET }), 35 - removed.length, 'the gone images left the words collection');

    // A pass with nothing new fingerprints nothing and changes nothing; started from the CLI.
    const cli = await runCli(['dataset', 'duplicates', DATASET, '--wait', '--timeout', '120', '--json'], env);
    assert.equal(cli.code, 0, cli.stderr);
    const shown = jsonOf<Page>(cli);
    assert.deepEqual([shown.pass?.toFingerprint, shown.pass?.status, shapes(shown.groups)], [0, 'completed', shapes(next.groups)]);
    assert.equal(stack.qdrantErrors(), 0);
  });

  test('a duplicates schedule enqueues a pass when it fires (the ingest worker runs the schedules)', async () => {
    const before = (await api<Page>('GET', `/v1/datasets/${DATASET}/duplicates`)).json.pass?.passId;
    const add = await runCli(['schedule', 'add', 'dups-often', '--dataset', DATASET, '--duplicates', '--cron', '*/2 * * * * *', '--json'], env);
    assert.equal(add.code, 0, add.stderr);
    assert.deepEqual(jsonOf<{ job?: string; source?: string }>(add).job, 'duplicates');
    try {
      const deadline = Date.now() + 30_000;
      let passId: string | undefined;
      while (Date.now() < deadline && (passId === undefined || passId === before)) {
        passId = (await api<Page>('GET', `/v1/datasets/${DATASET}/duplicates`)).json.pass?.passId;
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.notEqual(passId, before, `no pass enqueued by the schedule\n${workers.logs().slice(-2000)}`);
    } finally {
      const rm = await runCli(['schedule', 'remove', 'dups-often'], env);
      assert.equal(rm.code, 0, rm.stderr);
    }
  });

  test('a pass started with a fraction compares every pair and reports the cosine that share of the images reaches; another threshold while it runs is a 409; --cosine from the CLI', async () => {
    /** Start a pass once none is active (a schedule firing just before its removal may have started one). */
    const startPass = async (body: object): Promise<{ pass: Pass & { fraction?: number; cosine?: number } }> => {
      for (let tries = 0; ; tries++) {
        const current = (await api<Page>('GET', `/v1/datasets/${DATASET}/duplicates`)).json.pass;
        if (current && current.status !== 'completed' && current.status !== 'failed') await waitPass(current.passId);
        const r = await api<{ pass: Pass & { fraction?: number; cosine?: number }; created: boolean }>('POST', `/v1/datasets/${DATASET}/duplicates`, body);
        if (r.status === 202 || tries >= 3) {
          assert.deepEqual([r.status, r.json.created], [202, true], JSON.stringify(r.json));
          return r.json;
        }
      }
    };
    /**
     * The stored report against Qdrant: every pair of images whose embeddings reach `cosine`
     * among an image's 5 nearest (the candidates the pairs step asks for) is reported, in
     * some tier; no learned-only pair is below it. Verify jobs judging at another threshold
     * than the pass's would break one or the other.
     */
    const checkLearned = async (cosine: number): Promise<{ learned: number; reaching: number }> => {
      const stored = JSON.parse((await services.artifacts.get(artifactKeys.duplicatesReport(DATASET))).toString('utf8')) as { collection: string; pairs: Array<{ a: string; b: string; tier: string; cosine?: number }> };
      const keys: string[] = [];
      for await (const point of services.qdrant.scroll(stored.collection, { dataset: DATASET, pageSize: 100 })) keys.push(point.key);
      const id = (a: string, b: string): string => (a < b ? `${a}\n${b}` : `${b}\n${a}`);
      const reported = new Set(stored.pairs.map((q) => id(q.a, q.b)));
      const reaching = new Set<string>();
      for (const [key, list] of await services.qdrant.neighboursOfKeys(stored.collection, DATASET, keys, 5)) for (const h of list) if (h.score >= cosine) reaching.add(id(key, h.key));
      for (const pair of reaching) assert.ok(reported.has(pair), `${pair.replace('\n', ' ↔ ')} reaches cosine ${cosine} but is not reported`);
      const learned = stored.pairs.filter((q) => q.tier === 'learned');
      for (const q of learned) assert.ok((q.cosine ?? 0) >= cosine - 5e-4, `learned pair below ${cosine}: ${JSON.stringify(q)}`);
      return { learned: learned.length, reaching: reaching.size };
    };

    for (const [body, field] of [
      [{ cosine: 0 }, 'body.cosine'],
      [{ fraction: 1.5 }, 'body.fraction'],
      [{ cosine: 0.9, fraction: 0.1 }, 'body.fraction'],
    ] as const) {
      const bad = await api<{ issues: Array<{ field: string }> }>('POST', `/v1/datasets/${DATASET}/duplicates`, body);
      assert.deepEqual([bad.status, bad.json.issues.map((i) => i.field)], [400, [field]], JSON.stringify(body));
    }
    const started = { json: await startPass({ fraction: 0.5 }) };
    assert.equal(started.json.pass.fraction, 0.5, JSON.stringify(started.json));
    // Joined silently at another threshold than asked it would not be: refused, naming both.
    const other = await api<{ message: string }>('POST', `/v1/datasets/${DATASET}/duplicates`, { cosine: 0.9 });
    assert.equal(other.status, 409, JSON.stringify(other.json));
    assert.match(other.json.message, /has a pass running already .* at the cosine that flags 50% of the images \(--fraction 0\.5\), not cosine ≥ 0\.9/);
    // Asking for nothing joins it.
    const join = await api<{ created: boolean }>('POST', `/v1/datasets/${DATASET}/duplicates`, {});
    assert.deepEqual([join.status, join.json.created], [200, false]);
    await waitPass(started.json.pass.passId);
    const page = (await api<Page & { report: { thresholds: Record<string, number>; fraction?: number; collection: string } }>('GET', `/v1/datasets/${DATASET}/duplicates?minTier=learned&limit=100`)).json;
    const report = page.report;
    assert.equal(report.fraction, 0.5);
    assert.equal(report.compareAll, true, 'a fraction is chosen from every image\'s nearest neighbour');
    // The threshold is the one half of the images reach with their nearest neighbour: asked of Qdrant here.
    const keys: string[] = [];
    for await (const point of services.qdrant.scroll(report.collection, { dataset: DATASET, pageSize: 100 })) keys.push(point.key);
    const top = [...(await services.qdrant.neighboursOfKeys(report.collection, DATASET, keys, 1))].map(([, list]) => list[0]?.score ?? -1);
    const cosine = report.thresholds.cosine as number;
    assert.equal(top.length, keys.length);
    const reach = top.filter((c) => c >= cosine - 1e-4).length;
    const above = top.filter((c) => c > cosine + 1e-4).length;
    assert.ok(reach >= top.length / 2 && above < top.length / 2, `cosine ${cosine}: ${reach} of ${top.length} reach it, ${above} exceed it`);
    // Judged at it: every candidate pair reaching it reported, no learned-only pair below it.
    const judged = await checkLearned(cosine);
    assert.ok(judged.learned > 0 && page.groups.some((g) => g.pairs.some((q) => q.tier === 'learned')), JSON.stringify(report.pairsByTier));

    // Asking for the default cosine by name joins a pass at the default.
    const plain = { json: await startPass({}) };
    const named = await api<{ pass: Pass; created: boolean }>('POST', `/v1/datasets/${DATASET}/duplicates`, { cosine: 0.97 });
    assert.deepEqual([named.status, named.json.created, named.json.pass.passId], [200, false, plain.json.pass.passId], JSON.stringify(named.json));
    await waitPass(plain.json.pass.passId);

    // --cosine from the command line: the pass carries it, the report holds it.
    const cli = await runCli(['dataset', 'duplicates', DATASET, '--cosine', '0.995', '--wait', '--timeout', '120', '--min-tier', 'learned', '--json'], env);
    assert.equal(cli.code, 0, cli.stderr);
    const shown = jsonOf<Page & { pass: { cosine?: number }; report: { thresholds: Record<string, number>; fraction?: number } }>(cli);
    assert.deepEqual([shown.pass.cosine, shown.report.thresholds.cosine, shown.report.fraction, shown.report.compareAll], [0.995, 0.995, undefined, true]);
    // Fewer pairs reach 0.995 than the half-share threshold (below it here), and each is judged at 0.995.
    const strict = await checkLearned(0.995);
    if (cosine < 0.995) assert.ok(strict.reaching <= judged.reaching && strict.learned <= judged.learned, `${JSON.stringify(strict)} vs ${JSON.stringify(judged)}`);
    const text = await runCli(['dataset', 'duplicates', DATASET, '--show'], env);
    assert.match(text.stdout, /^learned tier: cosine ≥ 0\.995$/m);
    assert.equal(stack.qdrantErrors(), 0);
  });
});
