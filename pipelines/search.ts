// Search: embed a query image with the index's model and return its nearest
// neighbours by cosine similarity, plus a contact sheet (query, then results labelled
// with key and score).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage, ImageError, UserError } from '../shared/errors.js';
import { renderContactSheet } from '../shared/images/contact-sheet.js';
import { decodeImage } from '../shared/images/decode.js';
import { loadEncoder, type LoadedModel } from '../shared/model/store.js';
import { LocalStorage } from '../shared/storage/local.js';
import { FlatIndex } from '../shared/vectors/flat-index.js';
import type { Neighbor } from '../shared/vectors/types.js';
import { encodeBatch } from './embed.js';
import { readIndexManifest, type IndexManifest } from './layout.js';

export interface OpenedIndex {
  dir: string;
  manifest: IndexManifest;
  index: FlatIndex;
  model: LoadedModel;
  /** The source folder's path, when it is local. */
  sourceRoot?: string;
}

export async function openIndex(dir: string): Promise<OpenedIndex> {
  const storage = new LocalStorage(dir);
  const manifest = await readIndexManifest(storage);
  const index = await FlatIndex.load(storage);
  const modelStorage = path.isAbsolute(manifest.model) ? new LocalStorage(manifest.model) : storage;
  const model = await loadEncoder(modelStorage, path.isAbsolute(manifest.model) ? '' : manifest.model);
  if (model.meta.embeddingDim !== index.dim) {
    throw new UserError(`The index in ${dir} has ${index.dim}-dimensional vectors but its model produces ${model.meta.embeddingDim}`);
  }
  return {
    dir: storage.root,
    manifest,
    index,
    model,
    ...(manifest.source.startsWith('file://') ? { sourceRoot: fileURLToPath(manifest.source) } : {}),
  };
}

/** The embedding of one image (bytes or path) under the index's model. */
export async function embedQuery(model: LoadedModel, image: Buffer, name: string, maxPixels: number): Promise<Float32Array> {
  const { meta, encoder } = model;
  let decoded;
  try {
    decoded = await decodeImage(image, { size: meta.inputSize, fit: meta.fit, maxPixels });
  } catch (error) {
    const why = error instanceof ImageError ? `${error.reason}: ${error.message}` : errorMessage(error);
    throw new UserError(`Cannot decode the query image ${name} (${why})`);
  }
  return encodeBatch(encoder, decoded.data, 1, meta.inputSize);
}

export interface SearchOptions {
  k: number;
  excludeSelf: boolean;
  maxPixels: number;
}

export interface SearchResult {
  query: string;
  neighbors: Neighbor[];
}

export async function searchSimilar(opened: OpenedIndex, queryPath: string, o: SearchOptions): Promise<SearchResult> {
  const vector = await embedQuery(opened.model, await readQuery(queryPath), queryPath, o.maxPixels);
  const selfKey = o.excludeSelf ? keyWithinSource(opened, queryPath) : undefined;
  const neighbors = await opened.index.search(vector, {
    k: o.k,
    ...(selfKey !== undefined ? { excludeKeys: new Set([selfKey]) } : {}),
  });
  return { query: queryPath, neighbors };
}

export async function readQuery(queryPath: string): Promise<Buffer> {
  try {
    return await readFile(queryPath);
  } catch (error) {
    throw new UserError(`Cannot read the query image ${queryPath}: ${errorMessage(error)}`);
  }
}

/** The query's key when it lies inside the indexed folder. */
function keyWithinSource(opened: OpenedIndex, queryPath: string): string | undefined {
  if (!opened.sourceRoot) return undefined;
  const rel = path.relative(opened.sourceRoot, path.resolve(queryPath));
  return rel.startsWith('..') || path.isAbsolute(rel) ? undefined : rel.split(path.sep).join('/');
}

/** PNG: the query first, then each neighbour labelled with its key and score. */
export async function renderSearchSheet(opened: OpenedIndex, result: SearchResult): Promise<Buffer> {
  const source = opened.sourceRoot ? new LocalStorage(opened.sourceRoot) : undefined;
  const tiles = await Promise.all(
    result.neighbors.map(async (n) => ({
      image: source ? await source.get(n.key).catch(() => Buffer.alloc(0)) : Buffer.alloc(0),
      label: `${n.key}  ${n.score.toFixed(3)}`,
    })),
  );
  return renderContactSheet({ image: await readFile(result.query), label: `query: ${path.basename(result.query)}` }, tiles);
}
