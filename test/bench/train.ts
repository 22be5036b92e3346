// Training throughput: the project's trainer (shared/model/training/ on the wasm backend)
// against the reference PyTorch CAE (test/bench/reference_cae.py), same images, same
// architecture (filters 16..256, conv 3×3), Adam lr 1e-3, MSE, same batch size, at
// each image size; measurements interleaved (ours 64, torch 64, ours 128, torch 128,
// then again for every further round) so load from other work on the machine hits
// both sides alike.
//
//   npm run bench:train [-- --sizes=64,128 --steps=12,5 --warmup=2 --rounds=2
//                          --images=512 --batch=32 --threads=1,2 --torch-threads=1 --seed=42
//                          --memory-every=0]
//   (or BENCH_SIZES, BENCH_STEPS, BENCH_WARMUP, BENCH_ROUNDS, BENCH_IMAGES, BENCH_BATCH,
//    BENCH_THREADS, BENCH_TORCH_THREADS, BENCH_SEED, BENCH_MEMORY_EVERY)
//
// --threads: the trainer's trainThreads values to run (each round runs ours once per
// value, then the reference); 2 = data-parallel over a worker thread
// (shared/model/training/data-parallel.ts). --memory-every=N prints numTensors and RSS
// every N measured steps (the memory check: e.g. --sizes=32 --steps=1000 --rounds=1
// --memory-every=100 --threads=1).
//
// Ours: trainAutoencoder itself, on a training set of exactly (warmup + steps) batches
// (the pool of decoded images repeated; one extra image is the validation split the
// trainer requires). The clock runs from the end of the last warm-up batch to the end
// of the last batch, read in the trainer's onBatch callback, so it covers everything
// the trainer does per batch (batch assembly, forward, backward, Adam, reading the
// loss) and nothing else (model building, the validation pass). numTensors is read
// at every measured batch and must not change. The reference times the same number
// of steps after the same warm-up.
//
// Besides wall-clock images/s, both sides report images per CPU-second of their own
// process (process.cpuUsage / time.process_time over the same steps). With one
// compute thread each it moves less than wall-clock time when other work shares the
// cores; it is not a quiet-machine figure (shared caches still slow both sides).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodeObjects } from '../../pipelines/ingest.js';
import type { DecodedImages } from '../../shared/images/decoded.js';
import { trainAutoencoder } from '../../shared/model/training/index.js';
import { REFERENCE_FILTERS } from '../../shared/model/architecture.js';
import { initBackend } from '../../shared/model/backend.js';
import { LocalStorage } from '../../shared/storage/local.js';
import {
  describeRate,
  describeRatio,
  detectReference,
  encodeNpyUint8,
  ensureJpegSet,
  intListOption,
  intOption,
  machineLine,
  median,
  numberField,
  peakRssMiB,
  REFERENCE_MISSING,
  REFERENCE_PYTHON,
  referenceBlasLine,
  runReference,
  stringOption,
  table,
  writeJsonResult,
} from './common.js';

const argv = process.argv.slice(2);
const sizes = intListOption(argv, 'sizes', [64, 128]);
const defaultSteps = sizes.map((s) => (s <= 64 ? 12 : 5));
const stepsList = intListOption(argv, 'steps', defaultSteps);
const warmup = intOption(argv, 'warmup', 2);
const rounds = intOption(argv, 'rounds', 2);
const poolSize = intOption(argv, 'images', 512, 2);
const batch = intOption(argv, 'batch', 32);
const torchThreads = intOption(argv, 'torch-threads', 1);
const threadsList = intListOption(argv, 'threads', [1, 2]);
const memoryEvery = intOption(argv, 'memory-every', 0, 0);
const seed = intOption(argv, 'seed', 42, 0);
const jsonFile = stringOption(argv, 'json', undefined);
const stepsFor = (i: number): number => (stepsList.length === 1 ? (stepsList[0] as number) : (stepsList[i] ?? (stepsList[stepsList.length - 1] as number)));

interface OursRun {
  imagesPerSecond: number;
  imagesPerCpuSecond: number;
  seconds: number;
  tensorsFlat: boolean;
  numTensors: [number, number];
  leakedAfterDispose: number;
  firstLoss: number;
  lastLoss: number;
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  console.log(`bench:train — ${machineLine()}`);
  console.log(
    `ours: imgsim trainAutoencoder, tfjs ${tf.version.tfjs} backend ${backend} (1 thread for the model); ` +
      `batch ${batch}, warm-up ${warmup} steps, ${rounds} round(s), ${poolSize} images (seed ${seed}), trainThreads ${threadsList.join(' and ')}`,
  );

  const jpegs = await ensureJpegSet({ count: poolSize, width: 800, height: 533, seed });
  if (jpegs.generatedNow > 0) console.log(`generated ${jpegs.generatedNow} JPEGs in ${jpegs.seconds.toFixed(1)} s into ${jpegs.dir}`);
  const storage = new LocalStorage(jpegs.dir);
  const objects = jpegs.files.map((key) => ({ key, etag: '' }));
  const pools = new Map<number, DecodedImages>();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'imgsim-bench-train-'));
  const npyFiles = new Map<number, string>();
  for (const size of sizes) {
    const { images, failures } = await decodeObjects(storage, objects, { size, fit: 'crop', maxPixels: 1e8, concurrency: 4, progressBar: false });
    if (failures.length > 0) throw new Error(`decoding the bench images failed: ${JSON.stringify(failures.slice(0, 3))}`);
    pools.set(size, images);
    const file = path.join(tmp, `images-${size}.npy`);
    await writeFile(file, encodeNpyUint8(images.pixels, [images.keys.length, size, size, 3]));
    npyFiles.set(size, file);
  }

  const reference = detectReference();
  if (reference.ok) console.log(`reference: PyTorch ${reference.torch} (${REFERENCE_PYTHON}), torch.set_num_threads(${torchThreads})`);
  else console.log(`${REFERENCE_MISSING}\n  (${reference.reason})`);

  const key = (size: number, threads: number): string => `${size}/${threads}`;
  const ours = new Map<string, OursRun[]>(sizes.flatMap((s) => threadsList.map((t) => [key(s, t), []] as [string, OursRun[]])));
  const torch = new Map<number, number[]>(sizes.map((s) => [s, []]));
  const torchCpu = new Map<number, number[]>(sizes.map((s) => [s, []]));
  const torchRss: number[] = [];
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const [i, size] of sizes.entries()) {
        const steps = stepsFor(i);
        for (const threads of threadsList) {
        const run = await trainOurs(pools.get(size) as DecodedImages, steps, threads);
        ours.get(key(size, threads))?.push(run);
        console.log(
          `round ${r} ${size}×${size} ours (${threads} thread${threads > 1 ? 's' : ''}):  ${run.imagesPerSecond.toFixed(1)} img/s, ${run.imagesPerCpuSecond.toFixed(1)} img/CPU-s (${steps} steps, ${run.seconds.toFixed(1)} s, ` +
            `loss ${run.firstLoss.toFixed(4)}→${run.lastLoss.toFixed(4)}, numTensors ${run.numTensors.join('→')}${run.tensorsFlat ? ' flat' : ' NOT FLAT'}, ` +
            `peak RSS ${peakRssMiB().toFixed(0)} MiB)`,
        );
        }
        if (!reference.ok) continue;
        const ref = await runReference(
          ['train', '--npy', npyFiles.get(size) as string, '--batch', String(batch), '--steps', String(steps), '--warmup', String(warmup), '--seed', String(seed)],
          torchThreads,
        );
        const blasLine = referenceBlasLine(ref);
        if (blasLine) console.log(blasLine);
        const rate = numberField(ref, 'imagesPerSecond');
        torch.get(size)?.push(rate);
        torchCpu.get(size)?.push(numberField(ref, 'imagesPerCpuSecond'));
        torchRss.push(numberField(ref, 'maxRssMiB'));
        console.log(
          `round ${r} ${size}×${size} torch: ${rate.toFixed(1)} img/s, ${numberField(ref, 'imagesPerCpuSecond').toFixed(1)} img/CPU-s (${steps} steps, ${numberField(ref, 'seconds').toFixed(1)} s, ` +
            `loss ${numberField(ref, 'firstLoss').toFixed(4)}→${numberField(ref, 'lastLoss').toFixed(4)}, peak RSS ${numberField(ref, 'maxRssMiB').toFixed(0)} MiB)`,
        );
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }

  const rows: string[][] = [
    ['size', 'threads', 'ours img/s', 'torch img/s', 'ratio', 'ours img/CPU-s', 'torch img/CPU-s', 'CPU ratio', 'numTensors flat'],
  ];
  const results = sizes.flatMap((size) => threadsList.map((threads) => {
    const o = ours.get(key(size, threads)) ?? [];
    const oRate = o.map((x) => x.imagesPerSecond);
    const oCpu = o.map((x) => x.imagesPerCpuSecond);
    const t = torch.get(size) ?? [];
    const tCpu = torchCpu.get(size) ?? [];
    // Ratios are paired round by round (each round's two runs ran back to back).
    const ratios = t.map((rate, i) => (oRate[i] as number) / rate);
    const cpuRatios = tCpu.map((rate, i) => (oCpu[i] as number) / rate);
    const flat = o.every((x) => x.tensorsFlat);
    const skipped = t.length === 0;
    rows.push([
      `${size}×${size}`,
      String(threads),
      describeRate(oRate),
      skipped ? 'skipped' : describeRate(t),
      skipped ? '-' : describeRatio(ratios),
      describeRate(oCpu),
      skipped ? 'skipped' : describeRate(tCpu),
      skipped ? '-' : describeRatio(cpuRatios),
      flat ? 'yes' : 'NO',
    ]);
    return {
      size,
      threads,
      steps: stepsFor(sizes.indexOf(size)),
      oursImagesPerSecond: oRate,
      oursImagesPerCpuSecond: oCpu,
      torchImagesPerSecond: t,
      torchImagesPerCpuSecond: tCpu,
      oursMedian: median(oRate),
      torchMedian: skipped ? null : median(t),
      ratio: skipped ? null : median(ratios),
      cpuRatio: skipped ? null : median(cpuRatios),
      tensorsFlat: flat,
      leakedAfterDispose: o.map((x) => x.leakedAfterDispose),
    };
  }));
  console.log(`\ntraining throughput, batch ${batch} (median of ${rounds} round(s), min–max in brackets; ratio = ours/torch, paired per round)`);
  console.log(table(rows));
  const rss = peakRssMiB();
  console.log(`peak RSS: ours ${rss.toFixed(0)} MiB${torchRss.length > 0 ? `, torch ${Math.max(...torchRss).toFixed(0)} MiB` : ''}`);
  const leaked = results.flatMap((x) => x.leakedAfterDispose).filter((n) => n !== 0);
  if (leaked.length > 0) console.log(`note: tensors left after disposing the trained model: ${leaked.join(', ')}`);
  await writeJsonResult(jsonFile, {
    bench: 'train',
    batch,
    warmup,
    rounds,
    torchThreads,
    reference: reference.ok ? reference.torch : null,
    results,
    peakRssMiB: rss,
    torchPeakRssMiB: torchRss.length > 0 ? Math.max(...torchRss) : null,
  });
}

/** One trainAutoencoder call over exactly warmup + steps batches; throughput of the last `steps`. */
async function trainOurs(pool: DecodedImages, steps: number, threads: number): Promise<OursRun> {
  const per = pool.size * pool.size * 3;
  const poolN = pool.keys.length;
  const n = (warmup + steps) * batch + 1; // + 1: the validation image the trainer holds out
  const pixels = new Uint8Array(n * per);
  for (let i = 0; i < n; i++) pixels.set(pool.pixels.subarray((i % poolN) * per, ((i % poolN) + 1) * per), i * per);
  const images: DecodedImages = {
    size: pool.size,
    keys: Array.from({ length: n }, (_, i) => `img${i}`),
    etags: new Array<string>(n).fill(''),
    widths: new Array<number>(n).fill(800),
    heights: new Array<number>(n).fill(533),
    pixels,
  };
  const before = tf.memory().numTensors;
  let t0 = 0;
  let t1 = 0;
  let c0: NodeJS.CpuUsage | undefined;
  let cpu: NodeJS.CpuUsage | undefined;
  const tensors: number[] = [];
  const losses: number[] = [];
  const result = await trainAutoencoder(images, {
    filters: REFERENCE_FILTERS,
    kernelSize: 3,
    epochs: 1,
    batchSize: batch,
    learningRate: 1e-3,
    optimizer: 'adam',
    weightDecay: 0,
    patience: 0,
    validationSplit: 1 / n,
    seed,
    fit: 'crop',
    source: 'bench',
    progressBar: false,
    trainThreads: threads,
    onBatch: ({ batch: b, loss }) => {
      const now = performance.now();
      if (b === warmup) {
        t0 = now;
        c0 = process.cpuUsage();
      }
      if (b > warmup) {
        tensors.push(tf.memory().numTensors);
        losses.push(loss);
        if (memoryEvery > 0 && (b - warmup === 1 || (b - warmup) % memoryEvery === 0)) {
          const rss = process.memoryUsage().rss / 2 ** 20;
          console.log(`  step ${b - warmup}: numTensors ${tf.memory().numTensors}, RSS ${rss.toFixed(0)} MiB, loss ${loss.toFixed(5)}`);
        }
      }
      if (b === warmup + steps) {
        t1 = now;
        cpu = process.cpuUsage(c0);
      }
    },
  });
  if (result.meta.training.trainImages !== (warmup + steps) * batch) {
    throw new Error(`expected ${(warmup + steps) * batch} training images, the trainer used ${result.meta.training.trainImages}`);
  }
  result.encoder.dispose();
  result.decoder.dispose();
  const seconds = (t1 - t0) / 1000;
  const cpuSeconds = cpu ? (cpu.user + cpu.system) / 1e6 : NaN;
  return {
    imagesPerSecond: (steps * batch) / seconds,
    imagesPerCpuSecond: (steps * batch) / cpuSeconds,
    seconds,
    tensorsFlat: tensors.every((x) => x === tensors[0]),
    numTensors: [tensors[0] ?? 0, tensors[tensors.length - 1] ?? 0],
    leakedAfterDispose: tf.memory().numTensors - before,
    firstLoss: losses[0] ?? NaN,
    lastLoss: losses[losses.length - 1] ?? NaN,
  };
}

await main();
