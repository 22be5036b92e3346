// Eval: on a labelled folder (class = immediate sub-folder), train, embed and compare
// precision@10 of the CAE embedding with the raw-pixel baseline at the same size.
import { openSource } from '../shared/storage/open.js';
import { pixelMatrix } from '../shared/images/decoded.js';
import { listImages } from './ingest.js';
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
  return { report: retrievalReport(run), run };
}

export function retrievalReport(run: LocalRunResult, k = 10): EvalReport {
  const { images, embeddings } = run;
  const labels = labelsOf(images.keys);
  const rawDim = images.size * images.size * 3;
  return {
    images: images.keys.length,
    classes: new Set(labels).size,
    failed: run.failures.length,
    precisionAt10: {
      embedding: precisionAtK(embeddings.vectors, embeddings.dim, labels, k),
      rawPixels: precisionAtK(pixelMatrix(images), rawDim, labels, k),
    },
    embeddingDim: embeddings.dim,
    rawPixelDim: rawDim,
    epochsRun: run.model.meta.training.epochsRun,
    seconds: run.seconds.total,
  };
}
