// Sets of image keys (and key → version) in 8–12 bytes per key instead of a JavaScript
// Map's ~100: what an incremental run compares a bucket's listing with — the versions the
// live collection holds, the keys the source still has — at a million images. A key is
// kept as a 64-bit hash (two independent 32-bit hashes, shared/analysis/key-sample.ts's
// keyHash under two seeds); two keys of a million share one with probability ~3e-8, and
// the cost of a clash is a stale or re-embedded image, never a wrong search result.
// Written here because no maintained npm package offers a compact sorted hash set.
import { keyHash } from '../analysis/key-sample.js';

const SEED_HI = 0x5bd1e995;
const SEED_LO = 0x27d4eb2f;

/** The 64-bit hash of a key. */
export function hash64(key: string): bigint {
  return (BigInt(keyHash(SEED_HI, key)) << 32n) | BigInt(keyHash(SEED_LO, key));
}

/** Index of `h` in the sorted `keys`, or -1. */
function find(keys: BigUint64Array, h: bigint): number {
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = keys[mid] as bigint;
    if (v === h) return mid;
    if (v < h) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** A growable list of 64-bit hashes. */
class HashList {
  values = new BigUint64Array(1024);
  length = 0;

  push(h: bigint): number {
    if (this.length === this.values.length) {
      const grown = new BigUint64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length] = h;
    return this.length++;
  }
}

/** Keys added one by one, then asked about: `has` after `seal`. */
export class KeySet {
  private list = new HashList();
  private sorted?: BigUint64Array;

  add(key: string): void {
    if (this.sorted) throw new Error('KeySet: add after seal');
    this.list.push(hash64(key));
  }

  seal(): this {
    this.sorted ??= this.list.values.slice(0, this.list.length).sort();
    this.list = new HashList();
    return this;
  }

  has(key: string): boolean {
    if (!this.sorted) throw new Error('KeySet: has before seal');
    return find(this.sorted, hash64(key)) >= 0;
  }

  get size(): number {
    return this.sorted?.length ?? this.list.length;
  }
}

/** Key → version (an ETag), added one by one, then asked about: `holds` after `seal`. */
export class KeyVersions {
  private list = new HashList();
  private versions: number[] = [];
  private keys?: BigUint64Array;
  private sortedVersions?: Uint32Array;

  add(key: string, version: string): void {
    if (this.keys) throw new Error('KeyVersions: add after seal');
    this.list.push(hash64(key));
    this.versions.push(keyHash(SEED_LO, version));
  }

  seal(): this {
    if (this.keys) return this;
    const n = this.list.length;
    const hashes = this.list.values;
    const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => {
      const x = hashes[a] as bigint;
      const y = hashes[b] as bigint;
      return x < y ? -1 : x > y ? 1 : 0;
    });
    this.keys = new BigUint64Array(n);
    this.sortedVersions = new Uint32Array(n);
    order.forEach((from, to) => {
      (this.keys as BigUint64Array)[to] = hashes[from] as bigint;
      (this.sortedVersions as Uint32Array)[to] = this.versions[from] as number;
    });
    this.list = new HashList();
    this.versions = [];
    return this;
  }

  /** Whether the key is held (at any version). */
  has(key: string): boolean {
    if (!this.keys) throw new Error('KeyVersions: has before seal');
    return find(this.keys, hash64(key)) >= 0;
  }

  /** Whether the key is held at this version. */
  holds(key: string, version: string): boolean {
    if (!this.keys || !this.sortedVersions) throw new Error('KeyVersions: holds before seal');
    const i = find(this.keys, hash64(key));
    return i >= 0 && this.sortedVersions[i] === keyHash(SEED_LO, version);
  }

  get size(): number {
    return this.keys?.length ?? this.list.length;
  }
}
