// Large artefacts the server reads again and again (a dataset's clusters.json: ~60 MB at
// a million points), kept in memory by their version: each request asks the store only
// for the object's version tag (a HEAD, a stat), and reads the bytes again only
// when it changed. The tag also becomes the HTTP ETag, so a browser that has the map
// revalidates with a 304 and nothing is sent.
import type { Storage } from '../../shared/storage/types.js';

export interface CachedArtifact {
  bytes: Buffer;
  /** The store's version tag (S3 ETag, local size+mtime). */
  etag: string;
}

export class ArtifactCache {
  private readonly entries = new Map<string, CachedArtifact>();
  private bytes = 0;

  /** `maxBytes`: total kept; the least recently used go first (an artefact larger than it is not kept). */
  constructor(private readonly maxBytes = 256 * 1024 * 1024) {}

  /** The artefact and its version, or undefined when it does not exist. */
  async read(store: Storage, key: string): Promise<CachedArtifact | undefined> {
    const etag = await store.versionOf(key);
    const cacheKey = `${store.uri}\n${key}`;
    const hit = this.entries.get(cacheKey);
    if (etag === undefined) {
      this.drop(cacheKey);
      return undefined;
    }
    if (hit?.etag === etag) {
      this.entries.delete(cacheKey); // most recently used last
      this.entries.set(cacheKey, hit);
      return hit;
    }
    let bytes: Buffer;
    try {
      bytes = await store.get(key);
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === 'ENOENT') return undefined;
      throw error;
    }
    this.drop(cacheKey);
    const entry = { bytes, etag };
    if (bytes.length <= this.maxBytes) {
      this.entries.set(cacheKey, entry);
      this.bytes += bytes.length;
      for (const [k, e] of this.entries) {
        if (this.bytes <= this.maxBytes) break;
        this.entries.delete(k);
        this.bytes -= e.bytes.length;
      }
    }
    return entry;
  }

  private drop(cacheKey: string): void {
    const old = this.entries.get(cacheKey);
    if (!old) return;
    this.entries.delete(cacheKey);
    this.bytes -= old.bytes.length;
  }
}
