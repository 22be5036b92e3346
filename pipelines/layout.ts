// The files a local run writes under its output folder, and index.json, which ties an
// index folder to its model and source so `search` needs only `--index <dir>`.
import { z } from 'zod';
import { CLUSTER_PLOT_FILE, CLUSTERS_FILE } from '../shared/analysis/clusters-file.js';
import { UserError } from '../shared/errors.js';
import { locationOf, unreadableFolderFile, type FolderKind } from '../shared/storage/location.js';
import type { Storage } from '../shared/storage/types.js';
import type { FlatIndex } from '../shared/vectors/flat-index.js';

export const OUTPUT = {
  manifest: 'manifest.json',
  failures: 'failures.json',
  modelPrefix: 'model/',
  preview: 'model/preview.png',
  index: 'index.json',
  clusters: CLUSTERS_FILE,
  clusterPlot: CLUSTER_PLOT_FILE,
  searches: 'searches/',
} as const;

export const indexManifestSchema = z.object({
  version: z.literal(1),
  source: z.string(),
  /** Model folder, relative to the index folder or absolute. */
  model: z.string(),
  modelId: z.string(),
  dim: z.number().int(),
  count: z.number().int(),
  createdAt: z.string(),
});

export type IndexManifest = z.infer<typeof indexManifestSchema>;

/** An index folder, as messages name it. */
export const INDEX_FOLDER: FolderKind = { noun: 'index', folder: 'an index folder', writtenBy: 'imgsim run or imgsim embed writes one' };

/** index.json of an index folder; a folder that is missing, a file, or not an index is refused in plain words. */
export async function readIndexManifest(storage: Storage): Promise<IndexManifest> {
  let raw: unknown;
  try {
    raw = JSON.parse((await storage.get(OUTPUT.index)).toString('utf8'));
  } catch (error) {
    throw new UserError(await unreadableFolderFile(storage, '', OUTPUT.index, error, INDEX_FOLDER), 2, { cause: error });
  }
  const parsed = indexManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${locationOf(storage, OUTPUT.index)} is damaged or from another version of imgsim: ${issue ? `field "${issue.path.join('.')}" is missing or invalid` : 'invalid'}`, 2, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** Save a local index (embeddings.npy, ids.json) and its index.json. */
export async function writeIndexFolder(out: Storage, index: FlatIndex, ref: Pick<IndexManifest, 'source' | 'model' | 'modelId'>): Promise<void> {
  await index.save(out);
  await writeIndexManifest(out, { ...ref, dim: index.dim, count: await index.count() });
}

/** index.json of an index folder whose embeddings.npy and ids.json are written (streamed by the local run). */
export async function writeIndexManifest(out: Storage, ref: Pick<IndexManifest, 'source' | 'model' | 'modelId' | 'dim' | 'count'>): Promise<void> {
  const manifest: IndexManifest = { version: 1, ...ref, createdAt: new Date().toISOString() };
  await out.put(OUTPUT.index, JSON.stringify(manifest, null, 2));
}
