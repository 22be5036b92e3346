// Where something in a store is, as a person reads it in a message: a plain path for a
// local folder (never file:///…), the store's own URI (s3://bucket/prefix) otherwise.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileProblem } from '../errors.js';

/** A store's URI or a key in it, for messages: a path for file:// stores. */
export function locationOf(storage: { readonly uri: string }, key = ''): string {
  return displayUri(key === '' ? storage.uri : `${storage.uri.replace(/\/+$/, '')}/${key}`);
}

/** file:///abs/path → /abs/path; any other URI (s3://…) as it is. */
export function displayUri(uri: string): string {
  if (!uri.startsWith('file://')) return uri;
  try {
    return path.normalize(fileURLToPath(uri));
  } catch {
    return uri;
  }
}

/** What a folder of a kind is called in messages: `{ noun: 'index', folder: 'an index folder', writtenBy: '…' }`. */
export interface FolderKind {
  noun: string;
  folder: string;
  /** What writes such a folder, for the hint: "imgsim run or imgsim embed writes one". */
  writtenBy: string;
}

/**
 * Why `file` of the folder `prefix` in `storage` (an index folder, a model folder…) could not
 * be read, in plain words naming the folder: it does not exist, it is a file, it lacks the
 * file, or the file is unreadable. No errno and no file:// URL; the caller keeps `error` as
 * the cause (--verbose).
 */
export async function unreadableFolderFile(storage: { readonly uri: string }, prefix: string, file: string, error: unknown, kind: FolderKind): Promise<string> {
  const folder = locationOf(storage, prefix);
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  const missing = code === 'ENOENT' || code === 'ENOTDIR' || name === 'S3NoSuchKeyError';
  if (missing && storage.uri.startsWith('file://')) {
    const info = await stat(folder).catch(() => undefined);
    if (!info) return `No ${kind.noun} at ${folder}: the folder does not exist`;
    if (!info.isDirectory()) return `No ${kind.noun} at ${folder}: it is a file, not ${kind.folder}`;
  }
  if (missing) return `${folder} is not ${kind.folder}: it has no ${file} (${kind.writtenBy})`;
  return `Cannot read ${file} in ${folder}: it ${fileProblem(error)}`;
}
