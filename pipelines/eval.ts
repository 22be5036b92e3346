// Eval: on a labelled folder (class = immediate sub-folder), train, embed and compare
// precision@10 of the CAE embedding with the raw-pixel baseline at the same size.
import { openSource } from '../shared/storage/open.js';
import { pixelMatrix } from '../shared/images/decoded.js';
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

/** precision@k of the run's embeddings against the raw pixels of the same images (decoded again at the model's size). */
export async function retrievalReport(run: LocalRunResult, k = 10): Promise<EvalReport> {
  const { embedded, model } = run;
  const labels = labelsOf(embedded.keys);
  const objects = embedded.keys.map((key, i) => ({ key, etag: embedded.etags[i] ?? '' }));
  const { images } = await decodeObjects(run.source, objects, { size: model.inputSize, fit: model.fit, maxPixels: Number.MAX_SAFE_INTEGER, concurrency: 4 });
  if (images.keys.length !== embedded.keys.length) throw new Error(`eval: ${embedded.keys.length - images.keys.length} embedded image(s) no longer decode`);
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
