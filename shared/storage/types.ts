// The storage interface every source and artefact store implements: a local folder or an
// S3 bucket/prefix. Keys are '/'-separated paths relative to the root. getRange reads part
// of an object (a verify job reads only its images' records of a fingerprint file).

export interface ObjectInfo {
  /** Path relative to the storage root, '/'-separated, never starting with '/'. */
  key: string;
  size: number;
  /** Version tag: S3's ETag, or size+mtime for local files. Changes when the content changes. */
  etag: string;
}

/**
 * An entry a listing leaves out, and why: a symbolic link whose target is outside the
 * storage's root (`outside-root`), or one that cannot be followed (`unreadable`). The
 * ingest records each on failures.json / the run's failure list.
 */
export interface SkippedEntry {
  key: string;
  reason: 'outside-root' | 'unreadable';
  message: string;
}

export interface ListOptions {
  /** Told of each entry the listing leaves out (only local folders leave any out). */
  onSkipped?: (entry: SkippedEntry) => void;
}

/**
 * getRange asked for bytes the object does not have (it is shorter than the caller
 * believed, or the range is empty): permanent, the object will not grow by retrying.
 */
export class ObjectRangeError extends Error {
  override readonly name: string = 'ObjectRangeError';
}

/** Throws ObjectRangeError unless 0 ≤ start < end (integers). */
export function checkRange(where: string, start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) {
    throw new ObjectRangeError(`${where}: invalid byte range ${start}–${end} (needs 0 ≤ start < end)`);
  }
}

export interface Storage {
  /** Where this storage points, as a URI (file:///abs/path or s3://bucket/prefix). */
  readonly uri: string;
  /** Every object under `prefix` (default: all), in stable sorted key order. */
  list(prefix?: string, options?: ListOptions): AsyncIterable<ObjectInfo>;
  get(key: string): Promise<Buffer>;
  /**
   * Bytes `start` (inclusive) to `end` (exclusive) of the object, as Buffer.subarray counts
   * them: S3 GetObject with `Range: bytes=start-(end − 1)`, a positioned read of a local file.
   * A missing object fails as get() does; a range that does not lie within the object (end
   * past its size, end ≤ start) throws ObjectRangeError.
   */
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  put(key: string, data: Uint8Array | string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** The object's version tag as `list` gives it (ObjectInfo.etag), or undefined when it does not exist. */
  versionOf(key: string): Promise<string | undefined>;
  /** Remove an object; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
}
