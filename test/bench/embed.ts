// Embedding throughput from JPEG files on disk: the project's embed stage (embedImages) (read
// from LocalStorage → sharp decode + resize in libuv's thread pool, the next batch
// decoding while this one encodes → encoder on the wasm backend → vectors) against the
// reference (PIL open + centre crop + resize, encoder forward in PyTorch, batch by
// batch), same files, same image size and batch size, interleaved round by round.
//
//   npm run bench:embed [-- --images=1000 --size=64 --batch=64 --concurrency=4
//                          --rounds=2 --torch-threads=1 --seed=42]
//   (or BENCH_IMAGES, BENCH_SIZE, BENCH_BATCH, BENCH_CONCURRENCY, BENCH_ROUNDS,
//    BENCH_TORCH_THREADS, BENCH_SEED)
//
// The JPEGs (800×533, photo-like, see common.ts) are generated once into a cache
// under os.tmpdir() and read once before timing so both sides find them in the page
// cache. Both sides warm up (ours: one batch through the same pipeline; the reference:
// one forward pass) before the clock starts. The encoder is untrained: its weights do
// not change the work. Thread use: ours decodes in sharp's pool (`--concurrency`
// images at once, on both cores) and encodes on one wasm thread; the reference is
// one Python thread (PIL) and torch.set_num_threads(--torch-threads).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { embedImages, type EmbedInput } from '../../pipelines/embed.js';
import { buildAutoencoder, REFERENCE_FILTERS } from '../../shared/model/architecture.js';
import { initBackend } from '../../shared/model/backend.js';
import { LocalStorage } from '../../shared/storage/local.js';
import type { ObjectInfo } from '../../shared/storage/types.js';
import {
  describeRate,
  describeRatio,
  detectReference,
  ensureJpegSet,
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
  totalBytes,
  writeJsonResult,
} from './common.js';

const argv = process.argv.slice(2);
const count = intOption(argv, 'images', 1000);
const size = intOption(argv, 'size', 64);
const batch = intOption(argv, 'batch', 64);
const concurrency = intOption(argv, 'concurrency', 4);
const rounds = intOption(argv, 'rounds', 2);
const torchThreads = intOption(argv, 'torch-threads', 1);
const seed = intOption(argv, 'seed', 42, 0);
const jsonFile = stringOption(argv, 'json', undefined);

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  console.log(`bench:embed — ${machineLine()}`);
  console.log(
    `ours: imgsim embedImages, the embed stage (LocalStorage, sharp decode concurrency ${concurrency}), tfjs ${tf.version.tfjs} backend ${backend}; ` +
      `${count} JPEGs 800×533 → ${size}×${size}, batch ${batch}, ${rounds} round(s)`,
  );
  const jpegs = await ensureJpegSet({ count, width: 800, height: 533, seed });
  if (jpegs.generatedNow > 0) console.log(`generated ${jpegs.generatedNow} JPEGs in ${jpegs.seconds.toFixed(1)} s into ${jpegs.dir}`);
  const bytes = await totalBytes(jpegs.dir, jpegs.files);
  console.log(`images: ${jpegs.dir} (${(bytes / 2 ** 20).toFixed(0)} MiB, ${(bytes / count / 1024).toFixed(0)} KiB each)`);

  const storage = new LocalStorage(jpegs.dir);
  const wanted = new Set(jpegs.files);
  const objects: ObjectInfo[] = [];
  for await (const obj of storage.list()) if (wanted.has(obj.key)) objects.push(obj);
  if (objects.length !== count) throw new Error(`expected ${count} JPEGs in ${jpegs.dir}, listed ${objects.length}`);
  for (const f of jpegs.files) await readFile(path.join(jpegs.dir, f)); // into the page cache

  const { encoder, decoder } = buildAutoencoder({ inputSize: size, filters: REFERENCE_FILTERS, kernelSize: 3, seed });
  decoder.dispose();
  const model = { encoder, meta: { modelId: 'bench', inputSize: size, fit: 'crop' } } as unknown as EmbedInput['model'];
  const embedOptions = { source: storage, model, settings: { maxPixels: 1e8, batchSize: batch, concurrency }, progressBar: false };
  await embedImages({ ...embedOptions, objects: objects.slice(0, batch) }); // warm-up

  const reference = detectReference();
  if (reference.ok) console.log(`reference: PyTorch ${reference.torch} (${REFERENCE_PYTHON}) + PIL, torch.set_num_threads(${torchThreads})`);
  else console.log(`${REFERENCE_MISSING}\n  (${reference.reason})`);

  const ours: Array<{ rate: number; cpu: number; tensorsFlat: boolean }> = [];
  const torch: Array<{ rate: number; cpu: number; rss: number }> = [];
  for (let r = 1; r <= rounds; r++) {
    const tensorsBefore = tf.memory().numTensors;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const { embedded: embeddings, failures } = await embedImages({ ...embedOptions, objects });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    if (failures.length > 0 || embeddings.keys.length !== count) {
      throw new Error(`embedding failed for ${failures.length} images: ${JSON.stringify(failures.slice(0, 3))}`);
    }
    const run = { rate: count / seconds, cpu: count / ((cpu.user + cpu.system) / 1e6), tensorsFlat: tf.memory().numTensors === tensorsBefore };
    ours.push(run);
    console.log(
      `round ${r} ours:  ${run.rate.toFixed(1)} img/s (${seconds.toFixed(2)} s, ${run.cpu.toFixed(1)} img/CPU-s, dim ${embeddings.dim}, ` +
        `numTensors ${run.tensorsFlat ? 'flat' : `${tensorsBefore}→${tf.memory().numTensors}`}, peak RSS ${peakRssMiB().toFixed(0)} MiB)`,
    );
    if (!reference.ok) continue;
    const ref = await runReference(
      ['embed', '--dir', jpegs.dir, '--limit', String(count), '--size', String(size), '--batch', String(batch), '--seed', String(seed)],
      torchThreads,
    );
    const blasLine = referenceBlasLine(ref);
    if (blasLine) console.log(blasLine);
    if (numberField(ref, 'images') !== count) throw new Error(`the reference embedded ${numberField(ref, 'images')} images, expected ${count}`);
    const t = { rate: numberField(ref, 'imagesPerSecond'), cpu: numberField(ref, 'imagesPerCpuSecond'), rss: numberField(ref, 'maxRssMiB') };
    torch.push(t);
    console.log(
      `round ${r} torch: ${t.rate.toFixed(1)} img/s (${numberField(ref, 'seconds').toFixed(2)} s, ${t.cpu.toFixed(1)} img/CPU-s, ` +
        `dim ${numberField(ref, 'dim')}, peak RSS ${t.rss.toFixed(0)} MiB)`,
    );
  }
  encoder.dispose();

  const ratios = torch.map((t, i) => (ours[i]?.rate as number) / t.rate);
  const skipped = torch.length === 0;
  const flat = ours.every((o) => o.tensorsFlat);
  console.log(`\nembedding throughput from JPEG files, ${size}×${size}, batch ${batch} (median of ${rounds} round(s), min–max in brackets; ratio = ours/torch, paired per round)`);
  console.log(
    table([
      ['size', 'ours img/s', 'torch img/s', 'ratio', 'ours img/CPU-s', 'torch img/CPU-s', 'numTensors flat'],
      [
        `${size}×${size}`,
        describeRate(ours.map((o) => o.rate)),
        skipped ? 'skipped' : describeRate(torch.map((t) => t.rate)),
        skipped ? '-' : describeRatio(ratios),
        describeRate(ours.map((o) => o.cpu)),
        skipped ? 'skipped' : describeRate(torch.map((t) => t.cpu)),
        flat ? 'yes' : 'NO',
      ],
    ]),
  );
  const rss = peakRssMiB();
  const torchRss = skipped ? null : Math.max(...torch.map((t) => t.rss));
  console.log(`peak RSS: ours ${rss.toFixed(0)} MiB${torchRss !== null ? `, torch ${torchRss.toFixed(0)} MiB` : ''}`);
  await writeJsonResult(jsonFile, {
    bench: 'embed',
    size,
    batch,
    concurrency,
    images: count,
    rounds,
    torchThreads,
    reference: reference.ok ? reference.torch : null,
    oursImagesPerSecond: ours.map((o) => o.rate),
    oursImagesPerCpuSecond: ours.map((o) => o.cpu),
    torchImagesPerSecond: torch.map((t) => t.rate),
    torchImagesPerCpuSecond: torch.map((t) => t.cpu),
    oursMedian: median(ours.map((o) => o.rate)),
    torchMedian: skipped ? null : median(torch.map((t) => t.rate)),
    ratio: skipped ? null : median(ratios),
    tensorsFlat: flat,
    peakRssMiB: rss,
    torchPeakRssMiB: torchRss,
  });
}

await main();
