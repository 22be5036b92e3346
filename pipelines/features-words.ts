// The visual-word index of a local index folder, for `imgsim features --method match`
// (features.ts): every indexed image's ORB print (keypoints, descriptors, visual words;
// shared/features/word-store.ts) computed once and stored beside the index as
// orb-words.bin, keyed by the index's model, build and keys and by the ORB settings, so a
// rebuilt index or other settings rebuild it. Kept in memory by a long-running process
// (the eval, a server): a query reads it, never the images.
//
// Building reads and decodes every indexed image once (~30 ms an image for 800 × 530
// JPEGs at 384 px and 1,000 keypoints on the 2-core dev machine), with progress. An
// image that cannot be read is stored without keypoints (and warned about): it is then
// only found through the autoencoder.
//
// A queued dataset (Qdrant) has no such store: building it would read every object of
// the source on the first query; its candidates stay the autoencoder's.

import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mapConcurrent } from '../shared/concurrency.js';
import { errorMessage } from '../shared/errors.js';
import { OrbWordStore, printOfFeatures, type StoredPrint } from '../shared/features/word-store.js';
import type { Logger } from '../shared/logger.js';
import { createProgress } from '../shared/progress.js';
import type { FeatureExtractor, ImageSource } from './features.js';
import type { OpenedIndex } from './search.js';

export const WORD_STORE_FILE = 'orb-words.bin';

/** What a stored word index must match to be reused. */
export interface WordStoreKey {
  modelId: string;
  /** Which build of the index (index.json's createdAt). */
  build: string;
  workingSize: number;
  nfeatures: number;
}

export interface WordStoreSource extends WordStoreKey {
  /** The index folder (the store is written there). */
  dir: string;
  /** The indexed keys, in index order. */
  keys: readonly string[];
  imageOf: (key: string) => ImageSource;
}

/** The word store's source for a local index folder. */
export function indexWordSource(opened: OpenedIndex, imageOf: (key: string) => ImageSource, settings: { workingSize: number; nfeatures: number }): WordStoreSource {
  return {
    dir: opened.dir,
    modelId: opened.manifest.modelId,
    build: opened.manifest.createdAt,
    workingSize: settings.workingSize,
    nfeatures: settings.nfeatures,
    keys: opened.index.allKeys(),
    imageOf,
  };
}

/** Stores built or read by this process, the last few, by folder. */
const remembered = new Map<string, OrbWordStore>();
const REMEMBER = 2;

function metaOf(s: WordStoreKey): Record<string, unknown> {
  return { modelId: s.modelId, build: s.build, workingSize: s.workingSize, nfeatures: s.nfeatures };
}

/** Whether a store was built for this source: same model, build, settings and keys (in order). */
function fits(store: OrbWordStore, s: WordStoreSource): boolean {
  const m = store.meta;
  if (m.modelId !== s.modelId || m.build !== s.build || m.workingSize !== s.workingSize || m.nfeatures !== s.nfeatures) return false;
  return store.keys.length === s.keys.length && store.keys.every((k, i) => k === s.keys[i]);
}

export interface WordStoreOptions {
  logger?: Logger;
  progressBar?: boolean;
  /** Images decoded at once while building (default 3: decoding runs on libuv's threads while ORB runs on this one). */
  concurrency?: number;
}

/**
 * The word store of an index folder: from memory, else from its orb-words.bin while it
 * fits the index and settings, else built (every image read once, with progress) and
 * written there. A store that cannot be written (a read-only folder) is used from memory.
 */
export async function wordStoreOf(source: WordStoreSource, extractor: FeatureExtractor, o: WordStoreOptions = {}): Promise<OrbWordStore> {
  const where = path.resolve(source.dir);
  const hit = remembered.get(where);
  if (hit && fits(hit, source)) return remember(where, hit);
  const file = path.join(where, WORD_STORE_FILE);
  const stored = await readStore(file);
  if (stored && fits(stored, source)) return remember(where, stored);
  const store = await buildWordStore(source, extractor, o);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, store.encode());
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    o.logger?.warn({ file, error: errorMessage(error) }, `cannot store the visual-word index in ${file} (${errorMessage(error)}); it is kept in memory only`);
  }
  return remember(where, store);
}

/** Every image's print, `concurrency` at a time, with progress; unreadable images are stored without keypoints. */
export async function buildWordStore(source: WordStoreSource, extractor: FeatureExtractor, o: WordStoreOptions = {}): Promise<OrbWordStore> {
  const { workingSize, nfeatures } = extractor.settings;
  if (workingSize !== source.workingSize || nfeatures !== source.nfeatures) throw new Error('the extractor and the word store disagree on the ORB settings');
  o.logger?.info(
    { images: source.keys.length, dir: source.dir },
    `building the visual-word index of the ${source.keys.length} indexed images (ORB at ${workingSize} px, ${nfeatures} keypoints; once per index, stored as ${WORD_STORE_FILE})`,
  );
  const progress = createProgress({ label: 'orb words', total: source.keys.length, unit: 'images', ...(o.logger ? { logger: o.logger } : {}), ...(o.progressBar !== undefined ? { bar: o.progressBar } : {}) });
  let done = 0;
  let failed = 0;
  try {
    const prints = await mapConcurrent(source.keys, o.concurrency ?? 3, async (key): Promise<StoredPrint | undefined> => {
      try {
        const image = source.imageOf(key);
        const features = await extractor.of(typeof image === 'function' ? await image() : image);
        return features.keypoints.length > 0 ? printOfFeatures(features) : undefined;
      } catch (error) {
        failed++;
        o.logger?.warn({ key, error: errorMessage(error) }, `cannot compute ORB features of ${key}: ${errorMessage(error)} (it is found through the autoencoder only)`);
        return undefined;
      } finally {
        progress.update(++done);
      }
    });
    const store = OrbWordStore.fromPrints(source.keys, prints, metaOf(source));
    o.logger?.info({ images: store.size, withoutKeypoints: store.empty, failed }, `visual-word index: ${store.size} images, ${store.empty} without keypoints`);
    return store;
  } finally {
    progress.stop();
  }
}

async function readStore(file: string): Promise<OrbWordStore | undefined> {
  try {
    return OrbWordStore.decode(await readFile(file));
  } catch {
    return undefined; // none yet, damaged or of another format: rebuilt
  }
}

function remember(where: string, store: OrbWordStore): OrbWordStore {
  remembered.delete(where);
  remembered.set(where, store);
  while (remembered.size > REMEMBER) remembered.delete(remembered.keys().next().value as string);
  return store;
}

/** Forget the stores kept in memory (tests; a process that wants the memory back). */
export function forgetWordStores(): void {
  remembered.clear();
}
