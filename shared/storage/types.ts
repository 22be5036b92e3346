// The storage interface every source and artefact store implements: a local folder
// now, an S3 bucket/prefix later. Keys are '/'-separated paths relative to the root.

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

export interface Storage {
  /** Where this storage points, as a URI (file:///abs/path or s3://bucket/prefix). */
  readonly uri: string;
  /** Every object under `prefix` (default: all), in stable sorted key order. */
  list(prefix?: string, options?: ListOptions): AsyncIterable<ObjectInfo>;
  get(key: string): Promise<Buffer>;
  put(key: string, data: Uint8Array | string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** The object's version tag as `list` gives it (ObjectInfo.etag), or undefined when it does not exist. */
  versionOf(key: string): Promise<string | undefined>;
  /** Remove an object; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
}
