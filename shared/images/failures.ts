// Per-image failure records: which faults are an image's own, and their order.
//
// Only the image's own faults are recorded per image: its bytes (ImageError) or the file
// itself (gone since listing, unreadable by permissions). Anything else — a store
// unreachable or failing (transient), rejected credentials, a bug — is NOT the image's
// fault: the caller throws it, so the whole batch is retried or gives up as a job.
import { errorMessage, ImageError } from '../errors.js';
import type { Failure } from './decoded.js';

/** File-level errors of one object: it is gone (S3 NoSuchKey maps to ENOENT too), or this process may not read it. */
const FILE_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ELOOP', 'ENAMETOOLONG']);

/** The failure record of an image's own fault; undefined when the fault is not the image's. */
export function failureOf(key: string, error: unknown): Failure | undefined {
  if (error instanceof ImageError) return { key, reason: error.reason, message: errorMessage(error) };
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && FILE_CODES.has(code)) {
    return { key, reason: 'unreadable', message: errorMessage(error) };
  }
  return undefined;
}

/** Sorts in place by key and returns the array (failures.json and run records list them so). */
export function sortByKey<T extends { key: string }>(failures: T[]): T[] {
  return failures.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
