// The one dataset of `imgsim serve --index <dir>`: a local index folder (written by
// `imgsim run` or `imgsim embed`), opened once at start-up — index.json, the model, the
// vectors (FlatIndex, with clusters.json's labels) and the source folder of its images.
// What changes while the server runs is read when asked: clusters.json / clusters.png
// (`imgsim cluster`), duplicates/duplicates.json (`imgsim duplicates --index`) and the
// dismissed pairs (dismissed-duplicates.json, the store `imgsim duplicates --dismiss` uses).
//
// Its name is the folder's base name made a valid dataset name (localDatasetName); its
// record has the queued server's shape: `collection` is the index folder (absolute path),
// `alias` the dataset name (what the URLs use), `updatedAt` when the index was built.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { DatasetRecord } from '../../../shared/runs/index.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import { openIndex, type OpenedIndex } from '../../../pipelines/search.js';
import { HttpError } from '../errors.js';

/** Dataset names: 1–63 lowercase letters, digits, - or _, starting with a letter or digit (shared/jobs/contracts.ts). */
const MAX_NAME = 63;

/**
 * The dataset name of an index folder: its base name lowercased, every run of other
 * characters than a–z, 0–9, - and _ made one '-', leading - and _ and trailing - dropped,
 * cut to 63; 'index' when nothing is left ("imgsim-demo/run" → "run", "My Photos (2024)" → "my-photos-2024").
 */
export function localDatasetName(dir: string): string {
  const base = path.basename(path.resolve(dir)).toLowerCase();
  const name = base
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, MAX_NAME)
    .replace(/-+$/, '');
  return name === '' ? 'index' : name;
}

export interface LocalDataset {
  name: string;
  /** The index folder (absolute). */
  dir: string;
  opened: OpenedIndex;
  /** The index folder as storage (clusters, duplicates, dismissals). */
  folder: LocalStorage;
  /** The folder of the indexed images. */
  source: LocalStorage;
  record: DatasetRecord;
  points: number;
  hasKey(key: string): boolean;
}

/**
 * Open an index folder once: a missing or damaged folder is refused in one line (exit 2,
 * pipelines/layout.ts readIndexManifest words it); so is an index whose images are not in
 * a local folder (thumbnails and feature search read them). A source folder that has gone
 * since is only warned about: search and the map work without it.
 */
export async function openLocalDataset(dir: string, logger?: Logger): Promise<LocalDataset> {
  const opened = await openIndex(dir);
  if (opened.sourceRoot === undefined) {
    throw new UserError(`The index in ${opened.dir} was built from ${opened.manifest.source}; imgsim serve --index needs its images in a local folder (thumbnails and feature search read them)`, 2);
  }
  const sourceRoot = opened.sourceRoot;
  const source = new LocalStorage(sourceRoot);
  if (!(await sourcePresent({ source }))) logger?.warn({ source: sourceRoot }, `the index's source folder ${sourceRoot} is missing: search and the map work, thumbnails and feature search do not`);
  const name = localDatasetName(opened.dir);
  const keys = new Set(opened.index.allKeys());
  const record: DatasetRecord = {
    name,
    source: opened.manifest.source,
    modelId: opened.manifest.modelId,
    collection: opened.dir,
    alias: name,
    updatedAt: opened.manifest.createdAt,
  };
  return {
    name,
    dir: opened.dir,
    opened,
    folder: new LocalStorage(opened.dir),
    source,
    record,
    points: keys.size,
    hasKey: (key) => keys.has(key),
  };
}

/**
 * The 503 of a request that reads the indexed images (`needs`: "Thumbnails are made from",
 * "Feature search decodes") while the index's source folder is missing (moved, unmounted):
 * not one image's fault, so not a 404 naming a key.
 */
export function sourceMissing(ds: LocalDataset, needs: string): HttpError {
  return new HttpError(503, `${needs} the indexed images, and the source folder of dataset "${ds.name}" (${ds.source.root}) is missing`);
}

/** Whether the index's source folder is there now (it may be moved or unmounted while the server runs). */
export function sourcePresent(ds: Pick<LocalDataset, 'source'>): Promise<boolean> {
  return stat(ds.source.root).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
