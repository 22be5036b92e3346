// Both benchmarks in sequence, each in its own process (so peak RSS is per bench),
// then one summary table with the targets of the performance issue.
//
//   npm run bench [-- --only=train|embed]
//
// Options of the benches themselves go through the environment (BENCH_ROUNDS,
// BENCH_TORCH_THREADS, …; see train.ts and embed.ts), since the two take different
// flags.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine, option, table } from './common.js';

interface TrainSummary {
  torchThreads: number;
  reference: string | null;
  results: Array<{ size: number; threads?: number; oursMedian: number; torchMedian: number | null; ratio: number | null; tensorsFlat: boolean }>;
  peakRssMiB: number;
  torchPeakRssMiB: number | null;
}

interface EmbedSummary {
  size: number;
  torchThreads: number;
  reference: string | null;
  oursMedian: number;
  torchMedian: number | null;
  ratio: number | null;
  tensorsFlat: boolean;
  peakRssMiB: number;
  torchPeakRssMiB: number | null;
}

/** Ratio targets of the performance issue: the bar to resolve it. */
const TRAIN_TARGET: Record<number, number> = { 64: 0.6, 128: 0.5 };
const EMBED_TARGET = 1.0;

function runBench(name: 'train' | 'embed', jsonFile: string): Promise<void> {
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, `--json=${jsonFile}`], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`bench:${name} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const only = option(process.argv.slice(2), 'only', '');
  if (only !== '' && only !== 'train' && only !== 'embed') throw new Error(`--only: train or embed, received "${only}"`);
  const started = performance.now();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'imgsim-bench-results-'));
  const rows: string[][] = [['bench', 'size', 'ours img/s', 'torch img/s', 'ratio', 'target', 'peak RSS ours / torch', 'numTensors flat']];
  const fmt = (x: number | null, digits = 1): string => (x === null ? 'skipped' : x.toFixed(digits));
  const rssCell = (r: { peakRssMiB: number; torchPeakRssMiB: number | null }): string =>
    `${r.peakRssMiB.toFixed(0)} / ${r.torchPeakRssMiB === null ? '-' : r.torchPeakRssMiB.toFixed(0)} MiB`;
  const verdict = (ratio: number | null, target: number | undefined): string =>
    target === undefined ? '-' : ratio === null ? `≥ ${target}` : `≥ ${target}: ${ratio >= target ? 'met' : 'not met'}`;
  let reference: string | null = null;
  let threads = 1;
  try {
    if (only !== 'embed') {
      const file = path.join(tmp, 'train.json');
      await runBench('train', file);
      const t = JSON.parse(await readFile(file, 'utf8')) as TrainSummary;
      reference = t.reference;
      threads = t.torchThreads;
      const rss = rssCell(t);
      for (const r of t.results) {
        rows.push(['train', `${r.size}×${r.size}${r.threads !== undefined ? `, ${r.threads} thread${r.threads > 1 ? 's' : ''}` : ''}`, fmt(r.oursMedian), fmt(r.torchMedian), fmt(r.ratio, 3), verdict(r.ratio, TRAIN_TARGET[r.size]), rss, r.tensorsFlat ? 'yes' : 'NO']);
      }
      console.log('');
    }
    if (only !== 'train') {
      const file = path.join(tmp, 'embed.json');
      await runBench('embed', file);
      const e = JSON.parse(await readFile(file, 'utf8')) as EmbedSummary;
      reference = e.reference;
      threads = e.torchThreads;
      const rss = rssCell(e);
      rows.push(['embed', `${e.size}×${e.size}`, fmt(e.oursMedian), fmt(e.torchMedian), fmt(e.ratio, 3), verdict(e.ratio, e.size === 64 ? EMBED_TARGET : undefined), rss, e.tensorsFlat ? 'yes' : 'NO']);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  console.log(`\nsummary — ${machineLine()}; reference ${reference ? `PyTorch ${reference}, ${threads} thread(s)` : 'skipped'}; ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(table(rows));
}

await main();
