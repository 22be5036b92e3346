// The in-process runner (local mode): ingest → train → embed → index → cluster on a
// folder, everything written under one output folder. Failures are written first so
// nothing learnt about bad files is lost if a later stage fails.
import type { Config } from '../shared/config/index.js';
import type { Logger } from '../shared/logger.js';
import { saveLayersModel, saveMeta } from '../shared/model/store.js';
import { renderImageGrid } from '../shared/images/image-grid.js';
import { LocalStorage } from '../shared/storage/local.js';
import { openSource } from '../shared/storage/open.js';
import type { Storage } from '../shared/storage/types.js';
import { FlatIndex } from '../shared/vectors/flat-index.js';
import { clusterEmbeddings, writeClusters, type ClusterResult } from './cluster.js';
import type { DecodedImages, Failure } from '../shared/images/decoded.js';
import { embedDecoded, type Embeddings } from './embed.js';
import { ingest } from './ingest.js';
import { OUTPUT, type IndexManifest } from './layout.js';
import { taskPreview, taskSpecFromMeta } from '../shared/tasks/index.js';
import { trainAutoencoder, type TrainResult } from '../shared/model/training/index.js';

export interface LocalRunOptions {
  source: string;
  out: string;
  config: Config;
  logger?: Logger;
  progressBar?: boolean;
  /** Skip t-SNE/k-means (eval does not need them). */
  cluster?: boolean;
}

export interface LocalRunResult {
  out: string;
  images: DecodedImages;
  failures: Failure[];
  model: TrainResult;
  embeddings: Embeddings;
  clusters?: ClusterResult;
  seconds: { ingest: number; train: number; embed: number; cluster: number; total: number };
}

export async function runLocal(o: LocalRunOptions): Promise<LocalRunResult> {
  const c = o.config;
  const t0 = performance.now();
  const source = await openSource(o.source);
  const out = new LocalStorage(o.out);
  const common = { logger: o.logger, progressBar: o.progressBar };

  const ingested = await ingest(source, {
    size: c.imageSize,
    fit: c.fit,
    maxPixels: c.maxPixels,
    concurrency: c.decodeConcurrency,
    ...common,
  });
  const { images, failures } = ingested;
  await out.put(OUTPUT.failures, JSON.stringify(failures, null, 2));
  await out.put(
    OUTPUT.manifest,
    JSON.stringify(
      {
        source: source.uri,
        listed: ingested.listed,
        decoded: images.keys.length,
        failed: failures.length,
        size: c.imageSize,
        fit: c.fit,
        images: images.keys.map((key, i) => ({ key, etag: images.etags[i], width: images.widths[i], height: images.heights[i] })),
      },
      null,
      1,
    ),
  );
  const t1 = performance.now();

  const model = await trainAutoencoder(images, {
    filters: c.filters,
    kernelSize: c.kernelSize,
    epochs: c.epochs,
    batchSize: c.batchSize,
    trainThreads: c.trainThreads,
    learningRate: c.learningRate,
    optimizer: c.optimizer,
    weightDecay: c.weightDecay,
    patience: c.patience,
    validationSplit: c.validationSplit,
    seed: c.seed,
    fit: c.fit,
    source: source.uri,
    ...common,
  });
  await saveModel(out, OUTPUT.modelPrefix, model, images);
  const t2 = performance.now();

  const embeddings = await embedDecoded(model.encoder, images, { batchSize: c.embedBatchSize, ...common });
  await writeIndex(out, embeddings, { source: source.uri, model: OUTPUT.modelPrefix, modelId: model.meta.modelId });
  const t3 = performance.now();

  let clusters: ClusterResult | undefined;
  if (o.cluster !== false && images.keys.length >= 3) {
    clusters = clusterEmbeddings(embeddings, {
      pcaComponents: c.pcaComponents,
      perplexity: c.perplexity,
      iterations: c.tsneIterations,
      clusters: c.clusters,
      seed: c.seed,
      ...common,
    });
    await writeClusters(out, clusters, `${images.keys.length} images, ${clusters.k} clusters`);
  }
  const t4 = performance.now();
  const s = (a: number, b: number) => (b - a) / 1000;
  return {
    out: out.root,
    images,
    failures,
    model,
    embeddings,
    ...(clusters ? { clusters } : {}),
    seconds: { ingest: s(t0, t1), train: s(t1, t2), embed: s(t2, t3), cluster: s(t3, t4), total: s(t0, t4) },
  };
}

/** encoder/, decoder/, meta.json and preview.png (validation inputs above their reconstructions; tasks: input / output / target). */
export async function saveModel(out: Storage, prefix: string, model: TrainResult, images: DecodedImages): Promise<void> {
  await saveLayersModel(model.encoder, out, `${prefix}encoder/`);
  await saveLayersModel(model.decoder, out, `${prefix}decoder/`);
  await saveMeta(out, prefix, model.meta);
  const shown = spread(model.validationIndices, 8);
  const preview = taskPreview(model, images, shown, taskSpecFromMeta(model.meta), model.meta.taskParams?.seed ?? 0);
  await out.put(`${prefix}preview.png`, await renderImageGrid(preview.rows, images.size, { rowLabels: preview.labels }));
}

export async function writeIndex(
  out: Storage,
  e: Embeddings,
  ref: Pick<IndexManifest, 'source' | 'model' | 'modelId'>,
): Promise<FlatIndex> {
  const index = FlatIndex.fromMatrix(e.keys, e.vectors, e.dim);
  await index.save(out);
  const manifest: IndexManifest = { version: 1, ...ref, dim: e.dim, count: e.keys.length, createdAt: new Date().toISOString() };
  await out.put(OUTPUT.index, JSON.stringify(manifest, null, 2));
  return index;
}

/** Up to n items evenly spread over the list (previews show more than the first class). */
function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)] as T);
}
