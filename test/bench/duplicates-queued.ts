// A queued duplicates pass at real size (issue 13 point 3), against the single-process
// path on the same images. For each --sizes N: N images — real photos (../shared/photos-dev,
// at most N/2 of them) and seeded edited copies of them (rotate, crop, rescale, JPEG,
// brightness, flip, identical copy: shared/images/edits.ts), cached under the bench cache —
// uploaded to the S3 server of a fresh pipeline stack (Redis, S3 server, Qdrant emulator in
// this process, every stage's worker process, one each); a queued run indexes them (a model
// trained on a small sample: the learned tier is not what is measured), then one
// `imgsim dataset duplicates --mode all --wait` pass is timed. Printed per N: the pass's wall
// time and its steps, pair precision / recall against the known copies, the peak RSS of the
// duplicates worker (its VmHWM: candidates, verify and merge steps all ran in it) and of the
// fingerprint worker, the worst event-loop block of the pairs / verify steps, what a verify
// job read of the fingerprint files (bytes and GETs: report.verifyReads); and the same
// images through findDuplicates in this process before the stack starts (the single-process
// path the queued pass replaced: every fingerprint held at once), with the ratios. With
// --fraction X, a second pass at that learned threshold follows (nothing new to fingerprint;
// every pair compared again): its time against the first pass's, the cosine it chose, and
// how many of its learned-only pairs are an original and its copy (the learned tier means
// something only with a model trained longer than the default 1 epoch on 200 images:
// --epochs, --train-sample).
//
//   npm run bench:duplicates-queued [-- --sizes 1000,3000 --photos ../shared/photos-dev --skip-baseline --fraction 0.05 --epochs 5 --train-sample 1000]
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findDuplicates } from '../../pipelines/duplicates.js';
import { DEFAULT_THRESHOLDS, DUPLICATE_NFEATURES, DUPLICATE_WORKING_SIZE } from '../../shared/duplicates/tiers.js';
import { makeDuplicate } from '../../shared/images/edits.js';
import { STAGES } from '../../shared/jobs/contracts.js';
import { createRng, shuffleInPlace } from '../../shared/random.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import { openS3Storage } from '../../shared/storage/s3/index.js';
import { jsonOf, runCli } from '../support/cli.js';
import { ARTIFACTS_URI, startPipelineStack } from '../support/pipeline-stack.js';
import { startWorkers, watchPeakRss } from '../support/workers.js';
import { CACHE_ROOT, machineLine, peakRssMiB, stringOption, table } from './common.js';

const argv = process.argv.slice(2);
const SIZES = (stringOption(argv, 'sizes', '1000,3000') ?? '1000,3000').split(',').map((s) => Number.parseInt(s, 10));
const PHOTOS = path.resolve(stringOption(argv, 'photos', '../shared/photos-dev') ?? '../shared/photos-dev');
const SKIP_BASELINE = argv.includes('--skip-baseline');
const FRACTION = stringOption(argv, 'fraction', undefined);
const EPOCHS = stringOption(argv, 'epochs', '1') ?? '1';
const TRAIN_SAMPLE = stringOption(argv, 'train-sample', '200') ?? '200';
const KINDS = ['rotate', 'crop', 'scale', 'jpeg', 'brightness', 'flip', 'exact'] as const;
const DATASET = 'dupbench';

async function buildSet(n: number): Promise<{ dir: string; keys: string[]; truth: Map<string, string> }> {
  const photos = (await readdir(PHOTOS)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  const originals = photos.slice(0, Math.min(photos.length, Math.ceil(n / 2)));
  const dir = path.join(CACHE_ROOT, `duplicates-queued-v1-${n}`);
  const keys = originals.map((f) => `originals/${f}`);
  const truth = new Map<string, string>();
  const rng = createRng(17);
  const order = shuffleInPlace([...originals], rng);
  const plan: Array<{ key: string; from: string; kind: (typeof KINDS)[number] }> = [];
  for (let i = 0; keys.length < n; i++) {
    const from = order[i % order.length] as string;
    const kind = KINDS[i % KINDS.length] as (typeof KINDS)[number];
    const key = `edits/${path.parse(from).name}-${i}-${kind}.jpg`;
    plan.push({ key, from, kind });
    keys.push(key);
    truth.set(key, `originals/${from}`);
  }
  if (!existsSync(path.join(dir, '.complete'))) {
    await mkdir(path.join(dir, 'originals'), { recursive: true });
    await mkdir(path.join(dir, 'edits'), { recursive: true });
    for (const f of originals) await copyFile(path.join(PHOTOS, f), path.join(dir, 'originals', f));
    for (const p of plan) {
      const tmp = path.join(dir, `${p.key}.tmp`);
      await writeFile(tmp, await makeDuplicate(await readFile(path.join(PHOTOS, p.from)), p.kind, rng));
      await rename(tmp, path.join(dir, p.key));
    }
    await writeFile(path.join(dir, '.complete'), '');
  }
  return { dir, keys, truth };
}

/** Pair precision / recall of pairs (verified tier and up) against the known families. */
function score(pairs: ReadonlyArray<{ a: string; b: string; tier: string }>, keys: readonly string[], truth: ReadonlyMap<string, string>): { precision: number; recall: number; pairs: number } {
  const family = (k: string): string => truth.get(k) ?? k;
  // Groups (connected components) as the report reads them, then every pair within each.
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let r = k;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r) as string;
    return r;
  };
  for (const q of pairs) if (q.tier !== 'learned') parent.set(find(q.a), find(q.b));
  const groups = new Map<string, string[]>();
  for (const k of new Set(pairs.flatMap((q) => [q.a, q.b]))) groups.set(find(k), [...(groups.get(find(k)) ?? []), k]);
  let tp = 0;
  let predicted = 0;
  for (const g of groups.values()) {
    for (let i = 0; i < g.length; i++) {
      for (let j = i + 1; j < g.length; j++) {
        predicted++;
        if (family(g[i] as string) === family(g[j] as string)) tp++;
      }
    }
  }
  const sizes = new Map<string, number>();
  for (const k of keys) sizes.set(family(k), (sizes.get(family(k)) ?? 0) + 1);
  const truePairs = [...sizes.values()].reduce((s, m) => s + (m * (m - 1)) / 2, 0);
  return { precision: predicted ? tp / predicted : 1, recall: truePairs ? tp / truePairs : 1, pairs: predicted };
}

console.log(`bench:duplicates-queued — sizes ${SIZES.join(', ')}; photos from ${PHOTOS}; model: ${EPOCHS} epoch(s) on ${TRAIN_SAMPLE} images; ${machineLine()}`);
const rows: string[][] = [['path', 'N', 'precision', 'recall', 'wall s', 'steps (load / candidates / verify s)', 'pairs-step + verify peak RSS MiB', 'fingerprint worker peak MiB', 'worst loop block ms', 'verify reads a job (MB / GETs)']];
for (const n of SIZES) {
  const set = await buildSet(n);
  let baseline: { seconds: number; pairsSeconds: number; rss: number; precision: number; recall: number } | undefined;
  if (!SKIP_BASELINE) {
    const settings = { thresholds: DEFAULT_THRESHOLDS, minTier: 'verified' as const, candidates: 5, workingSize: DUPLICATE_WORKING_SIZE, nfeatures: DUPLICATE_NFEATURES, maxPixels: 1e8, concurrency: 2 };
    const t = performance.now();
    const report = await findDuplicates(set.keys.map((key) => ({ key, load: () => readFile(path.join(set.dir, key)) })), settings);
    const pairs = report.groups.flatMap((g) => g.pairs.map((q) => ({ a: q.a, b: q.b, tier: q.tier })));
    const s = score(pairs, set.keys, set.truth);
    printFalsePairs(report.groups.flatMap((g) => g.pairs), set.truth);
    baseline = { seconds: (performance.now() - t) / 1000, pairsSeconds: report.seconds.pairs, rss: peakRssMiB(), ...s };
    rows.push(['single process (findDuplicates)', String(n), s.precision.toFixed(4), s.recall.toFixed(4), baseline.seconds.toFixed(1), `fingerprints ${report.seconds.fingerprint.toFixed(1)} / pairs ${report.seconds.pairs.toFixed(1)}`, `${baseline.rss.toFixed(0)} (this process, every fingerprint held)`, '—', '—', '—']);
    console.log(table([rows[0] as string[], rows.at(-1) as string[]]));
  }
  const stack = await startPipelineStack({ IMGSIM_JOB_BATCH_SIZE: '64', IMGSIM_TRAIN_SAMPLE: TRAIN_SAMPLE, IMGSIM_EPOCHS: EPOCHS });
  const workers = startWorkers(stack.env, STAGES);
  try {
    const src = await openS3Storage('s3://imgsim-src/photos/', stack.s3cfg);
    for (const key of set.keys) await src.put(key, await readFile(path.join(set.dir, key)));
    const enq = await runCli(['enqueue', 's3://imgsim-src/photos', '--dataset', DATASET, '--train', '--json'], stack.env);
    const id = jsonOf<{ id: string }>(enq).id;
    const run = await runCli(['run-status', id, '--wait', '--timeout', '3600', '--json'], stack.env);
    if (run.code !== 0) throw new Error(`run failed: ${run.stderr}\n${workers.logs().slice(-2000)}`);
    const watch = watchPeakRss(() => ({ duplicates: workers.pid('duplicates'), fingerprint: workers.pid('fingerprint') }));
    const t = performance.now();
    const pass = await runCli(['dataset', 'duplicates', DATASET, '--mode', 'all', '--wait', '--timeout', '3600', '--json'], stack.env);
    const wall = (performance.now() - t) / 1000;
    const peaks = watch.stop();
    if (pass.code !== 0) throw new Error(`pass failed: ${pass.stderr}\n${workers.logs().slice(-3000)}`);
    const stored = await readStoredReport(stack, DATASET);
    const summary = stored;
    const s = score(stored.pairs, set.keys, set.truth);
    const reads = stored.verifyReads;
    rows.push([
      'queued (sparse words in Qdrant, verify jobs)',
      String(n),
      s.precision.toFixed(4),
      s.recall.toFixed(4),
      wall.toFixed(1),
      `${summary?.seconds.load ?? '?'} / ${summary?.seconds.candidates ?? '?'} / ${summary?.seconds.pairs ?? '?'}`,
      `${summary?.memory.peakRssMiB ?? '?'} (duplicates worker VmHWM ${peaks.duplicates?.hwmMiB.toFixed(0) ?? '?'})`,
      peaks.fingerprint?.hwmMiB.toFixed(0) ?? '?',
      summary?.memory.worstBlock ? `${summary.memory.worstBlock.ms} (cpu ${summary.memory.worstBlock.cpuMs}, ${summary.memory.worstBlock.during})` : String(summary?.memory.worstBlockMs ?? '?'),
      reads ? `${(reads.bytes / reads.jobs / 1e6).toFixed(2)} / ${(reads.requests / reads.jobs).toFixed(1)} (${reads.jobs} jobs, ${(reads.bytes / 1e6).toFixed(1)} MB in all)` : '?',
    ]);
    printFalsePairs(stored.pairs, set.truth);
    if (baseline) rows.push(['ratio queued / single', String(n), '', `${(s.recall / baseline.recall).toFixed(3)}×`, `${(wall / baseline.seconds).toFixed(2)}×`, '', `${((summary?.memory.peakRssMiB ?? 0) / baseline.rss).toFixed(2)}×`, '', '', '']);
    console.log(table([rows[0] as string[], ...rows.slice(-2)]));
    if (FRACTION !== undefined) await fractionPass(stack, set, wall, stored);
  } finally {
    await workers.stop();
    await stack.stop();
  }
}
console.log(table(rows));

/** A second pass at --fraction: its time against the first's, the threshold it chose, what its learned-only pairs are. */
async function fractionPass(stack: Awaited<ReturnType<typeof startPipelineStack>>, set: { keys: string[]; truth: Map<string, string> }, firstWall: number, first: StoredReport): Promise<void> {
  const family = (k: string): string => set.truth.get(k) ?? k;
  const learnedOf = (r: StoredReport): { all: number; copies: number } => {
    const learned = r.pairs.filter((q) => q.tier === 'learned');
    return { all: learned.length, copies: learned.filter((q) => family(q.a) === family(q.b)).length };
  };
  const t = performance.now();
  const pass = await runCli(['dataset', 'duplicates', DATASET, '--fraction', String(FRACTION), '--wait', '--timeout', '3600', '--json'], stack.env);
  const wall = (performance.now() - t) / 1000;
  if (pass.code !== 0) throw new Error(`--fraction pass failed: ${pass.stderr}`);
  const r = await readStoredReport(stack, DATASET);
  const s = score(r.pairs, set.keys, set.truth);
  const [before, after] = [learnedOf(first), learnedOf(r)];
  // Every pair whose embeddings reach the threshold, by the tier it was reported in (a stronger one when ORB or the hashes confirmed it).
  const reaching = new Map<string, number>();
  for (const q of r.pairs) if (q.cosine !== undefined && q.cosine >= r.thresholds.cosine - 5e-4) reaching.set(q.tier, (reaching.get(q.tier) ?? 0) + 1);
  console.log(
    [
      `--fraction ${FRACTION} pass (every pair compared again, nothing fingerprinted): ${wall.toFixed(1)} s, ${(wall / firstWall).toFixed(2)}× the --mode all pass's ${firstWall.toFixed(1)} s; steps ${r.seconds.load} / ${r.seconds.candidates} / ${r.seconds.pairs} s`,
      `  learned threshold chosen: cosine ≥ ${r.thresholds.cosine} (fraction ${r.fraction ?? '?'}; the default is ${first.thresholds.cosine})`,
      `  learned-only pairs: ${after.all}, ${after.copies} of them an original and its copy (at the default threshold: ${before.all}, ${before.copies})`,
      `  pairs at or above it (cosine to 3 decimals), by tier: ${[...reaching].map(([tier, c]) => `${tier} ${c}`).join(', ') || 'none'}`,
      `  verified tier and up unchanged by the threshold: precision ${s.precision.toFixed(4)}, recall ${s.recall.toFixed(4)}`,
    ].join('\n'),
  );
}

/** Pairs (verified tier and up) joining two different families: what costs precision, with its evidence. */
function printFalsePairs(pairs: StoredReport['pairs'], truth: ReadonlyMap<string, string>): void {
  const family = (k: string): string => truth.get(k) ?? k;
  const wrong = pairs.filter((q) => q.tier !== 'learned' && family(q.a) !== family(q.b));
  console.log(`pairs joining different families: ${wrong.length}`);
  for (const q of wrong.slice(0, 30)) {
    const evidence = [q.distance !== undefined ? `d=${q.distance}${q.mirrored ? ' mirror' : ''}` : '', q.inliers !== undefined ? `${q.inliers} inliers` : '', q.correlation !== undefined ? `corr ${q.correlation}` : '', q.cosine !== undefined ? `cos ${q.cosine}` : ''].filter(Boolean);
    console.log(`  ${q.tier}  ${q.a}  ${q.b}  ${evidence.join(', ')}`);
  }
}

interface StoredReport {
  thresholds: { cosine: number };
  fraction?: number;
  pairs: Array<{ a: string; b: string; tier: string; inliers?: number; correlation?: number; distance?: number; mirrored?: boolean; cosine?: number }>;
  seconds: Record<string, number>;
  memory: { peakRssMiB: number; worstBlockMs?: number; worstBlock?: { ms: number; cpuMs: number; during: string } };
  /** Fingerprint bytes and GETs of the verify jobs (pipelines/distributed/duplicates-records.ts). */
  verifyReads?: { bytes: number; requests: number; jobs: number };
}

async function readStoredReport(stack: Awaited<ReturnType<typeof startPipelineStack>>, dataset: string): Promise<StoredReport> {
  const artifacts = await openS3Storage(ARTIFACTS_URI, stack.s3cfg);
  return JSON.parse((await artifacts.get(artifactKeys.duplicatesReport(dataset))).toString('utf8')) as StoredReport;
}
