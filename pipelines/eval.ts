// Eval: on a labelled folder (class = immediate sub-folder), train, embed and compare
// precision@10 of the CAE embedding with the raw-pixel baseline at the same size.
import { openSource } from '../shared/storage/open.js';
import { pixelMatrix, type DecodedImages } from '../shared/images/decoded.js';
import { decodeObjects, listImages } from './ingest.js';
import { labelsOf, precisionAtK } from './evaluate.js';
import { runLocal, type LocalRunOptions, type LocalRunResult } from './local-run.js';

export interface EvalReport {
  images: number;
  classes: number;
  failed: number;
  precisionAt10: { embedding: number; rawPixels: number };
  embeddingDim: number;
  rawPixelDim: number;
  epochsRun: number;
  seconds: number;
}

export async function evaluateFolder(o: LocalRunOptions): Promise<{ report: EvalReport; run: LocalRunResult }> {
  // Check the folder is labelled before spending minutes training on it.
  const { images } = await listImages(await openSource(o.source));
  labelsOf(images.map((i) => i.key));
  const run = await runLocal({ ...o, cluster: o.cluster ?? false });
  return { report: await retrievalReport(run), run };
}

/**
 * precision@k of the run's embeddings against the raw pixels of the same images at the
 * model's size: the decoded training sample when it holds every embedded image (up to
 * --train-sample images), else decoded again.
 */
export async function retrievalReport(run: LocalRunResult, k = 10): Promise<EvalReport> {
  const { embedded, model } = run;
  const labels = labelsOf(embedded.keys);
  const images = await rawImages(run);
  const rawDim = images.size * images.size * 3;
  return {
    images: embedded.keys.length,
    classes: new Set(labels).size,
    failed: run.failures.length,
    precisionAt10: {
      embedding: precisionAtK(embedded.vectors, embedded.dim, labels, k),
      rawPixels: precisionAtK(pixelMatrix(images), rawDim, labels, k),
    },
    embeddingDim: embedded.dim,
    rawPixelDim: rawDim,
    epochsRun: model.training.epochsRun,
    seconds: run.seconds.total,
  };
}

/** The embedded images' pixels, in the order of the embeddings. */
async function rawImages(run: LocalRunResult): Promise<DecodedImages> {
  const { embedded, trainImages } = run;
  const row = new Map(trainImages.keys.map((key, i) => [key, i]));
  const rows = embedded.keys.map((key) => row.get(key));
  if (rows.every((r) => r !== undefined)) {
    const per = trainImages.size * trainImages.size * 3;
    const pixels = new Uint8Array(rows.length * per);
    rows.forEach((r, i) => pixels.set(trainImages.pixels.subarray(r * per, (r + 1) * per), i * per));
    const pick = <T>(values: readonly T[]) => rows.map((r) => values[r] as T);
    return { size: trainImages.size, keys: [...embedded.keys], etags: pick(trainImages.etags), widths: pick(trainImages.widths), heights: pick(trainImages.heights), pixels };
  }
  const objects = embedded.keys.map((key, i) => ({ key, etag: embedded.etags[i] ?? '' }));
  // These images decoded once already (under the run's pixel limit): no limit again.
  const { images } = await decodeObjects(run.source, objects, { size: run.model.inputSize, fit: run.model.fit, maxPixels: Number.MAX_SAFE_INTEGER, concurrency: 4 });
  if (images.keys.length !== embedded.keys.length) throw new Error(`eval: ${embedded.keys.length - images.keys.length} embedded image(s) no longer decode`);
  return images;
}
