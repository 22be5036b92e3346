// The one neighbour shape of `--json` (issue 15): `imgsim search` and `imgsim features`
// print the same fields for the same thing — rank (1 = most similar), the image's key in
// the indexed source, its file path when that source is a local folder, and its score
// (higher is more similar: cosine for search, the method's score for features) — and
// the cluster label where the index has one; features adds its own fields after these.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NeighbourJson {
  /** 1 for the most similar. */
  rank: number;
  /** The image's key in the indexed source (its path there, '/'-separated). */
  key: string;
  /** The image's file, when the indexed source is a local folder. */
  path?: string;
  /** Higher is more similar. */
  score: number;
  cluster?: number;
}

/** `n` as --json prints it, `rank` counted from 1. */
export function neighbourJson(n: { key: string; score: number; cluster?: number }, rank: number, file: string | undefined): NeighbourJson {
  return { rank, key: n.key, ...(file !== undefined ? { path: file } : {}), score: n.score, ...(n.cluster !== undefined ? { cluster: n.cluster } : {}) };
}

/** The file of a key in a source given as a folder or a file:// URI; undefined for any other source (s3://). */
export function filePathIn(source: string | undefined): (key: string) => string | undefined {
  if (source === undefined) return () => undefined;
  const root = source.startsWith('file://') ? fileURLToPath(source) : /^[a-z][a-z0-9+.-]*:\/\//i.test(source) ? undefined : source;
  return (key) => (root === undefined ? undefined : path.join(root, ...key.split('/')));
}
