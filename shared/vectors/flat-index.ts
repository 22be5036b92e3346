// The embedded vector index: exact cosine k-nearest-neighbours by brute force over
// every stored vector (O(N·D) per query: ~0.1 s for 100k × 1024 on one core).
// Persisted as `embeddings.npy` (N×D float32, numpy-readable) + `ids.json` (row → key).
// It keeps vectors only: point attributes (etag, size) are not stored, and cluster
// labels given by setClusters live in memory (clusters.json, written by the cluster
// stage, is the local record of the map; pipelines/search.ts openIndex applies it).
import { errorMessage, UserError } from '../errors.js';
import { decodeNpy, encodeNpy } from '../npy.js';
import type { Storage } from '../storage/types.js';
import { TopK } from './top-k.js';
import { folderPrefix } from './key-prefix.js';
import type { ClusterPlacement, IndexPoint, Neighbor, SearchOptions, VectorIndex } from './types.js';

export const EMBEDDINGS_FILE = 'embeddings.npy';
export const IDS_FILE = 'ids.json';

export class FlatIndex implements VectorIndex {
  private keys: string[] = [];
  private rowOf = new Map<string, number>();
  private labels = new Map<string, number>();
  private data: Float32Array;
  private norms: Float32Array;

  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`FlatIndex: invalid dimension ${dim}`);
    this.data = new Float32Array(dim * 16);
    this.norms = new Float32Array(16);
  }

  static fromMatrix(keys: readonly string[], data: Float32Array, dim: number): FlatIndex {
    if (data.length !== keys.length * dim) {
      throw new Error(`FlatIndex: ${keys.length} keys but ${data.length / dim} vectors`);
    }
    const index = new FlatIndex(dim);
    index.upsertRows(keys, (i) => data.subarray(i * dim, (i + 1) * dim));
    return index;
  }

  count(): Promise<number> {
    return Promise.resolve(this.keys.length);
  }

  upsert(points: readonly IndexPoint[]): Promise<void> {
    this.upsertRows(
      points.map((p) => p.key),
      (i) => (points[i] as { vector: Float32Array }).vector,
    );
    return Promise.resolve();
  }

  remove(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.labels.delete(k);
    const drop = new Set(keys.filter((k) => this.rowOf.has(k)));
    if (drop.size === 0) return Promise.resolve();
    const keep = this.keys.filter((k) => !drop.has(k));
    const rows = keep.map((k) => this.rowOf.get(k) as number);
    const data = new Float32Array(Math.max(16, keep.length) * this.dim);
    const norms = new Float32Array(Math.max(16, keep.length));
    rows.forEach((r, i) => {
      data.set(this.data.subarray(r * this.dim, (r + 1) * this.dim), i * this.dim);
      norms[i] = this.norms[r] as number;
    });
    this.keys = keep;
    this.rowOf = new Map(keep.map((k, i) => [k, i]));
    this.data = data;
    this.norms = norms;
    return Promise.resolve();
  }

  search(vector: Float32Array, options: SearchOptions): Promise<Neighbor[]> {
    return Promise.resolve(this.searchSync(vector, options));
  }

  searchSync(vector: Float32Array, { k, excludeKeys, filter }: SearchOptions): Neighbor[] {
    if (vector.length !== this.dim) {
      throw new UserError(`Query vector has ${vector.length} dimensions, the index has ${this.dim}`);
    }
    const folder = folderPrefix(filter?.keyPrefix ?? '');
    const qn = Math.sqrt(dot(vector, vector, 0, this.dim));
    const top = new TopK(k);
    const n = this.keys.length;
    const d = this.dim;
    const data = this.data;
    for (let r = 0; r < n; r++) {
      const key = this.keys[r] as string;
      if (excludeKeys?.has(key)) continue;
      if (folder !== '' && !key.startsWith(folder)) continue;
      if (filter?.cluster !== undefined && this.labels.get(key) !== filter.cluster) continue;
      const denom = qn * (this.norms[r] as number);
      const s = denom > 0 ? dot(vector, data, r * d, d) / denom : 0;
      top.push(r, s);
    }
    return top.sorted().map(({ item, score }) => {
      const key = this.keys[item] as string;
      const cluster = this.labels.get(key);
      return { key, score, ...(cluster !== undefined ? { cluster } : {}) };
    });
  }

  vectorOf(key: string): Promise<Float32Array | undefined> {
    const r = this.rowOf.get(key);
    return Promise.resolve(r === undefined ? undefined : this.data.slice(r * this.dim, (r + 1) * this.dim));
  }

  scan(): AsyncIterable<{ key: string; vector: Float32Array }> {
    const rows = function* (index: FlatIndex): Generator<{ key: string; vector: Float32Array }> {
      for (let r = 0; r < index.keys.length; r++) yield { key: index.keys[r] as string, vector: index.data.subarray(r * index.dim, (r + 1) * index.dim) };
    };
    const iterator = rows(this);
    return { [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve(iterator.next()) }) };
  }

  setClusters(points: readonly ClusterPlacement[]): Promise<void> {
    for (const p of points) if (this.rowOf.has(p.key)) this.labels.set(p.key, p.label);
    return Promise.resolve();
  }

  /** Keys in row order. */
  allKeys(): readonly string[] {
    return this.keys;
  }

  /** The vectors as one N×D matrix (a copy), in row order. */
  matrix(): Float32Array {
    return this.data.slice(0, this.keys.length * this.dim);
  }

  async save(storage: Storage, prefix = ''): Promise<void> {
    await storage.put(prefix + EMBEDDINGS_FILE, encodeNpy({ rows: this.keys.length, cols: this.dim, data: this.matrix() }));
    await storage.put(prefix + IDS_FILE, JSON.stringify(this.keys));
  }

  static async load(storage: Storage, prefix = ''): Promise<FlatIndex> {
    const where = `${storage.uri}/${prefix}`;
    let matrix;
    let keys: unknown;
    try {
      matrix = decodeNpy(await storage.get(prefix + EMBEDDINGS_FILE), prefix + EMBEDDINGS_FILE);
      keys = JSON.parse((await storage.get(prefix + IDS_FILE)).toString('utf8'));
    } catch (error) {
      throw new UserError(`Cannot read the index in ${where}: ${errorMessage(error)}`);
    }
    if (!Array.isArray(keys) || keys.length !== matrix.rows || !keys.every((k) => typeof k === 'string')) {
      throw new UserError(`Cannot read the index in ${where}: ${IDS_FILE} must list ${matrix.rows} keys`);
    }
    return FlatIndex.fromMatrix(keys, matrix.data, matrix.cols);
  }

  private upsertRows(keys: readonly string[], vectorAt: (i: number) => Float32Array): void {
    keys.forEach((key, i) => {
      const v = vectorAt(i);
      if (v.length !== this.dim) throw new Error(`Vector for "${key}" has ${v.length} dimensions, expected ${this.dim}`);
      let r = this.rowOf.get(key);
      if (r === undefined) {
        r = this.keys.length;
        this.grow(r + 1);
        this.keys.push(key);
        this.rowOf.set(key, r);
      }
      this.data.set(v, r * this.dim);
      this.norms[r] = Math.sqrt(dot(v, v, 0, this.dim));
    });
  }

  private grow(rows: number): void {
    if (rows <= this.norms.length) return;
    const cap = Math.max(rows, this.norms.length * 2);
    const data = new Float32Array(cap * this.dim);
    data.set(this.data);
    const norms = new Float32Array(cap);
    norms.set(this.norms);
    this.data = data;
    this.norms = norms;
  }
}

function dot(q: Float32Array, data: Float32Array, offset: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += (q[j] as number) * (data[offset + j] as number);
  return s;
}
