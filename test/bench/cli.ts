// The command line's responsiveness (issue 15, deliverable 2):
//   (a) start-up: `imgsim --help`, `--version`, a command's --help and flag-validation
//       errors of several commands (each must exit 2 with the flag named), as the median
//       wall time of --runs runs through the compiled build (bin/imgsim.js → dist/) and
//       through the TypeScript entry (node --import tsx bin/imgsim.ts: what bin/imgsim.js
//       ran before), interleaved in the same run, with their ratio; `node -e 0` gives
//       node's own start-up under the machine's load at that moment.
//       Targets: --help and --version ≤ 0.3 s, flag validation ≤ 0.5 s.
//   (b) search on a --rows-row local index (default 100k × 1,024: the real rows of a small
//       model's index of --images generated photos, the rest synthetic rows of the same
//       dimension, so the scan and the int8 copy are those of a 100k index while the
//       neighbours found are real images): one query per call, and --queries queries in
//       one call, without and with contact sheets. Per query once the index and model are
//       open: the command's own "search done" line (the call's time after opening / Q),
//       checked against (T(Q queries) − T(1 query)) / (Q − 1). Target: ≤ 50 ms.
// Prints figures and ratios; asserts exit codes and outputs, no timing.
//
//   npm run bench:cli [-- --runs=10 --rows=100000 --queries=50 --images=64 --search-runs=3]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsFresh } from '../../bin/build-state.mjs';
import { readNpyFile } from '../../shared/npy.js';
import { LocalStorage } from '../../shared/storage/local.js';
import { FlatIndex } from '../../shared/vectors/flat-index.js';
import { CACHE_ROOT, ensureJpegSet, intOption, machineLine, median, syntheticRows, table } from './common.js';

const argv = process.argv.slice(2);
const RUNS = intOption(argv, 'runs', 10);
const ROWS = intOption(argv, 'rows', 100_000, 0);
const QUERIES = intOption(argv, 'queries', 50, 2);
const SEARCH_RUNS = intOption(argv, 'search-runs', 3);
const IMAGES = intOption(argv, 'images', 64, QUERIES);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const COMPILED = [path.join(ROOT, 'bin', 'imgsim.js')];
const TSX = ['--import', 'tsx', path.join(ROOT, 'bin', 'imgsim.ts')];
const ENV: NodeJS.ProcessEnv = { ...process.env, IMGSIM_LOG_LEVEL: 'warn' };
delete ENV.NODE_OPTIONS;

interface Outcome {
  seconds: number;
  /** CPU seconds (user + system) of the process, when /proc tells (Linux); 10 ms resolution. */
  cpu: number | undefined;
  code: number | null;
  stdout: string;
  stderr: string;
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds of this process's waited-for children so far (cutime + cstime of /proc/self/stat). */
function childrenCpu(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

function run(nodeArgs: readonly string[], args: readonly string[]): Outcome {
  const cpu0 = childrenCpu();
  const t = performance.now();
  const r = spawnSync(process.execPath, [...nodeArgs, ...args], { cwd: ROOT, env: ENV, encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t) / 1000;
  const cpu1 = childrenCpu();
  if (r.error) throw r.error;
  return { seconds, cpu: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined, code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Build dist/ when it is missing or older than the sources (someone edited them): the compiled path must be what is timed. */
function ensureFreshBuild(): void {
  if (buildIsFresh(ROOT)) return;
  process.stdout.write('dist/ is missing or stale: npm run build\n');
  const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (b.status !== 0 || !buildIsFresh(ROOT)) throw new Error('npm run build failed');
}

function expectOutcome(what: string, o: Outcome, code: number, pattern: RegExp): void {
  const text = code === 0 ? o.stdout : o.stderr;
  if (o.code !== code || !pattern.test(text)) {
    throw new Error(`${what}: expected exit ${code} and ${pattern}, got exit ${o.code}\nstdout: ${o.stdout.slice(0, 2000)}\nstderr: ${o.stderr.slice(0, 2000)}`);
  }
}

// ---------------------------------------------------------------------------------
// (a) start-up

interface Case {
  name: string;
  args: string[];
  code: number;
  pattern: RegExp;
  /** Seconds the issue allows. */
  target: number;
}

function startupCases(tmp: string): Case[] {
  const missing = path.join(tmp, 'nonexistent');
  const out = path.join(tmp, 'out');
  return [
    { name: '--help', args: ['--help'], code: 0, pattern: /Usage: imgsim/, target: 0.3 },
    { name: '--version', args: ['--version'], code: 0, pattern: /^\d+\.\d+\.\d+/, target: 0.3 },
    { name: 'search --help', args: ['search', '--help'], code: 0, pattern: /Usage: imgsim search/, target: 0.5 },
    { name: 'run --size abc', args: ['run', missing, '--out', out, '--size', 'abc'], code: 2, pattern: /--size/, target: 0.5 },
    { name: 'train --epochs 0', args: ['train', missing, '--out', out, '--epochs', '0'], code: 2, pattern: /--epochs/, target: 0.5 },
    { name: 'search -k abc', args: ['search', path.join(missing, 'q.jpg'), '--index', tmp, '-k', 'abc'], code: 2, pattern: /-k/, target: 0.5 },
    { name: 'serve --port abc', args: ['serve', '--port', 'abc'], code: 2, pattern: /--port/, target: 0.5 },
    { name: 'worker resize', args: ['worker', 'resize'], code: 2, pattern: /Unknown worker "resize"/, target: 0.5 },
    { name: 'enqueue --train --model', args: ['enqueue', 's3://bucket/p/', '--dataset', 'd', '--train', '--model', 'm'], code: 2, pattern: /exclude each other/, target: 0.5 },
  ];
}

function startupBench(tmp: string): string[][] {
  const rows: string[][] = [['command', 'compiled s', 'cpu s', 'tsx entry s', 'cpu s', 'tsx / compiled', 'target s', 'met']];
  const cases = startupCases(tmp);
  const times = cases.map(() => ({ compiled: [] as Outcome[], tsx: [] as Outcome[] }));
  const node: Outcome[] = [];
  for (let r = 0; r < RUNS; r++) {
    ensureFreshBuild();
    node.push(run(['-e', '0'], []));
    cases.forEach((c, i) => {
      const a = run(COMPILED, c.args);
      expectOutcome(`compiled ${c.name}`, a, c.code, c.pattern);
      const b = run(TSX, c.args);
      expectOutcome(`tsx ${c.name}`, b, c.code, c.pattern);
      times[i]?.compiled.push(a);
      times[i]?.tsx.push(b);
    });
  }
  const wall = (os: readonly Outcome[]): number => median(os.map((o) => o.seconds));
  const cpu = (os: readonly Outcome[]): string => (os.every((o) => o.cpu !== undefined) ? median(os.map((o) => o.cpu as number)).toFixed(2) : '-');
  cases.forEach((c, i) => {
    const t = times[i] as { compiled: Outcome[]; tsx: Outcome[] };
    const m = wall(t.compiled);
    const o = wall(t.tsx);
    rows.push([c.name, m.toFixed(3), cpu(t.compiled), o.toFixed(3), cpu(t.tsx), `${(o / m).toFixed(1)}×`, c.target.toFixed(1), m <= c.target ? 'yes' : 'NO']);
  });
  rows.push(['(node -e 0: node alone)', wall(node).toFixed(3), cpu(node), '', '', '', '', '']);
  return rows;
}

// ---------------------------------------------------------------------------------
// (b) search on a large index

interface SearchSetup {
  index: string;
  queries: string;
  rows: number;
  dim: number;
}

/** Photos → a model (1 epoch, 64 px, default filters: 1,024-d) → its index, grown to ROWS rows (with its int8 search copy, as a local run writes it). Cached between runs. */
async function searchSetup(): Promise<SearchSetup> {
  const photos = await ensureJpegSet({ count: IMAGES, width: 800, height: 533, seed: 15 });
  const work = path.join(CACHE_ROOT, `cli-v2-n${IMAGES}`);
  const trained = path.join(work, 'trained');
  const small = path.join(work, 'index-small');
  if (!(await readFile(path.join(small, 'index.json')).catch(() => undefined))) {
    await rm(work, { recursive: true, force: true });
    const train = run(COMPILED, ['train', photos.dir, '--out', trained, '--size', '64', '--epochs', '1', '--batch', '16', '--json']);
    expectOutcome('train', train, 0, /modelId/);
    const embed = run(COMPILED, ['embed', photos.dir, '--model', path.join(trained, 'model'), '--out', small, '--json']);
    expectOutcome('embed', embed, 0, /"images"/);
  }
  const real = await readNpyFile(path.join(small, 'embeddings.npy'));
  const realKeys = JSON.parse(await readFile(path.join(small, 'ids.json'), 'utf8')) as string[];
  const rows = Math.max(ROWS, real.rows);
  const index = path.join(work, `index-${rows}`);
  const queries = path.join(work, `queries-${QUERIES}`);
  if (!(await readFile(path.join(index, 'ids.json')).catch(() => undefined))) {
    await mkdir(index, { recursive: true });
    const data = new Float32Array(rows * real.cols);
    data.set(real.data);
    data.set(syntheticRows(rows - real.rows, real.cols, 7), real.rows * real.cols);
    const keys = [...realKeys, ...Array.from({ length: rows - real.rows }, (_, i) => `synthetic/${String(i).padStart(7, '0')}.jpg`)];
    const manifest = JSON.parse(await readFile(path.join(small, 'index.json'), 'utf8')) as { model: string };
    if (!path.isAbsolute(manifest.model)) manifest.model = path.resolve(small, manifest.model);
    await writeFile(path.join(index, 'index.json'), JSON.stringify(manifest, null, 2));
    // embeddings.npy, ids.json and, as a local run writes it, the int8 search copy.
    await FlatIndex.adopt(keys, data, real.cols).save(new LocalStorage(index));
  }
  await rm(queries, { recursive: true, force: true });
  await mkdir(queries, { recursive: true });
  for (const f of photos.files.slice(0, QUERIES)) await link(path.join(photos.dir, f), path.join(queries, f));
  return { index, queries, rows, dim: real.cols };
}

interface SearchCall {
  /** Wall time of the whole call. */
  seconds: number;
  /** From the command's "search done" line: start-up, index and model (and the int8 copy) opened. */
  openSeconds: number;
  /** From the same line: the time after opening, per query (decode, batched encode, scan, re-rank, sheet). */
  perQueryMs: number;
}

function searchCall(what: string, args: readonly string[], expect: RegExp): SearchCall {
  // JSON logs: the figures as numbers (the human format rounds them for reading).
  const o = run(COMPILED, ['search', ...args, '-k', '10', '--json', '--log-level', 'info', '--log-format', 'json']);
  expectOutcome(what, o, 0, expect);
  const done = o.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; openSeconds?: unknown; perQueryMs?: unknown })
    .find((r) => r.msg === 'search done');
  if (typeof done?.openSeconds !== 'number' || typeof done.perQueryMs !== 'number') throw new Error(`${what}: no "search done" log with openSeconds and perQueryMs on stderr:\n${o.stderr}`);
  return { seconds: o.seconds, openSeconds: done.openSeconds, perQueryMs: done.perQueryMs };
}

interface SearchRound {
  one: SearchCall;
  many: SearchCall;
  sheets: SearchCall;
}

function searchRound(s: SearchSetup): SearchRound {
  const one = searchCall('search (1 query)', [path.join(s.queries, '00000.jpg'), '--index', s.index, '--no-sheet'], /"neighbors"/);
  const many = searchCall(`search (${QUERIES} queries)`, [s.queries, '--index', s.index, '--no-sheet'], /"neighbors"/);
  const sheets = searchCall(`search (${QUERIES} queries, sheets)`, [s.queries, '--index', s.index], /"sheet"/);
  return { one, many, sheets };
}

function searchTable(rounds: readonly SearchRound[]): string[][] {
  const m = (f: (r: SearchRound) => number): number => median(rounds.map(f));
  const difference = (f: (r: SearchRound) => SearchCall): number => m((r) => (f(r).seconds - r.one.seconds) / (QUERIES - 1)) * 1000;
  const met = (ms: number): string => (ms <= 50 ? 'yes' : 'NO');
  const many = m((r) => r.many.perQueryMs);
  return [
    ['call', 'wall s', 'opening s', 'per query ms (in the call)', 'per query ms (T(Q) − T(1)) / (Q − 1)', 'target ms', 'met'],
    ['1 query', m((r) => r.one.seconds).toFixed(2), m((r) => r.one.openSeconds).toFixed(2), m((r) => r.one.perQueryMs).toFixed(1), '', '', ''],
    [`${QUERIES} queries, --no-sheet`, m((r) => r.many.seconds).toFixed(2), m((r) => r.many.openSeconds).toFixed(2), many.toFixed(1), difference((r) => r.many).toFixed(1), '50', met(many)],
    [`${QUERIES} queries, contact sheets`, m((r) => r.sheets.seconds).toFixed(2), m((r) => r.sheets.openSeconds).toFixed(2), m((r) => r.sheets.perQueryMs).toFixed(1), difference((r) => r.sheets).toFixed(1), '', ''],
  ];
}

// ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  ensureFreshBuild();
  process.stdout.write(`${machineLine()}\n\n`);
  const tmp = path.join(os.tmpdir(), `imgsim-bench-cli-${process.pid}`);
  await mkdir(tmp, { recursive: true });
  try {
    process.stdout.write(`(a) start-up: median of ${RUNS} runs each, interleaved\n${table(startupBench(tmp))}\n\n`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  if (ROWS === 0) return;
  const setup = await searchSetup();
  const rounds: SearchRound[] = [];
  for (let r = 0; r < SEARCH_RUNS; r++) {
    ensureFreshBuild();
    rounds.push(searchRound(setup));
  }
  process.stdout.write(
    `(b) search, ${setup.rows.toLocaleString('en')} × ${setup.dim} index (${IMAGES} real rows), k = 10, median of ${SEARCH_RUNS} rounds\n${table(searchTable(rounds))}\n` +
      'opening = start-up, index and model loaded, int8 copy read (embeddings.int8) or built; per query (in the call) = the rest of the call / queries, from its "search done" line\n',
  );
}

await main();
