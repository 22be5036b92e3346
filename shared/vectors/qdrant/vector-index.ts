// VectorIndex (shared/vectors/types.ts) over one dataset in one Qdrant collection, so
// code written for the embedded FlatIndex runs unchanged against Qdrant.
//
// Differences from FlatIndex: vectorOf returns the stored vector normalised to length 1
// (Qdrant keeps cosine vectors so; cosine scores are unaffected), and upsert writes the
// payload {etag, width, height} as given or ''/0/0 when the caller has none.
import { UserError } from '../../errors.js';
import type { Neighbor, SearchOptions, VectorIndex } from '../types.js';
import type { QdrantStore } from './adapter.js';

export interface QdrantIndexPoint {
  key: string;
  vector: Float32Array;
  etag?: string;
  width?: number;
  height?: number;
}

export interface QdrantVectorIndexOptions {
  collection: string;
  dataset: string;
  modelId: string;
  dim: number;
}

export class QdrantVectorIndex implements VectorIndex {
  readonly dim: number;
  readonly collection: string;
  readonly dataset: string;
  readonly modelId: string;

  constructor(
    private readonly store: QdrantStore,
    options: QdrantVectorIndexOptions,
  ) {
    if (!Number.isInteger(options.dim) || options.dim < 1) throw new Error(`QdrantVectorIndex: invalid dimension ${options.dim}`);
    this.dim = options.dim;
    this.collection = options.collection;
    this.dataset = options.dataset;
    this.modelId = options.modelId;
  }

  /** Ensures the collection (cosine, `dim`, payload indexes) and binds an index to it. */
  static async open(store: QdrantStore, options: QdrantVectorIndexOptions): Promise<QdrantVectorIndex> {
    await store.ensureCollection(options.collection, options.dim);
    return new QdrantVectorIndex(store, options);
  }

  count(): Promise<number> {
    return this.store.count(this.collection, { dataset: this.dataset });
  }

  upsert(points: ReadonlyArray<QdrantIndexPoint>): Promise<void> {
    for (const p of points) this.checkDim(p.vector, `Vector for "${p.key}"`, Error);
    return this.store.upsert(
      this.collection,
      points.map((p) => ({
        dataset: this.dataset,
        key: p.key,
        vector: p.vector,
        payload: { etag: p.etag ?? '', modelId: this.modelId, width: p.width ?? 0, height: p.height ?? 0 },
      })),
    );
  }

  remove(keys: readonly string[]): Promise<void> {
    return this.store.deleteKeys(this.collection, this.dataset, keys);
  }

  async search(vector: Float32Array, options: SearchOptions): Promise<Neighbor[]> {
    this.checkDim(vector, 'Query vector', UserError);
    const hits = await this.store.search(this.collection, vector, {
      k: options.k,
      filter: { dataset: this.dataset },
      ...(options.excludeKeys ? { excludeKeys: options.excludeKeys } : {}),
    });
    return hits.map(({ key, score }) => ({ key, score }));
  }

  async vectorOf(key: string): Promise<Float32Array | undefined> {
    return (await this.store.vectorsOf(this.collection, this.dataset, [key])).get(key);
  }

  private checkDim(v: Float32Array, what: string, Kind: new (message: string) => Error): void {
    if (v.length !== this.dim) throw new Kind(`${what} has ${v.length} dimensions, the index has ${this.dim}`);
  }
}
