// Payload filters of the adapter and how they become Qdrant filters.
//
// Key-prefix filtering: Qdrant's keyword `match` is exact (the `prefix` match of newer
// servers needs a keyword index created with `prefix: true`, and client 1.18 does not
// type it), so every point also stores `dirs`: each ancestor folder of its key
// ('a/b/c.jpg' → ['a/', 'a/b/']). A key prefix is a folder: `match: {value: 'a/b/'}` on
// `dirs` (a keyword index) selects everything under it. 'a/b' is read as the folder 'a/b/'.
import type { Schemas } from '@qdrant/js-client-rest';
import { folderPrefix } from '../key-prefix.js';

export interface PointFilter {
  dataset?: string;
  /** A folder of keys ('photos/2024/'); '' or undefined: all keys. */
  keyPrefix?: string;
  cluster?: number;
}

type Condition = Schemas['Condition'];

/** Every ancestor folder of a key, each ending in '/'. */
export function keyDirs(key: string): string[] {
  const parts = key.split('/');
  const dirs: string[] = [];
  let prefix = '';
  for (const part of parts.slice(0, -1)) {
    prefix += `${part}/`;
    dirs.push(prefix);
  }
  return dirs;
}

export function toQdrantFilter(
  filter: PointFilter | undefined,
  exclude?: { ids?: readonly string[]; keys?: readonly string[] },
): Schemas['Filter'] | undefined {
  const must: Condition[] = [];
  const mustNot: Condition[] = [];
  if (filter?.dataset !== undefined) must.push({ key: 'dataset', match: { value: filter.dataset } });
  const folder = folderPrefix(filter?.keyPrefix ?? '');
  if (folder !== '') must.push({ key: 'dirs', match: { value: folder } });
  if (filter?.cluster !== undefined) must.push({ key: 'cluster', match: { value: filter.cluster } });
  if (exclude?.ids && exclude.ids.length > 0) mustNot.push({ has_id: [...new Set(exclude.ids)] });
  if (exclude?.keys && exclude.keys.length > 0) mustNot.push({ key: 'key', match: { any: [...new Set(exclude.keys)] } });
  if (must.length === 0 && mustNot.length === 0) return undefined;
  return { ...(must.length > 0 ? { must } : {}), ...(mustNot.length > 0 ? { must_not: mustNot } : {}) };
}
