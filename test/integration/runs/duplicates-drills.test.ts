// Operator drills of a queued duplicates pass, scaled down from the 3,000-photo drill of
// issue 13 (docs/duplicates.md "Queued datasets": drills), against real processes:
// redis-server (AOF), the S3 server, the schema-checked Qdrant emulator and every stage's
// `imgsim worker` process. 12 generated collages and 4 edited copies are indexed by a run;
// a clean pass gives the pairs every drilled pass must give again.
//
// Redis stopped and started again while `imgsim dataset duplicates NAME --wait` waits: the
// command used to die on its next poll ("Reached the max retries per request limit") while
// the workers rode through and the pass completed; it now says that Redis went and came
// back, as run-status --wait does, and shows the completed pass.
//
// A pass that fails (its jobs gave up: an 8 s S3 outage with 2 job attempts in the drill)
// never reaches the merge that deletes its batch files, chunks and plan: they stayed in the
// artefact store for good. The next pass's plan now removes what no ledger names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Services } from '../../../shared/services.js';
import { DuplicatePasses } from '../../../shared/runs/duplicate-passes.js';
import { StoreKeys } from '../../../shared/runs/keys.js';
import { readLedger, readReport } from '../../../pipelines/distributed/duplicates-store.js';
import { jsonOf, ROOT, runCli, type CliResult } from '../../support/cli.js';
import { startDuplicatesStack } from '../../support/duplicates-stack.js';
import type { PipelineStack } from '../../support/pipeline-stack.js';
import type { WorkerPool } from '../../support/workers.js';

const DATASET = 'drills';

/** The report's pairs as sorted "a|b tier" lines. */
const pairLines = (pairs: ReadonlyArray<{ a: string; b: string; tier: string }>): string[] => pairs.map((p) => `${p.a}|${p.b} ${p.tier}`).sort();

describe('queued duplicates pass drills', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  let stack: PipelineStack;
  let workers: WorkerPool;
  let services: Services;
  let passes: DuplicatePasses;
  let env: Record<string, string>;
  let clean: string[];

  /** `imgsim dataset duplicates DATASET …` in a child process; `onStderr` sees each chunk of its stderr. */
  const duplicatesCli = (args: string[], onStderr: (text: string) => void = () => undefined): Promise<CliResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'imgsim.js'), 'dataset', 'duplicates', DATASET, ...args], {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        onStderr(stderr);
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  /** The stored report and ledger agree with the collection: every image once, no pair twice. */
  const assertConsistent = async (images: number): Promise<void> => {
    const report = await readReport(services.artifacts, DATASET);
    const ledger = await readLedger(services.artifacts, DATASET);
    assert.ok(report && ledger);
    assert.equal(ledger.passId, report.passId);
    const keys = ledger.files.flatMap((f) => f.keys);
    assert.equal(new Set(keys).size, keys.length, 'no image twice in the ledger');
    assert.equal(keys.length, images);
    const ids = report.pairs.map((p) => `${p.a}|${p.b}`);
    assert.equal(new Set(ids).size, ids.length, 'no pair twice in the report');
    const listed: string[] = [];
    for await (const o of services.artifacts.list(`datasets/${DATASET}/duplicates/`)) listed.push(o.key);
    assert.deepEqual(listed.filter((k) => k.endsWith('.bin')).map((k) => k.split('/').pop()).sort(), ledger.files.map((f) => f.file).sort(), 'no fingerprint file left over');
    assert.deepEqual(listed.filter((k) => k.includes('/passes/')), [], 'no plan left over');
  };

  before(async () => {
    const d = await startDuplicatesStack({ dataset: DATASET, collages: 12, size: 256, seed: 700, batchSize: 4, trainSample: 16 });
    cleanups.push(() => d.stop());
    ({ stack, workers, services, env } = d);
    passes = new DuplicatePasses(services.redis);

    const first = await duplicatesCli(['--mode', 'all', '--wait', '--timeout', '300', '--json']);
    assert.equal(first.code, 0, `${first.stderr}\n${workers.logs().slice(-3000)}`);
    assert.equal(jsonOf<{ pass: { status: string } }>(first).pass.status, 'completed');
    clean = pairLines((await readReport(services.artifacts, DATASET))?.pairs ?? []);
    assert.ok(clean.includes('c03.png|edits/c03-exact.png exact'), clean.join('\n'));
    await assertConsistent(16);
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  test('files a failed pass left (batch files, its plan and folder) are removed when the next pass is planned; the ledger files stay', async () => {
    const dir = `datasets/${DATASET}/duplicates/`;
    const ledgerFiles = (await readLedger(services.artifacts, DATASET))?.files.map((f) => f.file) ?? [];
    const left = [`${dir}fingerprints/mx0failed-aaaaaa-000000.bin`, `${dir}fingerprints/mx0failed-aaaaaa-c00000.bin`, `${dir}passes/mx0failed-aaaaaa.json`, `${dir}passes/mx0failed-aaaaaa/verify-000000.json`];
    for (const key of left) await services.artifacts.put(key, 'left by a failed pass');
    const r = await duplicatesCli(['--wait', '--timeout', '300', '--json']);
    assert.equal(r.code, 0, `${r.stderr}\n${workers.logs().slice(-3000)}`);
    for (const key of left) assert.equal(await services.artifacts.exists(key), false, key);
    assert.deepEqual((await readLedger(services.artifacts, DATASET))?.files.map((f) => f.file), ledgerFiles, 'nothing new to fingerprint: the same files');
    assert.deepEqual(pairLines((await readReport(services.artifacts, DATASET))?.pairs ?? []), clean);
    await assertConsistent(16);
  });

  test('Redis stopped and started again while --wait waits: two lines, exit 0, the pass completes with the clean pass pairs', async () => {
    let polling!: () => void;
    const inLoop = new Promise<void>((resolve) => (polling = resolve));
    // The first progress line: the command is in its wait loop (a poll every 500 ms).
    const waiting = duplicatesCli(['--mode', 'all', '--wait', '--timeout', '300'], (text) => {
      if (/^pass \S+ \(all\) {2}\w+/m.test(text)) polling();
    });
    await inLoop;
    await stack.redis.outage(3_000);
    const r = await waiting;
    assert.equal(r.code, 0, `${r.stderr}\n${workers.logs().slice(-3000)}`);
    const away = r.stderr.match(/^Redis at redis:\/\/127\.0\.0\.1:\d+\/? unreachable \(.+\); waiting for it to come back$/gm) ?? [];
    const back = r.stderr.match(new RegExp(`^Redis at redis://127\\.0\\.0\\.1:\\d+/? is back after (\\d+ms|\\d+(\\.\\d)?s); still waiting for the duplicates pass of dataset ${DATASET}$`, 'gm')) ?? [];
    assert.deepEqual([away.length, back.length], [1, 1], r.stderr);
    assert.doesNotMatch(r.stderr, /imgsim: |Error:|\[ioredis\]/, 'no error, no dump');
    assert.match(r.stdout, /^pass \S+ \(all\) {2}completed {2}16 images, 16\/16 fingerprinted/m);
    const pass = await passes.get(DATASET);
    assert.equal(pass?.status, 'completed');
    assert.deepEqual(pairLines((await readReport(services.artifacts, DATASET))?.pairs ?? []), clean);
    await assertConsistent(16);
  });

  test('--wait with no duplicates worker: says none is running once the pass stops moving; past --timeout exit 1 (not a usage error) naming --timeout; the pass goes on once a worker is back', async () => {
    await workers.kill('duplicates');
    try {
      const started = await duplicatesCli(['--mode', 'all', '--json']);
      assert.equal(started.code, 0, started.stderr);
      // The pass as it looks two minutes later with nobody taking its jobs.
      const passId = jsonOf<{ pass: { passId: string } }>(started).pass.passId;
      assert.equal((await passes.get(DATASET))?.passId, passId);
      await services.redis.hset(new StoreKeys(services.config.queuePrefix).datasetDuplicates(DATASET), 'updatedAt', new Date(Date.now() - 120_000).toISOString());
      const r = await duplicatesCli(['--wait', '--timeout', '1']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /queued {2}\(no change for [^:]+: no duplicates worker is running — start one \(imgsim worker duplicates\)\)/);
      assert.match(r.stderr, /--timeout: the pass \S+ was not done after 1 s \(status \w+\); imgsim dataset duplicates \S+ --show follows it/);
    } finally {
      workers.start('duplicates');
    }
    const done = await duplicatesCli(['--wait', '--timeout', '300', '--json']);
    assert.equal(done.code, 0, `${done.stderr}\n${workers.logs().slice(-3000)}`);
    assert.deepEqual(pairLines((await readReport(services.artifacts, DATASET))?.pairs ?? []), clean);
  });

  test('imgsim duplicates --dataset: starts (joins) the pass on the workers, waits, prints the groups as imgsim dataset duplicates --show; --dismiss of a key not in the dataset: exit 2', async () => {
    const typo = await runCli(['duplicates', '--dataset', DATASET, '--dismiss', 'c01.png', 'c01-rotate.jpg'], env);
    assert.equal(typo.code, 2, typo.stderr);
    assert.match(typo.stderr, new RegExp(`^imgsim: --dismiss: "c01-rotate.jpg" is not an image of dataset ${DATASET}( — see imgsim duplicates --help)?\\n$`));
    const r = await runCli(['duplicates', '--dataset', DATASET, '--json'], env);
    assert.equal(r.code, 0, `${r.stderr}\n${workers.logs().slice(-3000)}`);
    const page = jsonOf<{ pass: { status: string }; groups: unknown[] }>(r);
    assert.equal(page.pass.status, 'completed');
    const shown = await duplicatesCli(['--show', '--json']);
    assert.deepEqual(page.groups, jsonOf<{ groups: unknown[] }>(shown).groups);
    assert.deepEqual(pairLines((await readReport(services.artifacts, DATASET))?.pairs ?? []), clean);
  });
});
