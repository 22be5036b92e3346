// The search stage: embed a query image with the index's model and return its nearest
// neighbours by cosine similarity, from any vector index — a local index folder
// (openIndex) or a queued dataset's Qdrant collection (shared/runs/open-dataset.ts).
// Plus the contact sheet (the query, then each neighbour labelled with key and score).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLUSTERS_FILE, clustersFileSchema } from '../shared/analysis/clusters-file.js';
import { mapConcurrent } from '../shared/concurrency.js';
import { fileProblem, ImageError, UserError } from '../shared/errors.js';
import { MAX_SHEET_RESULTS, renderContactSheet } from '../shared/images/contact-sheet.js';
import { decodeImage } from '../shared/images/decode.js';
import { loadEncoder, type LoadedModel } from '../shared/model/store.js';
import { LocalStorage } from '../shared/storage/local.js';
import type { Storage } from '../shared/storage/types.js';
import { FlatIndex } from '../shared/vectors/flat-index.js';
import type { Neighbor, SearchFilter, VectorIndex } from '../shared/vectors/types.js';
import { encodeBatch } from './embed.js';
import { readIndexManifest, type IndexManifest } from './layout.js';

/** A query image that does not decode: a UserError that keeps the decoder's reason (the API maps it to 413/415). */
export class QueryImageError extends UserError {
  override readonly name = 'QueryImageError';
  constructor(
    readonly reason: string,
    /** "<reason>: <decoder message>". */
    readonly detail: string,
    queryName: string,
  ) {
    super(`Cannot decode the query image ${queryName} (${detail})`);
  }
}

/** What is said of a query image that decodes only by ignoring decoder warnings (it is still searched). */
export function corruptQueryMessage(name: string, warning: string): string {
  return `query image ${name} decoded with corruption warnings (${warning}): parts of it may be grey or garbled, and its neighbours with it`;
}

/**
 * The embedding of one query image under a model. A query that decodes with corruption
 * warnings (libvips failOn 'warning', shared/images/decode.ts) is embedded all the same
 * and its warning passed to `onCorruption`.
 */
export async function embedQuery(model: LoadedModel, image: Buffer, name: string, maxPixels: number, onCorruption?: (warning: string) => void): Promise<Float32Array> {
  const { meta, encoder } = model;
  let decoded;
  try {
    decoded = await decodeImage(image, { size: meta.inputSize, fit: meta.fit, maxPixels, detectCorruption: true });
  } catch (error) {
    if (!(error instanceof ImageError)) throw error;
    throw new QueryImageError(error.reason, `${error.reason}: ${error.message}`, name);
  }
  if (decoded.corruption !== undefined) onCorruption?.(decoded.corruption);
  return encodeBatch(encoder, decoded.data, 1, meta.inputSize);
}

/**
 * The embeddings of several query images under one model: decoded `concurrency` at a
 * time, encoded `batchSize` per forward pass (one pass costs little more than one image's).
 * A query that does not decode is its QueryImageError, in its place; one that decodes
 * with corruption warnings is embedded, and its name and warning passed to `onCorruption`.
 */
export async function embedQueries(
  model: LoadedModel,
  queries: ReadonlyArray<{ image: Buffer; name: string }>,
  o: { maxPixels: number; concurrency: number; batchSize: number; onCorruption?: (name: string, warning: string) => void },
): Promise<Array<Float32Array | QueryImageError>> {
  const { meta, encoder } = model;
  const decoded = await mapConcurrent(queries, o.concurrency, async (q) => {
    try {
      const d = await decodeImage(q.image, { size: meta.inputSize, fit: meta.fit, maxPixels: o.maxPixels, detectCorruption: true });
      if (d.corruption !== undefined) o.onCorruption?.(q.name, d.corruption);
      return d.data;
    } catch (error) {
      if (!(error instanceof ImageError)) throw error;
      return new QueryImageError(error.reason, `${error.reason}: ${error.message}`, q.name);
    }
  });
  const out: Array<Float32Array | QueryImageError> = decoded.map((d) => (d instanceof QueryImageError ? d : new Float32Array(0)));
  const good = decoded.flatMap((d, i) => (d instanceof QueryImageError ? [] : [{ i, data: d }]));
  const pixels = meta.inputSize * meta.inputSize * 3;
  for (let start = 0; start < good.length; start += o.batchSize) {
    const batch = good.slice(start, start + o.batchSize);
    const input = new Float32Array(batch.length * pixels);
    batch.forEach((b, j) => input.set(b.data, j * pixels));
    const vectors = encodeBatch(encoder, input, batch.length, meta.inputSize);
    const dim = vectors.length / batch.length;
    batch.forEach((b, j) => (out[b.i] = vectors.slice(j * dim, (j + 1) * dim)));
  }
  return out;
}

export interface SearchInput {
  index: VectorIndex;
  model: LoadedModel;
  query: Buffer;
  /** Shown in messages (a path, an upload's file name). */
  queryName: string;
  k: number;
  excludeKeys?: ReadonlySet<string>;
  filter?: SearchFilter;
  maxPixels: number;
  /** Told the decoder's warning when the query decodes with corruption warnings (it is searched all the same). */
  onCorruption?: (warning: string) => void;
}

export async function searchIndex(input: SearchInput): Promise<Neighbor[]> {
  const vector = await embedQuery(input.model, input.query, input.queryName, input.maxPixels, input.onCorruption);
  return input.index.search(vector, {
    k: input.k,
    ...(input.excludeKeys ? { excludeKeys: input.excludeKeys } : {}),
    ...(input.filter ? { filter: input.filter } : {}),
  });
}

// ---- local index folders (imgsim run / embed output) ---------------------------------

export interface OpenedIndex {
  dir: string;
  manifest: IndexManifest;
  index: FlatIndex;
  model: LoadedModel;
  /** The source folder's path, when it is local. */
  sourceRoot?: string;
}

/** The local adapters of an index folder: its FlatIndex (with clusters.json's labels when present, its int8 copy built when large) and its model. */
export async function openIndex(dir: string): Promise<OpenedIndex> {
  const storage = new LocalStorage(dir);
  const manifest = await readIndexManifest(storage);
  const index = await FlatIndex.load(storage);
  const modelStorage = path.isAbsolute(manifest.model) ? new LocalStorage(manifest.model) : storage;
  const model = await loadEncoder(modelStorage, path.isAbsolute(manifest.model) ? '' : manifest.model);
  if (model.meta.embeddingDim !== index.dim) {
    throw new UserError(`The index in ${dir} has ${index.dim}-dimensional vectors but its model produces ${model.meta.embeddingDim}`);
  }
  await applyClusterLabels(storage, index, manifest);
  index.prepareSearch();
  return {
    dir: storage.root,
    manifest,
    index,
    model,
    ...(manifest.source.startsWith('file://') ? { sourceRoot: fileURLToPath(manifest.source) } : {}),
  };
}

/** The labels of the folder's clusters.json, when it maps this very index (same model, same count). */
async function applyClusterLabels(storage: Storage, index: FlatIndex, manifest: IndexManifest): Promise<void> {
  if (!(await storage.exists(CLUSTERS_FILE))) return;
  let parsed;
  try {
    parsed = clustersFileSchema.safeParse(JSON.parse((await storage.get(CLUSTERS_FILE)).toString('utf8')));
  } catch {
    return; // an unreadable map only loses the cluster labels
  }
  if (!parsed.success || parsed.data.modelId !== manifest.modelId || Object.keys(parsed.data.points).length !== (await index.count())) return;
  await index.setClusters(Object.entries(parsed.data.points).map(([key, p]) => ({ key, ...p })));
}

/** The source folder of a local index, as storage (contact sheets, feature matching). */
export function indexSource(opened: OpenedIndex): Storage | undefined {
  return opened.sourceRoot ? new LocalStorage(opened.sourceRoot) : undefined;
}

/** How many of `found` neighbours a contact sheet shows. */
export function sheetNeighbours(found: number): number {
  return Math.min(found, MAX_SHEET_RESULTS);
}

/**
 * The k a search uses: at most the number of images it can return (the indexed images,
 * less the query itself with --exclude-self), and a warning naming both when that is
 * fewer than asked (no warning when k is within it).
 */
export function capK(k: number, indexed: number, flag = '-k'): { k: number; warning?: string } {
  if (k <= indexed) return { k };
  const used = Math.max(1, indexed);
  return { k: used, warning: `${flag} ${k} is more than the ${indexed} indexed images: searching for ${used}` };
}

export async function readQuery(queryPath: string): Promise<Buffer> {
  try {
    return await readFile(queryPath);
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'ENOENT';
    throw new UserError(missing ? `Query image not found: ${queryPath}` : `Cannot read the query image ${queryPath}: it ${fileProblem(error)}`, 2, { cause: error });
  }
}

/** The query's key when the query file lies inside the index's source folder. */
export function keyWithinSource(opened: OpenedIndex, queryPath: string): string | undefined {
  if (!opened.sourceRoot) return undefined;
  const rel = path.relative(opened.sourceRoot, path.resolve(queryPath));
  return rel.startsWith('..') || path.isAbsolute(rel) ? undefined : rel.split(path.sep).join('/');
}

/**
 * PNG: the query first, then each neighbour (read from `source` when given) labelled with
 * its key and score — the first MAX_SHEET_RESULTS of them (sheetNeighbours); only those are read.
 */
export async function renderSearchSheet(query: { image: Buffer; name: string }, neighbors: readonly Neighbor[], source: Storage | undefined): Promise<Buffer> {
  const tiles = await Promise.all(
    neighbors.slice(0, MAX_SHEET_RESULTS).map(async (n) => ({
      image: source ? await source.get(n.key).catch(() => Buffer.alloc(0)) : Buffer.alloc(0),
      label: `${n.key}  ${n.score.toFixed(3)}`,
    })),
  );
  return renderContactSheet({ image: query.image, label: `query: ${path.basename(query.name)}` }, tiles);
}
