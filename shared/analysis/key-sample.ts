// A seeded sample of a stream of (key, vector) points, chosen by a hash of the key:
// the `size` points whose hash(seed, key) is smallest (ties: the smaller key). The
// choice depends only on the set of keys — not on the order a scan yields them
// (Qdrant scrolls by point id, the FlatIndex by insertion) — so both drivers map the
// same sample, and a point's membership does not change when others are added in
// another order. One pass, O(size·dim) memory: a bounded max-heap on the hash whose
// entries own slots of one Float32Array (grown by doubling up to the capacity:
// 50,000 × 1,024 = 200 MiB; a small index costs what it holds).
// Vectors are stored scaled to length 1 (the cosine geometry search uses), computed
// as shared/vectors/read-all.ts does, so a sample of every point equals its matrix.

/** 32-bit hash of a key under a seed (FNV-1a over UTF-16 code units, then murmur3's finaliser). */
export function keyHash(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Scale `v` to unit length into out[off, off+dim) (all-zero stays zero). */
export function writeUnit(v: ArrayLike<number>, dim: number, out: Float32Array, off: number): void {
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += (v[j] as number) ** 2;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let j = 0; j < dim; j++) out[off + j] = (v[j] as number) * scale;
}

export class KeySample {
  private vectors: Float32Array;
  private readonly hashes: Float64Array;
  private readonly keys: string[] = [];
  /** Max-heap of slots by (hash, key). */
  private readonly heap: Int32Array;
  private size = 0;
  private readonly slotOf = new Map<string, number>();

  constructor(
    readonly capacity: number,
    readonly dim: number,
    private readonly seed: number,
  ) {
    this.vectors = new Float32Array(Math.min(capacity, 1024) * dim);
    this.hashes = new Float64Array(capacity);
    this.heap = new Int32Array(capacity);
  }

  /** Offer a point; a key offered again replaces its vector if it is in the sample. */
  offer(key: string, vector: ArrayLike<number>): void {
    if (this.capacity === 0) return;
    const known = this.slotOf.get(key);
    if (known !== undefined) {
      writeUnit(vector, this.dim, this.vectors, known * this.dim);
      return;
    }
    const h = keyHash(this.seed, key);
    if (this.size < this.capacity) {
      const slot = this.size++;
      if (slot * this.dim >= this.vectors.length) {
        const grown = new Float32Array(Math.min(this.capacity, 2 * slot) * this.dim);
        grown.set(this.vectors);
        this.vectors = grown;
      }
      this.set(slot, key, h, vector);
      this.heap[slot] = slot;
      this.siftUp(slot);
      return;
    }
    const top = this.heap[0] as number;
    if (!this.before(h, key, this.hashes[top] as number, this.keys[top] as string)) return;
    this.slotOf.delete(this.keys[top] as string);
    this.set(top, key, h, vector);
    this.siftDown(0);
  }

  /** Points held (≤ capacity). */
  get length(): number {
    return this.size;
  }

  /** The sample sorted by key: keys and their unit vectors (row-major). */
  sorted(): { keys: string[]; vectors: Float32Array } {
    const slots = Array.from(this.heap.subarray(0, this.size)).sort((a, b) => compareKeys(this.keys[a] as string, this.keys[b] as string));
    const vectors = new Float32Array(slots.length * this.dim);
    slots.forEach((s, i) => vectors.set(this.vectors.subarray(s * this.dim, (s + 1) * this.dim), i * this.dim));
    return { keys: slots.map((s) => this.keys[s] as string), vectors };
  }

  private set(slot: number, key: string, h: number, vector: ArrayLike<number>): void {
    this.keys[slot] = key;
    this.hashes[slot] = h;
    this.slotOf.set(key, slot);
    writeUnit(vector, this.dim, this.vectors, slot * this.dim);
  }

  /** (h1, k1) orders before (h2, k2). */
  private before(h1: number, k1: string, h2: number, k2: string): boolean {
    return h1 < h2 || (h1 === h2 && compareKeys(k1, k2) < 0);
  }

  private above(a: number, b: number): boolean {
    return this.before(this.hashes[b] as number, this.keys[b] as string, this.hashes[a] as number, this.keys[a] as string);
  }

  private siftUp(pos: number): void {
    const heap = this.heap;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!this.above(heap[pos] as number, heap[parent] as number)) break;
      const t = heap[pos] as number;
      heap[pos] = heap[parent] as number;
      heap[parent] = t;
      pos = parent;
    }
  }

  private siftDown(pos: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * pos + 1;
      if (l >= this.size) return;
      let child = l;
      if (l + 1 < this.size && this.above(heap[l + 1] as number, heap[l] as number)) child = l + 1;
      if (!this.above(heap[child] as number, heap[pos] as number)) return;
      const t = heap[pos] as number;
      heap[pos] = heap[child] as number;
      heap[child] = t;
      pos = child;
    }
  }
}

/** The key order every whole-index step uses (sortByKey's: code-unit order). */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
