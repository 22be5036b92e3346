// Point identity: UUIDv5 of "<dataset>\n<key>" in a fixed namespace, so every stage
// (and every retry of a job) addresses the same Qdrant point for the same image.
import { createHash } from 'node:crypto';

/** uuid5(NAMESPACE_URL, 'imgsim/point-id'). Never change it: every stored id depends on it. */
export const POINT_ID_NAMESPACE = 'd32ce3bd-63d5-50b3-9a36-d71aa4ae3a95';

/** RFC 4122 version-5 (SHA-1, name-based) UUID of `name` (UTF-8) in `namespace`. */
export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replaceAll('-', ''), 'hex');
  if (ns.length !== 16) throw new Error(`uuidV5: namespace ${JSON.stringify(namespace)} is not a UUID`);
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50; // version 5
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The Qdrant point id of image `key` in `dataset`. */
export function pointId(dataset: string, key: string): string {
  return uuidV5(`${dataset}\n${key}`, POINT_ID_NAMESPACE);
}
