// The server's thumbnails in memory: a least-recently-used map bounded by the bytes it
// holds (a Map keeps insertion order: a hit is moved to the end, the oldest are evicted
// from the front), and concurrent requests for the same thumbnail share one computation
// (a page of 50 tiles asked twice makes 50 thumbnails, not 100).

export interface CachedThumbnail {
  data: Buffer;
  /** The HTTP entity tag sent with it (quoted). */
  etag: string;
}

/** Per-entry overhead counted beside the bytes (key, object, map slot): keeps a flood of tiny entries bounded too. */
const ENTRY_OVERHEAD = 256;

export class ThumbnailCache {
  private readonly entries = new Map<string, CachedThumbnail>();
  private readonly pending = new Map<string, Promise<CachedThumbnail>>();
  private used = 0;

  /** `maxBytes` 0 keeps nothing (every request computes its thumbnail). */
  constructor(readonly maxBytes: number) {
    if (!(Number.isFinite(maxBytes) && maxBytes >= 0)) throw new RangeError(`thumbnail cache size must be ≥ 0 bytes, got ${maxBytes}`);
  }

  /** Bytes held now (thumbnails plus a fixed overhead per entry). */
  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedThumbnail | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: CachedThumbnail): void {
    const cost = value.data.length + ENTRY_OVERHEAD;
    this.delete(key);
    if (cost > this.maxBytes) return;
    this.entries.set(key, value);
    this.used += cost;
    for (const [oldest, entry] of this.entries) {
      if (this.used <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.used -= entry.data.length + ENTRY_OVERHEAD;
    }
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    this.used -= old.data.length + ENTRY_OVERHEAD;
  }

  /** The cached thumbnail, or `make()`'s (stored), shared with any request already making it. A failure is not cached. */
  async getOrMake(key: string, make: () => Promise<CachedThumbnail>): Promise<CachedThumbnail> {
    const hit = this.get(key);
    if (hit) return hit;
    let pending = this.pending.get(key);
    if (!pending) {
      pending = make().then(
        (value) => {
          this.pending.delete(key);
          this.set(key, value);
          return value;
        },
        (error: unknown) => {
          this.pending.delete(key);
          throw error;
        },
      );
      this.pending.set(key, pending);
    }
    return pending;
  }
}
