// The local mode at scale (issue 12, deliverable 3):
//   (a) search latency per query over N synthetic clustered 1,024-d rows (default 100k and
//       1M): the FlatIndex as it was before issue 12 (its per-row loop, copied here as the
//       baseline) against today's exact searchSync (one thread), the exact scan over worker
//       threads, and `search` on a large index (int8 wasm SIMD candidates re-ranked
//       exactly), with its recall@10 against the exact answer; then the first query of a
//       fresh process on the index saved as a folder (what a one-shot `imgsim search` pays):
//       FlatIndex.load and the first `search`, without and with the int8 copy stored beside
//       embeddings.npy (embeddings.int8, written as the local run writes it), each in its
//       own child process;
//   (b) peak RSS of an `imgsim run`-equivalent (runLocal: list, train on the seeded sample,
//       embed streamed into embeddings.npy, the index read back; no cluster stage — its
//       memory is the cluster benchmark's) on N generated 64×64 JPEGs, each N in its own
//       child process, with the growth of peak RSS against N and the size of the vectors.
// Prints figures and ratios; asserts no timing.
//
//   npm run bench:local-scale [-- --rows=100000,1000000 --queries=10 --images=2000,20000 --train-sample=300]
//   npm run bench:local-scale -- --images=100000 --rows=0      (the 100k-image target)
//   npm run bench:local-scale -- --rows=1000000 --images=0     (search at 1M only)
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { mapConcurrent } from '../../shared/concurrency.js';
import { loadConfig } from '../../shared/config/load.js';
import { initBackend } from '../../shared/model/backend.js';
import { TopK } from '../../shared/vectors/top-k.js';
import { LocalStorage } from '../../shared/storage/local.js';
import { FlatIndex } from '../../shared/vectors/flat-index.js';
import { FlatIndexWriter } from '../../shared/vectors/flat-index-writer.js';
import { INT8_FILE } from '../../shared/vectors/int8-file.js';
import { scanThreads } from '../../shared/vectors/parallel-scan.js';
import { runLocal } from '../../pipelines/local-run.js';
import { CACHE_ROOT, intOption, machineLine, median, option, syntheticRows, table } from './common.js';

const argv = process.argv.slice(2);
const DIM = intOption(argv, 'dim', 1024);

// ---------------------------------------------------------------------------------
// (a) search

/** FlatIndex.searchSync before issue 12: per-row key checks, one running sum. */
function baselineSearch(keys: readonly string[], data: Float32Array, norms: Float32Array, d: number, q: Float32Array, k: number): string[] {
  let qq = 0;
  for (let j = 0; j < d; j++) qq += (q[j] as number) * (q[j] as number);
  const qn = Math.sqrt(qq);
  const top = new TopK(k);
  const exclude = new Set<string>();
  const folder = '';
  for (let r = 0; r < keys.length; r++) {
    const key = keys[r] as string;
    if (exclude.has(key)) continue;
    if (folder !== '' && !key.startsWith(folder)) continue;
    const denom = qn * (norms[r] as number);
    let s = 0;
    for (let j = 0; j < d; j++) s += (q[j] as number) * (data[r * d + j] as number);
    top.push(r, denom > 0 ? s / denom : 0);
  }
  return top.sorted().map((x) => keys[x.item] as string);
}

async function searchBench(rows: number, queries: number): Promise<{ line: string[]; firstQuery: string[] }> {
  const t0 = performance.now();
  const data = syntheticRows(rows, DIM, 7);
  const keys = Array.from({ length: rows }, (_, i) => `img/${String(i).padStart(7, '0')}.jpg`);
  const index = FlatIndex.adopt(keys, data, DIM);
  const norms = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < DIM; j++) s += (data[r * DIM + j] as number) ** 2;
    norms[r] = Math.sqrt(s);
  }
  const build = (performance.now() - t0) / 1000;
  const qs = Array.from({ length: queries }, (_, i) => data.slice(((i * 7919) % rows) * DIM, (((i * 7919) % rows) + 1) * DIM).map((x, j) => x + ((j * 31 + i) % 7) * 0.01));
  const time = (f: (q: Float32Array) => unknown, n: number) => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      f(qs[i % qs.length] as Float32Array);
      ms.push(performance.now() - t);
    }
    return median(ms);
  };
  const timeAsync = async (f: (q: Float32Array) => Promise<unknown>, n: number) => {
    await f(qs[0] as Float32Array); // starts the workers
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await f(qs[i % qs.length] as Float32Array);
      ms.push(performance.now() - t);
    }
    return median(ms);
  };
  const baseN = Math.min(queries, 3);
  const base = time((q) => baselineSearch(keys, data, norms, DIM, q, 10), baseN);
  const sync = time((q) => index.searchSync(q, { k: 10 }), Math.min(queries, 5));
  index.largeFrom = 0;
  index.int8 = false;
  const par = await timeAsync((q) => index.search(q, { k: 10 }), Math.min(queries, 5));
  index.int8 = true;
  const t1 = performance.now();
  await index.search(qs[0] as Float32Array, { k: 10 }); // builds the int8 copy
  const int8Build = (performance.now() - t1) / 1000;
  const int8 = await timeAsync((q) => index.search(q, { k: 10 }), queries);
  let same = true;
  let found = 0;
  for (const q of qs) {
    const want = index.searchSync(q, { k: 10 }).map((n) => n.key);
    if (same && q === qs[0]) same = want.join() === baselineSearch(keys, data, norms, DIM, q, 10).join();
    const got = new Set((await index.search(q, { k: 10 })).map((n) => n.key));
    found += want.filter((key) => got.has(key)).length;
  }
  const line = [
    rows.toLocaleString('en'),
    build.toFixed(1),
    base.toFixed(0),
    sync.toFixed(0),
    `${(base / sync).toFixed(2)}×`,
    par.toFixed(0),
    `${(base / par).toFixed(2)}×`,
    `${int8Build.toFixed(1)}`,
    int8.toFixed(0),
    `${(base / int8).toFixed(1)}×`,
    (found / (10 * qs.length)).toFixed(3),
    same ? 'yes' : 'NO',
  ];
  return { line, firstQuery: await firstQueryBench(index, qs) };
}

interface FirstQuery {
  loadS: number;
  firstS: number;
  nextMs: number;
  copy: string;
  keys: string[];
}

/**
 * The index saved as a folder (embeddings.npy + ids.json streamed a chunk at a time, as the
 * local run writes them), then a fresh process loads it and asks one query, then another:
 * without embeddings.int8 (the copy built at the first query), and with it (written by
 * saveSearchCopy, as the local run does after the embed stage).
 */
async function firstQueryBench(index: FlatIndex, qs: readonly Float32Array[]): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-local-scale-index-'));
  try {
    const folder = new LocalStorage(dir);
    const keys = index.allKeys();
    const view = index.view();
    const t0 = performance.now();
    const writer = await FlatIndexWriter.create(folder, DIM);
    const CHUNK = 8192;
    for (let r = 0; r < keys.length; r += CHUNK) await writer.append(keys.slice(r, r + CHUNK), view.subarray(r * DIM, Math.min(keys.length, r + CHUNK) * DIM));
    await writer.close();
    const writeNpy = (performance.now() - t0) / 1000;
    const queryFile = path.join(dir, 'queries.json');
    await writeFile(queryFile, JSON.stringify(qs.slice(0, 2).map((q) => Array.from(q))));
    const without = await firstQueryChild(dir, queryFile);
    const t1 = performance.now();
    const wrote = await index.saveSearchCopy(folder);
    const writeCopy = (performance.now() - t1) / 1000;
    const copyMiB = wrote ? (await stat(folder.resolveKey(INT8_FILE))).size / 2 ** 20 : 0;
    const withCopy = await firstQueryChild(dir, queryFile);
    const same = without.keys.join() === withCopy.keys.join();
    return [
      keys.length.toLocaleString('en'),
      writeNpy.toFixed(1),
      without.loadS.toFixed(1),
      `${without.firstS.toFixed(2)} (${without.copy})`,
      without.nextMs.toFixed(0),
      wrote ? writeCopy.toFixed(1) : 'not written',
      copyMiB.toFixed(0),
      withCopy.loadS.toFixed(1),
      `${withCopy.firstS.toFixed(2)} (${withCopy.copy})`,
      withCopy.nextMs.toFixed(0),
      `${(without.firstS / withCopy.firstS).toFixed(1)}×`,
      same ? 'yes' : 'NO',
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function firstQueryChild(dir: string, queryFile: string): Promise<FirstQuery> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child-first-query', dir, queryFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`first query on ${dir} exited ${code}`);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as FirstQuery;
}

/** Child mode: load the index folder, time the first and the second query, as JSON on stdout. */
async function childFirstQuery(dir: string, queryFile: string): Promise<void> {
  const [q1, q2] = (JSON.parse(await readFile(queryFile, 'utf8')) as number[][]).map((q) => Float32Array.from(q)) as [Float32Array, Float32Array];
  const t0 = performance.now();
  const index = await FlatIndex.load(new LocalStorage(dir));
  const t1 = performance.now();
  const first = await index.search(q1, { k: 10 });
  const t2 = performance.now();
  await index.search(q2, { k: 10 });
  const t3 = performance.now();
  const result: FirstQuery = { loadS: (t1 - t0) / 1000, firstS: (t2 - t1) / 1000, nextMs: t3 - t2, copy: index.int8Copy() ?? 'none', keys: first.map((n) => n.key) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------------
// (b) imgsim run's peak RSS

async function ensureSmallImages(count: number): Promise<string> {
  const dir = path.join(CACHE_ROOT, `small-64-v1-n${count}`);
  await mkdir(dir, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => `${String(Math.floor(i / 1000)).padStart(4, '0')}/${String(i).padStart(7, '0')}.jpg`);
  const present = new Set<string>();
  for (const sub of await readdir(dir)) for (const f of await readdir(path.join(dir, sub)).catch(() => [])) present.add(`${sub}/${f}`);
  await mapConcurrent(names.filter((n) => !present.has(n)), 8, async (name) => {
    const file = path.join(dir, name);
    const i = Number(path.basename(name, '.jpg'));
    await mkdir(path.dirname(file), { recursive: true });
    // A smooth 4×4 colour field upscaled, plus noise: a different picture per index.
    const raw = Buffer.alloc(4 * 4 * 3);
    let s = (i * 2654435761) >>> 0 || 1;
    for (let j = 0; j < raw.length; j++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      raw[j] = (s >>> 0) & 255;
    }
    const bytes = await sharp(raw, { raw: { width: 4, height: 4, channels: 3 } }).resize(64, 64, { kernel: 'cubic' }).jpeg({ quality: 85 }).toBuffer();
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  });
  return dir;
}

/** Child mode: one local run, then its peak RSS (VmHWM) as JSON on stdout. */
async function childRun(source: string, out: string): Promise<void> {
  const config = loadConfig(process.env, {
    imageSize: 64,
    epochs: 1,
    trainSample: Number(option(argv, 'train-sample', '300')),
    logLevel: 'warn',
  });
  await initBackend(config.backend);
  const r = await runLocal({ source, out, config, cluster: false, progressBar: false });
  const status = await readFile('/proc/self/status', 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
  process.stdout.write(`${JSON.stringify({ images: r.embedded.keys.length, dim: r.embedded.dim, peakMiB: hwm, seconds: r.seconds })}\n`);
}

async function runBench(count: number): Promise<{ images: number; dim: number; peakMiB: number; seconds: { total: number; embed: number; train: number } }> {
  const source = await ensureSmallImages(count);
  const out = await mkdtemp(path.join(os.tmpdir(), 'imgsim-local-scale-'));
  try {
    const self = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, ['--import', 'tsx', self, '--child-run', source, out, `--train-sample=${option(argv, 'train-sample', '300')}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`local run on ${count} images exited ${code}`);
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Awaited<ReturnType<typeof runBench>>;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const firstAt = argv.indexOf('--child-first-query');
  if (firstAt >= 0) return childFirstQuery(argv[firstAt + 1] as string, argv[firstAt + 2] as string);
  const childAt = argv.indexOf('--child-run');
  if (childAt >= 0) return childRun(argv[childAt + 1] as string, argv[childAt + 2] as string);
  const rowsList = option(argv, 'rows', '100000,1000000').split(',').map(Number).filter((n) => n > 0);
  const imagesList = option(argv, 'images', '2000,20000').split(',').map(Number).filter((n) => n > 0);
  const queries = intOption(argv, 'queries', 10);
  console.log(machineLine());
  if (rowsList.length > 0) {
    console.log(`\n(a) search, k = 10, ${DIM}-d clustered synthetic rows, median ms per query; worker threads: ${scanThreads()}`);
    const lines = [['rows', 'build s', 'before ms', 'exact 1 thread ms', 'vs before', `exact ${scanThreads()} threads ms`, 'vs before', 'int8 copy s', 'int8 + re-rank ms', 'vs before', 'recall@10', 'exact = before']];
    const first = [['rows', 'write npy s', 'no copy: load s', 'first query s', 'next ms', 'write int8 copy s', 'copy MiB', 'with copy: load s', 'first query s', 'next ms', 'first query vs no copy', 'same answer']];
    for (const rows of rowsList) {
      const r = await searchBench(rows, queries);
      lines.push(r.line);
      first.push(r.firstQuery);
    }
    console.log(table(lines));
    console.log('\n(a2) a fresh process on the index saved as a folder: FlatIndex.load, then the first and the next query (k = 10); without, then with embeddings.int8 beside embeddings.npy');
    console.log(table(first));
    console.log(`load average after: ${(await readFile('/proc/loadavg', 'utf8')).trim()}`);
  }
  if (imagesList.length > 0) {
    console.log('\n(b) runLocal (list, train 1 epoch on the seeded sample, streamed embed, index read back; no cluster) on generated 64×64 JPEGs');
    const lines = [['images', 'dim', 'vectors MiB', 'peak RSS MiB', 'peak − vectors MiB', 'embed s', 'total s']];
    const results = [];
    for (const n of imagesList) {
      const r = await runBench(n);
      results.push(r);
      const vec = (r.images * r.dim * 4) / 2 ** 20;
      lines.push([String(r.images), String(r.dim), vec.toFixed(0), r.peakMiB.toFixed(0), (r.peakMiB - vec).toFixed(0), r.seconds.embed.toFixed(1), r.seconds.total.toFixed(1)]);
    }
    console.log(table(lines));
    if (results.length >= 2) {
      const [a, b] = [results[0], results.at(-1)] as [(typeof results)[number], (typeof results)[number]];
      const perImage = ((b.peakMiB - a.peakMiB) * 2 ** 20) / (b.images - a.images);
      console.log(`growth of peak RSS: ${perImage.toFixed(0)} bytes per image between ${a.images} and ${b.images} images (the vectors alone: ${b.dim * 4} bytes); exponent ${(Math.log(b.peakMiB / a.peakMiB) / Math.log(b.images / a.images)).toFixed(2)}`);
    }
  }
}

await main();
process.exit(0);
