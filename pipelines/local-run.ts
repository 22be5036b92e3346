// The local driver: ingest → train → embed → index → cluster on a folder (or any
// source), in-process, with local adapters — the output folder as model store and
// artefact store, the embedded FlatIndex as vector index. It calls the same stage
// functions as the queue workers (pipelines/distributed/handlers.ts), in the order of
// the pipeline graph (pipelines/distributed/graph.ts), in one process.
// The steps (listLocally, trainLocally, embedLocally) are also what `imgsim train` and
// `imgsim embed` run. failures.json is written as soon as something is known, so nothing
// learnt about bad files is lost if a later stage fails.
// The embed stage streams: each encoded batch is appended to embeddings.npy, ids.json and
// manifest.json as it comes (FlatIndexWriter), and the index is then read from the folder
// once (FlatIndex.load: one copy of the vectors, in shared memory) — peak memory is the
// vectors plus a few bytes of metadata per image, not a second and third copy of them.
// A large index then gets its int8 search copy written beside it (embeddings.int8, one
// pass over the vectors, a chunk at a time), so that `imgsim search` reads it instead of
// building it at its first query.
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../shared/config/index.js';
import { UserError } from '../shared/errors.js';
import type { DecodedImages, Failure } from '../shared/images/decoded.js';
import { sortByKey } from '../shared/images/failures.js';
import type { Logger } from '../shared/logger.js';
import type { ModelMeta } from '../shared/model/meta.js';
import type { LoadedModel } from '../shared/model/store.js';
import { LocalStorage } from '../shared/storage/local.js';
import { locationOf } from '../shared/storage/location.js';
import { openSource } from '../shared/storage/open.js';
import type { Storage } from '../shared/storage/types.js';
import { FlatIndex } from '../shared/vectors/flat-index.js';
import { FlatIndexWriter } from '../shared/vectors/flat-index-writer.js';
import { clusterIndex, type ClusterResult } from './cluster.js';
import { embedBatches, embeddingDimOf, type EmbeddedImages } from './embed.js';
import { checkTaskSize } from '../shared/tasks/batches.js';
import type { TaskSpec } from '../shared/tasks/index.js';
import { listSource, trainingSample, type Listing } from './ingest.js';
import { OUTPUT, writeIndexManifest } from './layout.js';
import { trainModel, type Trained } from './train.js';

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
  /** The decoded training sample (the model's input size and fit). */
  trainImages: DecodedImages;
  embedded: EmbeddedImages;
  index: FlatIndex;
  clusters?: ClusterResult;
  seconds: { ingest: number; train: number; embed: number; cluster: number; total: number };
}

export async function runLocal(o: LocalRunOptions): Promise<LocalRunResult> {
  const t0 = performance.now();
  // Settings the model cannot take are refused before the source is listed or anything written.
  checkTaskSize({ task: 'reconstruct' }, o.config.imageSize, o.config.filters);
  const ctx: LocalContext = {
    source: await openSource(o.source),
    out: new LocalStorage(o.out),
    config: o.config,
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.progressBar !== undefined ? { progressBar: o.progressBar } : {}),
  };
  const listing = await listLocally(ctx);
  const t1 = performance.now();
  const trained = await trainLocally(ctx, listing);
  const model = trained.model.meta;
  const t2 = performance.now();
  let embeddedLocally: Awaited<ReturnType<typeof embedLocally>>;
  try {
    embeddedLocally = await embedLocally(ctx, listing, { meta: model, encoder: trained.model.encoder }, OUTPUT.modelPrefix, trained.images);
  } finally {
    trained.model.encoder.dispose();
    trained.model.decoder.dispose();
  }
  const { embedded, failures, index } = embeddedLocally;
  const t3 = performance.now();
  const clusters = o.cluster === false ? undefined : await clusterIndex({ index, out: ctx.out, modelId: model.modelId, settings: o.config, title: path.basename(ctx.source.uri), ...common(ctx) });
  if (!clusters) await removeStaleMap(ctx.out);
  const t4 = performance.now();
  const s = (a: number, b: number) => (b - a) / 1000;
  return {
    out: ctx.out.root,
    source: ctx.source,
    listing,
    failures,
    model,
    trainImages: trained.images,
    embedded,
    index,
    ...(clusters ? { clusters } : {}),
    seconds: { ingest: s(t0, t1), train: s(t1, t2), embed: s(t2, t3), cluster: s(t3, t4), total: s(t0, t4) },
  };
}

/** What the local steps share: the source, the output folder (model store and artefact store), settings, display. */
export interface LocalContext {
  source: Storage;
  out: LocalStorage;
  config: Config;
  logger?: Logger;
  progressBar?: boolean;
  /** From this many stored values (rows × dim) the index searches an int8 copy, stored beside it (FlatIndex.largeFrom; tests lower it). */
  largeIndexFrom?: number;
}

function common(ctx: LocalContext): { logger?: Logger; progressBar?: boolean } {
  return { ...(ctx.logger ? { logger: ctx.logger } : {}), ...(ctx.progressBar !== undefined ? { progressBar: ctx.progressBar } : {}) };
}

/** The ingest stage on the source; refuses a source without images; failures.json lists the other files at once. */
export async function listLocally(ctx: LocalContext): Promise<Listing> {
  const listing = await listSource(ctx.source);
  if (listing.images.length === 0) throw new UserError(`No images found in ${locationOf(ctx.source)}: ${otherFiles(listing.ignored.length)}`);
  ctx.logger?.info({ source: ctx.source.uri, images: listing.images.length, ignored: listing.ignored.length }, 'listed');
  await writeFailures(ctx.out, listing.ignored);
  return listing;
}

/** What a folder without images holds, for the message refusing it. */
function otherFiles(n: number): string {
  return n === 0 ? 'the folder is empty' : n === 1 ? 'its one file is not an image' : `none of its ${n} files is an image`;
}

/** The train stage on the seeded sample (--train-sample), the model into <out>/model/ (the caller disposes it). */
export async function trainLocally(ctx: LocalContext, listing: Listing, task?: TaskSpec): Promise<Trained> {
  const sample = trainingSample(listing.images, ctx.config.trainSample, ctx.config.seed, ctx.source.uri);
  return trainModel({ source: ctx.source, sample, settings: ctx.config, ...(task ? { task } : {}), models: { storage: ctx.out, prefixOf: () => OUTPUT.modelPrefix }, ...common(ctx) });
}

/**
 * The embed and index stages with the local adapters: the listing's images streamed into
 * a FlatIndex folder in <out> (embeddings.npy, ids.json, manifest.json appended batch by
 * batch), index.json (`modelRef`: the model folder, relative to <out> or absolute) and
 * failures.json written, then the index read back once and, when large, its int8 search
 * copy written. `embedded.vectors` is the index's own matrix (a view, not a copy).
 */
export async function embedLocally(
  ctx: LocalContext,
  listing: Listing,
  model: LoadedModel,
  modelRef: string,
  predecoded?: DecodedImages,
): Promise<{ embedded: EmbeddedImages; failures: Failure[]; index: FlatIndex }> {
  const c = ctx.config;
  const dim = embeddingDimOf(model.encoder);
  const meta: Omit<EmbeddedImages, 'vectors'> = { modelId: model.meta.modelId, dim, keys: [], etags: [], widths: [], heights: [] };
  const writer = await FlatIndexWriter.create(ctx.out, dim);
  const manifest = await ManifestWriter.create(ctx.out, { source: ctx.source.uri, listed: listing.images.length + listing.ignored.length, size: model.meta.inputSize, fit: model.meta.fit });
  let bad: Failure[];
  try {
    ({ failures: bad } = await embedBatches(
      {
        source: ctx.source,
        objects: listing.images,
        model,
        settings: { maxPixels: c.maxPixels, batchSize: c.embedBatchSize, concurrency: c.decodeConcurrency },
        ...(predecoded ? { predecoded } : {}),
        ...common(ctx),
      },
      async (batch) => {
        await writer.append(batch.keys, batch.vectors);
        await manifest.append(batch);
        meta.keys.push(...batch.keys);
        meta.etags.push(...batch.etags);
        meta.widths.push(...batch.widths);
        meta.heights.push(...batch.heights);
      },
    ));
  } catch (error) {
    await writer.abort();
    await manifest.abort();
    throw error;
  }
  const failures = await writeFailures(ctx.out, [...listing.ignored, ...bad]);
  await writer.close();
  await manifest.close({ decoded: meta.keys.length, failed: failures.length });
  const index = await FlatIndex.load(ctx.out);
  if (ctx.largeIndexFrom !== undefined) index.largeFrom = ctx.largeIndexFrom;
  const t0 = performance.now();
  if (await index.saveSearchCopy(ctx.out)) ctx.logger?.info({ rows: await index.count(), seconds: Math.round(performance.now() - t0) / 1000 }, 'int8 search copy written');
  await writeIndexManifest(ctx.out, { source: ctx.source.uri, model: modelRef, modelId: meta.modelId, dim, count: await index.count() });
  return { embedded: { ...meta, vectors: index.view() }, failures, index };
}

/**
 * manifest.json written as the images are embedded: the run's facts first, one entry per
 * embedded image as it comes, the counts known only at the end last.
 */
class ManifestWriter {
  private entries = 0;
  private constructor(
    private readonly handle: FileHandle,
    private readonly file: string,
  ) {}

  static async create(out: LocalStorage, head: { source: string; listed: number; size: number; fit: string }): Promise<ManifestWriter> {
    const file = out.resolveKey(OUTPUT.manifest);
    const handle = await open(`${file}.partial`, 'w');
    const fields = Object.entries(head).map(([k, v]) => ` ${JSON.stringify(k)}: ${JSON.stringify(v)},\n`);
    await handle.write(`{\n${fields.join('')} "images": [`);
    return new ManifestWriter(handle, file);
  }

  async append(e: Omit<EmbeddedImages, 'vectors' | 'modelId' | 'dim'>): Promise<void> {
    const lines = e.keys.map((key, i) => `${this.entries + i === 0 ? '' : ','}\n  ${JSON.stringify({ key, etag: e.etags[i], width: e.widths[i], height: e.heights[i] })}`);
    this.entries += e.keys.length;
    await this.handle.write(lines.join(''));
  }

  async close(counts: { decoded: number; failed: number }): Promise<void> {
    try {
      await this.handle.write(`${this.entries === 0 ? '' : '\n '}],\n "decoded": ${counts.decoded},\n "failed": ${counts.failed}\n}\n`);
    } finally {
      await this.handle.close();
    }
    await rename(`${this.file}.partial`, this.file);
  }

  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(`${this.file}.partial`, { force: true });
  }
}

/** A run that maps nothing (fewer than 3 images, or no cluster stage) leaves no map of an earlier run behind. */
async function removeStaleMap(out: Storage): Promise<void> {
  await out.delete(OUTPUT.clusters);
  await out.delete(OUTPUT.clusterPlot);
}

async function writeFailures(out: Storage, failures: Failure[]): Promise<Failure[]> {
  const sorted = sortByKey([...failures]);
  await out.put(OUTPUT.failures, JSON.stringify(sorted, null, 2));
  return sorted;
}
