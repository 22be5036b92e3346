// Sets of image keys (and of key + version pairs) in 8–16 bytes per key instead of a
// JavaScript Map's ~100: what an incremental run compares a bucket's listing with — the
// versions the live collection holds, the keys the source still has — at a million images.
// A key is kept as a 64-bit hash (two 32-bit hashes: shared/analysis/key-sample.ts's
// keyHash under two seeds, close to independent); two keys of a million share one with
// probability ~3e-8. A clash costs an image embedded again, one not re-embedded after a
// change, or a deleted image's point kept (search may return it until the next full run).
// Sets are sorted by the typed array's own sort (1M keys: ~0.13 s), never a comparator.
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
  private readonly keys = new KeySet();
  /** hash64(key + NUL + version): holds(key, version) is membership here. */
  private readonly pairs = new KeySet();

  add(key: string, version: string): void {
    this.keys.add(key);
    this.pairs.add(`${key}\u0000${version}`);
  }

  seal(): this {
    this.keys.seal();
    this.pairs.seal();
    return this;
  }

  /** Whether the key is held (at any version). */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Whether the key is held at this version. */
  holds(key: string, version: string): boolean {
    return this.pairs.has(`${key}\u0000${version}`);
  }

  get size(): number {
    return this.keys.size;
  }
}
