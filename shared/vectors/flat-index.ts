// The embedded vector index: cosine k-nearest-neighbours by brute force over every stored
// vector (O(N·D) per query).
//   - Small indexes (under LARGE_FROM_VALUES stored values, 16k rows at 1,024-d) and
//     searchSync: exact, on the calling thread; norms kept per row, the dot product
//     unrolled 4 ways (1.5× the plain loop).
//   - Large indexes, `search`: an int8 copy of the rows (int8-scan.ts) is scanned by a
//     WebAssembly SIMD kernel, and its best max(100, 5k) candidates are re-ranked exactly
//     in float32. The copy is made at the first large query — read from `embeddings.int8`
//     beside a local folder's embeddings.npy when that file is still this matrix's
//     (int8-file.ts), else built (one pass) — and dropped by any change. Without wasm SIMD
//     (or beyond wasm32's 4 GB), an exact scan split over worker threads sharing the
//     matrix (parallel-scan.ts).
// Measured on this 2-core machine, loaded by other work (load average 8–16), 1M × 1,024,
// k = 10, median per query: the FlatIndex before issue 12 4.7 s; exact searchSync 2.8 s;
// exact over 2 worker threads 3.3–4.3 s; int8 + exact re-rank 125 ms, recall@10 1.000
// (100k: 388 ms before, 8 ms). The first large query of a process builds the int8 copy
// (38–128 s at 1M under that load) unless embeddings.int8, written by the local run, is
// read instead: first query of a fresh process at 1M 38 s → 10 s, at 100k 6.2 → 1.1 s
// (load average 7–9). test/bench/local-scale.ts; docs/performance.md.
// Choice: the int8 scan rather than an ANN package: no maintained ANN package installs
// here (native ones need install scripts; hnswlib-wasm is wasm32, ≤ 4 GB, smaller than the
// 1M × 1,024 float32 matrix), building a graph over 1M rows takes hours on 2 cores, and
// the int8 scan needs no build beyond one pass and keeps the answer exact in order.
// The matrix lives in a SharedArrayBuffer (worker threads read it in place); loading an
// index folder reads embeddings.npy straight into it (no second copy).
// Persisted as `embeddings.npy` (N×D float32, numpy-readable) + `ids.json` (row → key),
// and for a large index in a local folder `embeddings.int8` (its int8 copy, saveSearchCopy).
// It keeps vectors only: point attributes (etag, size) are not stored, and cluster
// labels given by setClusters live in memory (clusters.json, written by the cluster
// stage, is the local record of the map; pipelines/search.ts openIndex applies it).
import { rm } from 'node:fs/promises';
import { errorMessage, fileProblem, UserError } from '../errors.js';
import { locationOf } from '../storage/location.js';
import { decodeNpy, encodeNpy, readNpyFile } from '../npy.js';
import { LocalStorage } from '../storage/local.js';
import type { Storage } from '../storage/types.js';
import { byteSize, findInt8Copy, INT8_FILE, writeInt8Copy, type StoredInt8Copy } from './int8-file.js';
import { Int8Scanner, int8ScanAvailable } from './int8-scan.js';
import { parallelScan } from './parallel-scan.js';
import { TopK } from './top-k.js';
import { folderPrefix } from './key-prefix.js';
import type { ClusterPlacement, IndexPoint, Neighbor, SearchOptions, VectorIndex } from './types.js';

export const EMBEDDINGS_FILE = 'embeddings.npy';
export const IDS_FILE = 'ids.json';

/** From this many stored values (rows × dim) `search` takes the large-index path. */
export const LARGE_FROM_VALUES = 1 << 24;
/** Int8 candidates re-ranked exactly: at least this many, and 5 per wanted result. */
export const RERANK_MIN = 100;

function sharedFloats(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * 4));
}

export class FlatIndex implements VectorIndex {
  private keys: string[] = [];
  private rowOf = new Map<string, number>();
  private labels = new Map<string, number>();
  private data: Float32Array;
  private norms: Float32Array;
  /** From this many stored values `search` takes the large-index path (tests lower it). */
  largeFrom = LARGE_FROM_VALUES;
  /** The large-index path scans an int8 copy (else worker threads); tests turn it off. */
  int8 = int8ScanAvailable();
  private scanner: Int8Scanner | undefined;
  /** The int8 copy stored beside the embeddings.npy this index was loaded from, checked at load, read at the first large query. */
  private stored: StoredInt8Copy | undefined;
  private scannerFrom: 'stored' | 'built' = 'built';

  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`FlatIndex: invalid dimension ${dim}`);
    this.data = sharedFloats(dim * 16);
    this.norms = sharedFloats(16);
  }

  /**
   * An index over `data` itself (no copy; the caller gives it up): rows in order, keys
   * unique (a repeated key falls back to fromMatrix, the last row wins).
   */
  static adopt(keys: readonly string[], data: Float32Array, dim: number): FlatIndex {
    if (data.length !== keys.length * dim) throw new Error(`FlatIndex: ${keys.length} keys but ${data.length / dim} vectors`);
    if (new Set(keys).size !== keys.length) return FlatIndex.fromMatrix(keys, data, dim);
    const index = new FlatIndex(dim);
    index.keys = [...keys];
    index.rowOf = new Map(keys.map((k, i) => [k, i]));
    index.data = data;
    index.norms = sharedFloats(Math.max(16, keys.length));
    for (let r = 0; r < keys.length; r++) index.norms[r] = Math.sqrt(dotRow(data, data, r * dim, r * dim, dim));
    return index;
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
    const data = sharedFloats(Math.max(16, keep.length) * this.dim);
    const norms = sharedFloats(Math.max(16, keep.length));
    rows.forEach((r, i) => {
      data.set(this.data.subarray(r * this.dim, (r + 1) * this.dim), i * this.dim);
      norms[i] = this.norms[r] as number;
    });
    this.dropScanner();
    this.keys = keep;
    this.rowOf = new Map(keep.map((k, i) => [k, i]));
    this.data = data;
    this.norms = norms;
    return Promise.resolve();
  }

  async search(vector: Float32Array, options: SearchOptions): Promise<Neighbor[]> {
    if (this.keys.length * this.dim < this.largeFrom) return this.searchSync(vector, options);
    const plan = this.plan(vector, options);
    if (plan.wanted === 0) return [];
    if (this.takesInt8Path()) return this.searchInt8(vector, options.k, plan);
    if (!(this.data.buffer instanceof SharedArrayBuffer)) this.share();
    const hits = await parallelScan({
      data: this.data,
      norms: this.norms,
      dim: this.dim,
      rows: this.keys.length,
      query: vector,
      queryNorm: plan.queryNorm,
      k: plan.wanted,
      ...(plan.allowed ? { allowed: plan.allowed } : {}),
    });
    return this.answer(hits, options.k, plan.excluded);
  }

  /**
   * Make now what `search` scans on a large index (the int8 copy: read when stored, else
   * built), instead of at the first query: a caller that opens an index to search it pays
   * this while opening (openIndex).
   */
  prepareSearch(): void {
    if (this.takesInt8Path()) this.int8Scanner();
  }

  /** Whether `search` scans an int8 copy of this index (large, wasm SIMD, fits wasm32 memory). */
  private takesInt8Path(): boolean {
    const n = this.keys.length;
    return n > 0 && n * this.dim >= this.largeFrom && this.int8 && Int8Scanner.fits(n, this.dim);
  }

  /** The int8 copy: the stored one when it is still this index's, else built from the rows (one pass). */
  private int8Scanner(): Int8Scanner {
    if (!this.scanner) {
      const stored = this.stored?.open(this.int8Source());
      this.scanner = stored ?? Int8Scanner.build(this.data, this.keys.length, this.dim, this.norms);
      this.scannerFrom = stored ? 'stored' : 'built';
      this.stored = undefined;
    }
    return this.scanner;
  }

  /** Where the int8 copy in use came from: read from embeddings.int8, or built from the rows; undefined while there is none. */
  int8Copy(): 'stored' | 'built' | undefined {
    return this.scanner ? this.scannerFrom : undefined;
  }

  private int8Source(): { data: Float32Array; norms: Float32Array; rows: number; dim: number } {
    return { data: this.data, norms: this.norms, rows: this.keys.length, dim: this.dim };
  }

  private dropScanner(): void {
    this.scanner = undefined;
    this.stored = undefined;
  }

  searchSync(vector: Float32Array, options: SearchOptions): Neighbor[] {
    const { queryNorm, wanted, excluded, allowed } = this.plan(vector, options);
    const top = new TopK(wanted);
    const n = this.keys.length;
    const d = this.dim;
    const data = this.data;
    const norms = this.norms;
    for (let r = 0; r < n; r++) {
      if (allowed !== undefined && allowed[r] === 0) continue;
      const denom = queryNorm * (norms[r] as number);
      top.push(r, denom > 0 ? dotRow(vector, data, 0, r * d, d) / denom : 0);
    }
    return this.answer(
      top.sorted().map(({ item, score }) => ({ row: item, score })),
      options.k,
      excluded,
    );
  }

  /** Int8 candidates from the wasm kernel, re-ranked exactly. */
  private searchInt8(vector: Float32Array, k: number, plan: { queryNorm: number; wanted: number; excluded: Set<number>; allowed?: Uint8Array }): Neighbor[] {
    const n = this.keys.length;
    const approx = this.int8Scanner().scores(vector);
    const candidates = new TopK(Math.min(n, Math.max(RERANK_MIN, 5 * plan.wanted)));
    const allowed = plan.allowed;
    for (let r = 0; r < n; r++) if (allowed === undefined || allowed[r] === 1) candidates.push(r, approx[r] as number);
    const exact = new TopK(plan.wanted);
    for (const { item: r } of candidates.sorted()) {
      const denom = plan.queryNorm * (this.norms[r] as number);
      exact.push(r, denom > 0 ? dotRow(vector, this.data, 0, r * this.dim, this.dim) / denom : 0);
    }
    return this.answer(
      exact.sorted().map(({ item, score }) => ({ row: item, score })),
      k,
      plan.excluded,
    );
  }

  /**
   * What a query scans: excluded keys are not tested per row — the scan keeps k more
   * candidates per excluded key present and drops them after; folder and cluster filters
   * become a row mask.
   */
  private plan(vector: Float32Array, { k, excludeKeys, filter }: SearchOptions): { queryNorm: number; wanted: number; excluded: Set<number>; allowed?: Uint8Array } {
    if (vector.length !== this.dim) {
      throw new UserError(`Query vector has ${vector.length} dimensions, the index has ${this.dim}`);
    }
    const excluded = new Set<number>();
    for (const key of excludeKeys ?? []) {
      const r = this.rowOf.get(key);
      if (r !== undefined) excluded.add(r);
    }
    const folder = folderPrefix(filter?.keyPrefix ?? '');
    let allowed: Uint8Array | undefined;
    if (folder !== '' || filter?.cluster !== undefined) {
      const mask = new Uint8Array(this.keys.length);
      this.keys.forEach((key, r) => {
        if (folder !== '' && !key.startsWith(folder)) return;
        if (filter?.cluster !== undefined && this.labels.get(key) !== filter.cluster) return;
        mask[r] = 1;
      });
      allowed = mask;
    }
    const wanted = Math.max(0, Math.min(this.keys.length, k + excluded.size));
    return { queryNorm: Math.sqrt(dotRow(vector, vector, 0, 0, this.dim)), wanted: k > 0 ? wanted : 0, excluded, ...(allowed ? { allowed } : {}) };
  }

  private answer(hits: ReadonlyArray<{ row: number; score: number }>, k: number, excluded: ReadonlySet<number>): Neighbor[] {
    return hits
      .filter((h) => !excluded.has(h.row))
      .slice(0, Math.max(0, k))
      .map(({ row, score }) => {
        const key = this.keys[row] as string;
        const cluster = this.labels.get(key);
        return { key, score, ...(cluster !== undefined ? { cluster } : {}) };
      });
  }

  /** Move the matrix into shared memory (an index adopted from an ordinary array). */
  private share(): void {
    const data = sharedFloats(this.data.length);
    data.set(this.data);
    this.data = data;
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

  /** The vectors as one N×D matrix, in row order, without a copy (read only: do not change it). */
  view(): Float32Array {
    return this.data.subarray(0, this.keys.length * this.dim);
  }

  /** The vectors as one N×D matrix (a copy), in row order. */
  matrix(): Float32Array {
    return this.data.slice(0, this.keys.length * this.dim);
  }

  /**
   * Write embeddings.npy and ids.json under `prefix`; in a local folder, the int8 copy too
   * when `search` scans one (saveSearchCopy).
   */
  async save(storage: Storage, prefix = ''): Promise<void> {
    await storage.put(prefix + EMBEDDINGS_FILE, encodeNpy({ rows: this.keys.length, cols: this.dim, data: this.view() }));
    await storage.put(prefix + IDS_FILE, JSON.stringify(this.keys));
    if (storage instanceof LocalStorage) await this.saveSearchCopy(storage, prefix);
  }

  /**
   * Store the int8 copy `search` scans on a large index (embeddings.int8, int8-file.ts)
   * beside the embeddings.npy just written from this index in `folder`, so that a process
   * loading the folder reads it instead of building it at its first query; on an index that
   * takes no int8 path, remove any copy an earlier index left there. One pass over the
   * vectors (the pass the first query would otherwise make). Returns whether it wrote one.
   */
  async saveSearchCopy(folder: LocalStorage, prefix = ''): Promise<boolean> {
    const file = folder.resolveKey(prefix + INT8_FILE);
    const npyBytes = await byteSize(folder.resolveKey(prefix + EMBEDDINGS_FILE));
    if (!this.takesInt8Path() || npyBytes === undefined || npyBytes < this.keys.length * this.dim * 4) {
      await rm(file, { force: true });
      return false;
    }
    await writeInt8Copy(file, this.int8Source(), npyBytes);
    return true;
  }

  /**
   * The index stored under `prefix`. From a local folder, embeddings.npy is read straight
   * into shared memory, and an int8 copy stored beside it (saveSearchCopy) is taken when it
   * is this matrix's (checked: shape, file size, every row's norm), to be read at the first
   * large query; a stale or foreign one is ignored.
   */
  static async load(storage: Storage, prefix = ''): Promise<FlatIndex> {
    const where = locationOf(storage, prefix);
    let matrix;
    let keys: unknown;
    let reading = EMBEDDINGS_FILE;
    try {
      // A local folder: read into shared memory directly (one copy of the vectors, whatever their size).
      matrix =
        storage instanceof LocalStorage
          ? await readNpyFile(storage.resolveKey(prefix + EMBEDDINGS_FILE), { shared: true })
          : decodeNpy(await storage.get(prefix + EMBEDDINGS_FILE), prefix + EMBEDDINGS_FILE);
      reading = IDS_FILE;
      keys = JSON.parse((await storage.get(prefix + IDS_FILE)).toString('utf8'));
    } catch (error) {
      // fileProblem words a file-system error; a malformed .npy keeps the reader's own message.
      const problem = (error as { code?: unknown }).code !== undefined || error instanceof SyntaxError ? fileProblem(error) : `is damaged (${errorMessage(error)})`;
      throw new UserError(`Cannot read the index in ${where}: ${reading} ${problem}`, 2, { cause: error });
    }
    if (!Array.isArray(keys) || keys.length !== matrix.rows || !keys.every((k) => typeof k === 'string')) {
      throw new UserError(`Cannot read the index in ${where}: ${IDS_FILE} must list ${matrix.rows} keys`);
    }
    const index = FlatIndex.adopt(keys, matrix.data, matrix.cols);
    if (storage instanceof LocalStorage && index.int8) {
      const npyBytes = await byteSize(storage.resolveKey(prefix + EMBEDDINGS_FILE));
      if (npyBytes !== undefined) index.stored = await findInt8Copy(storage.resolveKey(prefix + INT8_FILE), index.int8Source(), npyBytes);
    }
    return index;
  }

  private upsertRows(keys: readonly string[], vectorAt: (i: number) => Float32Array): void {
    this.dropScanner();
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
      this.norms[r] = Math.sqrt(dotRow(v, v, 0, 0, this.dim));
    });
  }

  private grow(rows: number): void {
    if (rows <= this.norms.length) return;
    const cap = Math.max(rows, this.norms.length * 2);
    const data = sharedFloats(cap * this.dim);
    data.set(this.data);
    const norms = sharedFloats(cap);
    norms.set(this.norms);
    this.data = data;
    this.norms = norms;
  }
}

/** Σ a[ao + j] · b[bo + j], j < d: four partial sums (the loop V8 runs fastest; parallel-scan.ts has the same). */
export function dotRow(a: Float32Array, b: Float32Array, ao: number, bo: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < d; j += 4) {
    s0 += (a[ao + j] as number) * (b[bo + j] as number);
    s1 += (a[ao + j + 1] as number) * (b[bo + j + 1] as number);
    s2 += (a[ao + j + 2] as number) * (b[bo + j + 2] as number);
    s3 += (a[ao + j + 3] as number) * (b[bo + j + 3] as number);
  }
  for (; j < d; j++) s0 += (a[ao + j] as number) * (b[bo + j] as number);
  return s0 + s1 + s2 + s3;
}
