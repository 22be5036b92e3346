// The local driver: ingest → train → embed → index → cluster on a folder (or any
// source), in-process, with local adapters — the output folder as model store and
// artefact store, the embedded FlatIndex as vector index. It calls the same stage
// functions as the queue workers (pipelines/distributed/handlers.ts), in the order of
// the pipeline graph (pipelines/distributed/graph.ts), in one process.
// failures.json is written as soon as something is known, so nothing learnt about bad
// files is lost if a later stage fails.
import path from 'node:path';
import type { Config } from '../shared/config/index.js';
import { UserError } from '../shared/errors.js';
import type { Failure } from '../shared/images/decoded.js';
import type { Logger } from '../shared/logger.js';
import type { ModelMeta } from '../shared/model/meta.js';
import { LocalStorage } from '../shared/storage/local.js';
import { openSource } from '../shared/storage/open.js';
import type { Storage } from '../shared/storage/types.js';
import { FlatIndex } from '../shared/vectors/flat-index.js';
import { clusterIndex, type ClusterResult } from './cluster.js';
import { embedImages, type EmbeddedImages } from './embed.js';
import { indexVectors } from './index-vectors.js';
import { listSource, sortByKey, trainingSample, type Listing } from './ingest.js';
import { OUTPUT, writeIndexFolder } from './layout.js';
import { trainModel } from './train.js';

export interface LocalRunOptions {
  source: string;
  out: string;
  config: Config;
  logger?: Logger;
  progressBar?: boolean;
  /** Skip the cluster stage (eval does not need it). */
  cluster?: boolean;
}

export interface LocalRunResult {
  out: string;
  source: Storage;
  listing: Listing;
  /** Images not embedded (non-images, bad bytes), sorted by key. */
  failures: Failure[];
  model: ModelMeta;
  embedded: EmbeddedImages;
  index: FlatIndex;
  clusters?: ClusterResult;
  seconds: { ingest: number; train: number; embed: number; cluster: number; total: number };
}

export async function runLocal(o: LocalRunOptions): Promise<LocalRunResult> {
  const c = o.config;
  const common = { ...(o.logger ? { logger: o.logger } : {}), ...(o.progressBar !== undefined ? { progressBar: o.progressBar } : {}) };
  const t0 = performance.now();
  const source = await openSource(o.source);
  const out = new LocalStorage(o.out);

  const listing = await listSource(source);
  if (listing.images.length === 0) throw new UserError(`No images found in ${source.uri} (${listing.ignored.length} other files)`);
  o.logger?.info({ source: source.uri, images: listing.images.length, ignored: listing.ignored.length }, 'listed');
  await writeFailures(out, listing.ignored);
  const t1 = performance.now();

  const sample = trainingSample(listing.images, c.trainSample, c.seed, source.uri);
  const trained = await trainModel({ source, sample, settings: c, models: { storage: out, prefixOf: () => OUTPUT.modelPrefix }, ...common });
  const model = trained.model.meta;
  const t2 = performance.now();

  let embedded: EmbeddedImages;
  let failures: Failure[];
  try {
    ({ embedded, failures } = await embedImages({
      source,
      objects: listing.toEmbed,
      model: { meta: model, encoder: trained.model.encoder },
      settings: { maxPixels: c.maxPixels, batchSize: c.embedBatchSize, concurrency: c.decodeConcurrency },
      predecoded: trained.images,
      ...common,
    }));
  } finally {
    trained.model.encoder.dispose();
    trained.model.decoder.dispose();
  }
  failures = await writeFailures(out, [...listing.ignored, ...failures]);
  await out.put(OUTPUT.manifest, JSON.stringify(manifestOf(source, listing, embedded, failures, c), null, 1));
  const index = await indexLocally(out, embedded, { source: source.uri, model: OUTPUT.modelPrefix });
  const t3 = performance.now();

  const clusters =
    o.cluster === false
      ? undefined
      : await clusterIndex({ index, out, modelId: model.modelId, settings: c, title: path.basename(source.uri), ...common });
  const t4 = performance.now();
  const s = (a: number, b: number) => (b - a) / 1000;
  return {
    out: out.root,
    source,
    listing,
    failures,
    model,
    embedded,
    index,
    ...(clusters ? { clusters } : {}),
    seconds: { ingest: s(t0, t1), train: s(t1, t2), embed: s(t2, t3), cluster: s(t3, t4), total: s(t0, t4) },
  };
}

/** The index stage with the local adapter: a FlatIndex saved in `out` with its index.json. */
export async function indexLocally(out: Storage, embedded: EmbeddedImages, ref: { source: string; model: string }): Promise<FlatIndex> {
  const index = new FlatIndex(embedded.dim);
  await indexVectors(index, embedded);
  await writeIndexFolder(out, index, { ...ref, modelId: embedded.modelId });
  return index;
}

async function writeFailures(out: Storage, failures: Failure[]): Promise<Failure[]> {
  const sorted = sortByKey([...failures]);
  await out.put(OUTPUT.failures, JSON.stringify(sorted, null, 2));
  return sorted;
}

function manifestOf(source: Storage, listing: Listing, e: EmbeddedImages, failures: readonly Failure[], c: Config): unknown {
  return {
    source: source.uri,
    listed: listing.images.length + listing.ignored.length,
    decoded: e.keys.length,
    failed: failures.length,
    size: c.imageSize,
    fit: c.fit,
    images: e.keys.map((key, i) => ({ key, etag: e.etags[i], width: e.widths[i], height: e.heights[i] })),
  };
}
