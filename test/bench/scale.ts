// The cluster map at scale (issue 12, deliverable 4, clustering half): clustered
// synthetic 1,024-d vectors with known labels at N = 10k, 100k (and 1M on request),
// generated page by page (never all held at 1,024-d: each vector is a pure function of
// its index), fed to clusterIndex — the stage function both drivers run — through a
// VectorIndex whose scan() yields the generated pages. Prints, per size: wall time (and
// how much of it was generating the data: twice, one per pass), each phase's time,
// peak RSS of this process and of the clustering child, the growth exponent between
// sizes, NMI/ARI of the k-means labels against the true ones, and the fraction of each
// point's 10 nearest neighbours in the input space kept among its 10 nearest on the
// 2-D map (on a seeded 2,000-point evaluation subset: neighbours within the subset).
// At 10k it also runs the exact path (today's: every point mapped, exact kNN) and the
// streamed path forced onto it (sample 5,000, approximate kNN), and prints the
// difference. k-means runs with the true number of clusters (--clusters auto measures the
// automatic choice instead, which splits these 10 clean clusters into browsable pieces:
// purity stays 1 but NMI against 10 labels falls). Figures and ratios only; nothing is asserted.
// The queued half (100k images through the six worker processes): test/bench/scale-queued.ts.
//
//   npm run bench:scale [-- --sizes 10000,100000,1000000 --map-sample 20000 --iterations 1000 --clusters auto]
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { clusterIndex, type ClusterProgress } from '../../pipelines/cluster.js';
import { MAP_SAMPLE_DEFAULT } from '../../shared/config/pipeline-settings.js';
import { createRng, gaussian } from '../../shared/analysis/rng.js';
import { LocalStorage } from '../../shared/storage/local.js';
import { ScanIndex } from '../unit/analysis/scan-index.js';
import { intListOption, intOption, machineLine, option, peakRssMiB, table, writeJsonResult, stringOption } from './common.js';
import { adjustedRandIndex, normalisedMutualInformation } from '../support/cluster-metrics.js';

const argv = process.argv.slice(2);
const sizes = intListOption(argv, 'sizes', [10_000, 100_000]);
const dim = intOption(argv, 'dim', 1024);
const trueK = intOption(argv, 'true-clusters', 10);
const mapSample = intOption(argv, 'map-sample', MAP_SAMPLE_DEFAULT);
const clustersArg = option(argv, 'clusters', String(trueK));
const clusters: number | 'auto' = clustersArg === 'auto' ? 'auto' : Number.parseInt(clustersArg, 10);
if (clusters !== 'auto' && !(clusters >= 2)) throw new Error(`--clusters must be auto or a whole number ≥ 2, got "${clustersArg}"`);
const iterations = intOption(argv, 'iterations', 1000, 250);
const evalPoints = intOption(argv, 'eval-points', 2000);
const jsonFile = stringOption(argv, 'json', undefined);
const PAGE = 256;
const SEED = 17;

// ---------------------------------------------------------------------------
// Data: cluster c has a Gaussian centre (std SEPARATION per coordinate) and a random
// LATENT-dimensional subspace; point i (label drawn with unequal cluster sizes) is its
// centre + LATENT_STD·z along that subspace (z standard normal) + NOISE_STD isotropic
// noise. The subspace gives each cluster an inner structure (without it, neighbours
// inside a cluster are random and no map can keep them: 10-NN kept ≈ 0.1 for any
// method), the noise keeps it 1,024-dimensional.

const SEPARATION = 0.35;
const LATENT = 8;
const LATENT_STD = 3;
const NOISE_STD = 0.15;
const centres = (() => {
  const rng = createRng(SEED);
  return Array.from({ length: trueK }, () => Float32Array.from({ length: dim }, () => gaussian(rng) * SEPARATION));
})();
const bases = (() => {
  const rng = createRng(SEED + 1);
  return Array.from({ length: trueK }, () =>
    Array.from({ length: LATENT }, () => {
      const v = Float32Array.from({ length: dim }, () => gaussian(rng));
      const norm = Math.hypot(...v);
      return v.map((x) => x / norm);
    }),
  );
})();

function labelOf(i: number): number {
  return Math.min(trueK - 1, Math.floor(createRng(i * 2654435761 + 1)() ** 1.5 * trueK));
}

/** Point i's vector into out[off, off+dim). */
function vectorOf(i: number, out: Float32Array, off: number): void {
  const rng = createRng(i * 2654435761 + 7);
  const label = labelOf(i);
  const c = centres[label] as Float32Array;
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  for (let j = 0; j < dim; j += 2) {
    // Box–Muller, both values used.
    const r = Math.sqrt(-2 * Math.log(1 - rng())) * NOISE_STD;
    const a = 2 * Math.PI * rng();
    out[off + j] = (c[j] as number) + r * Math.cos(a);
    if (j + 1 < dim) out[off + j + 1] = (c[j + 1] as number) + r * Math.sin(a);
  }
  for (const b of bases[label] as Float32Array[]) {
    const z = normal() * LATENT_STD;
    for (let j = 0; j < dim; j++) out[off + j] = (out[off + j] as number) + z * (b[j] as number);
  }
}

const keyOf = (i: number): string => `bench/${String(i).padStart(8, '0')}.jpg`;

function generatedIndex(n: number, timing: { ms: number }): ScanIndex {
  return new ScanIndex(
    dim,
    n,
    async function* () {
      const page = new Float32Array(PAGE * dim);
      for (let p0 = 0; p0 < n; p0 += PAGE) {
        const started = performance.now();
        const rows = Math.min(PAGE, n - p0);
        for (let r = 0; r < rows; r++) vectorOf(p0 + r, page, r * dim);
        timing.ms += performance.now() - started;
        await new Promise<void>((resolve) => setImmediate(resolve)); // a page arrives (Qdrant scroll)
        for (let r = 0; r < rows; r++) yield { key: keyOf(p0 + r), vector: page.subarray(r * dim, (r + 1) * dim) };
      }
    },
    false,
  );
}

// ---------------------------------------------------------------------------
// Peak RSS of the clustering child: its VmHWM, polled from /proc while it runs.

function childPids(): number[] {
  try {
    const dir = `/proc/${process.pid}/task`;
    return readdirSync(dir).flatMap((t) => readFileSync(`${dir}/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

function watchChildren(): { stop: () => number } {
  let peak = 0;
  const poll = (): void => {
    for (const pid of childPids()) {
      try {
        const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
        peak = Math.max(peak, kb / 1024);
      } catch {
        // exited between listing and reading
      }
    }
  };
  const timer = setInterval(poll, 200);
  return {
    stop: () => {
      poll();
      clearInterval(timer);
      return peak;
    },
  };
}

// ---------------------------------------------------------------------------
// Quality.

/** Each subset point's 10 nearest other subset points, by a distance function. */
function knnSets(m: number, distance: (a: number, b: number) => number, k = 10): Array<Set<number>> {
  const out: Array<Set<number>> = [];
  for (let a = 0; a < m; a++) {
    const d: Array<[number, number]> = [];
    for (let b = 0; b < m; b++) if (b !== a) d.push([distance(a, b), b]);
    d.sort((x, y) => x[0] - y[0]);
    out.push(new Set(d.slice(0, k).map((e) => e[1])));
  }
  return out;
}

const evalCache = new Map<number, { rows: number[]; input: Array<Set<number>> }>();

/** The evaluation subset of size n and its input-space neighbour sets (unit vectors: cosine geometry). */
function evaluationSubset(n: number): { rows: number[]; input: Array<Set<number>> } {
  const cached = evalCache.get(n);
  if (cached) return cached;
  const rng = createRng(SEED + 3);
  const chosen = new Set<number>();
  const m = Math.min(evalPoints, n);
  while (chosen.size < m) chosen.add(Math.floor(rng() * n));
  const rows = [...chosen].sort((a, b) => a - b);
  const x = new Float32Array(m * dim);
  rows.forEach((r, a) => vectorOf(r, x, a * dim));
  for (let a = 0; a < m; a++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (x[a * dim + j] as number) ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) x[a * dim + j] = (x[a * dim + j] as number) * inv;
  }
  const input = knnSets(m, (a, b) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += ((x[a * dim + j] as number) - (x[b * dim + j] as number)) ** 2;
    return s;
  });
  const result = { rows, input };
  evalCache.set(n, result);
  return result;
}

// ---------------------------------------------------------------------------

interface Row {
  label: string;
  n: number;
  sample: number;
  seconds: number;
  generateSeconds: number;
  phases: Record<string, number>;
  rssMiB: number;
  childRssMiB: number;
  k: number;
  nmi: number;
  ari: number;
  knnKept: number;
  clustersJsonMiB: number;
}

async function runOne(label: string, n: number, sample: number, exactBelow?: number): Promise<Row> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-bench-scale-'));
  const timing = { ms: 0 };
  const phases: Record<string, number> = {};
  let phase = '';
  let phaseStart = performance.now();
  const started = performance.now();
  const watch = watchChildren();
  try {
    const result = await clusterIndex({
      index: generatedIndex(n, timing),
      out: new LocalStorage(dir),
      modelId: 'bench',
      settings: { pcaComponents: 50, perplexity: 30, tsneIterations: iterations, clusters, seed: 1, mapSample: sample },
      title: 'bench',
      ...(exactBelow !== undefined ? { exactBelow } : {}),
      onProgress: (p: ClusterProgress) => {
        if (p.phase === phase) return;
        const now = performance.now();
        if (phase) phases[phase] = (now - phaseStart) / 1000;
        phase = p.phase;
        phaseStart = now;
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const childRssMiB = watch.stop();
    if (!result) throw new Error('no map');
    const labels = result.points.map((p) => p.label);
    const truth = result.points.map((_, i) => labelOf(i));
    const ev = evaluationSubset(n);
    const xy = ev.rows.map((r) => result.points[r] as { x: number; y: number });
    const mapSets = knnSets(ev.rows.length, (a, b) => ((xy[a]?.x ?? 0) - (xy[b]?.x ?? 0)) ** 2 + ((xy[a]?.y ?? 0) - (xy[b]?.y ?? 0)) ** 2);
    let kept = 0;
    ev.input.forEach((s, a) => {
      for (const b of s) if (mapSets[a]?.has(b)) kept++;
    });
    const fileMiB = (await stat(path.join(dir, 'clusters.json'))).size / 2 ** 20;
    return {
      label,
      n,
      sample: Math.min(n, sample),
      seconds,
      generateSeconds: timing.ms / 1000,
      phases,
      rssMiB: peakRssMiB(),
      childRssMiB,
      k: result.k,
      nmi: normalisedMutualInformation(labels, truth),
      ari: adjustedRandIndex(labels, truth),
      knnKept: kept / (ev.rows.length * 10),
      clustersJsonMiB: fileMiB,
    };
  } finally {
    watch.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`bench:scale — ${machineLine()}`);
  console.log(`k-means: ${clusters === 'auto' ? 'k chosen automatically (--clusters auto)' : `k = ${clusters}`}`);
  console.log(`data: ${trueK} clusters in ${dim}-d (centres std ${SEPARATION}, ${LATENT}-d inner structure std ${LATENT_STD}, noise std ${NOISE_STD}), map sample ${mapSample}, t-SNE ${iterations} iterations\n`);
  const rows: Row[] = [];
  for (const n of sizes) {
    if (n <= 20_000) {
      const exact = await runOne('exact (today)', n, Math.max(n, mapSample));
      rows.push(exact);
      print(exact);
      const streamed = await runOne('streamed (sample 5,000, ANN)', n, Math.min(5000, Math.floor(n / 2)), 0);
      rows.push(streamed);
      print(streamed);
      console.log(`  streamed − exact: NMI ${(streamed.nmi - exact.nmi).toFixed(4)}, kNN kept ${(streamed.knnKept - exact.knnKept).toFixed(4)}, time ×${(streamed.seconds / exact.seconds).toFixed(2)}\n`);
    }
    if (n > mapSample || n > 20_000) {
      const row = await runOne('default', n, mapSample);
      rows.push(row);
      print(row);
    }
  }
  const defaults = rows.filter((r) => r.label === 'default' || (r.label === 'exact (today)' && r.n <= mapSample));
  const out: string[][] = [['path', 'N', 'sample', 'seconds', 'of which generating', 'RSS MiB (this / child)', 'k', 'NMI', 'ARI', '10-NN kept']];
  for (const r of rows) {
    out.push([r.label, String(r.n), String(r.sample), r.seconds.toFixed(1), r.generateSeconds.toFixed(1), `${r.rssMiB.toFixed(0)} / ${r.childRssMiB.toFixed(0)}`, String(r.k), r.nmi.toFixed(4), r.ari.toFixed(4), r.knnKept.toFixed(4)]);
  }
  console.log(`\n${table(out)}`);
  for (let i = 1; i < defaults.length; i++) {
    const a = defaults[i - 1] as Row;
    const b = defaults[i] as Row;
    const e = (x: number, y: number): string => (Math.log(y / x) / Math.log(b.n / a.n)).toFixed(2);
    console.log(`growth ${a.n} → ${b.n}: time N^${e(a.seconds, b.seconds)} (without generating: N^${e(a.seconds - a.generateSeconds, b.seconds - b.generateSeconds)}), child RSS N^${e(a.childRssMiB, b.childRssMiB)}`);
  }
  console.log('note: the main process peak RSS is cumulative over the runs above it (one process).');
  await writeJsonResult(jsonFile, { sizes, dim, mapSample, iterations, rows });
}

function print(r: Row): void {
  const ph = Object.entries(r.phases)
    .map(([p, s]) => `${p} ${s.toFixed(1)}`)
    .join(', ');
  console.log(
    `N=${r.n} ${r.label}: ${r.seconds.toFixed(1)} s (generating ${r.generateSeconds.toFixed(1)} s), RSS ${r.rssMiB.toFixed(0)} MiB, child ${r.childRssMiB.toFixed(0)} MiB; k ${r.k}, NMI ${r.nmi.toFixed(4)}, ARI ${r.ari.toFixed(4)}, 10-NN kept ${r.knnKept.toFixed(4)}\n  phases (s): ${ph}; load average after ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
}

await main();
