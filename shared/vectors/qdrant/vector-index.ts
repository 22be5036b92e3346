// VectorIndex (shared/vectors/types.ts) over one dataset in one Qdrant collection: what
// the queue workers hand to the stages, where the local runner hands them a FlatIndex.
//
// Differences from FlatIndex: vectorOf/scan return the stored vector normalised to
// length 1 (Qdrant keeps cosine vectors so; cosine scores are unaffected), upsert writes
// the payload {etag, width, height, modelId} ('' / 0 where the caller has none), and
// setClusters writes {cluster, x, y} into each point's payload (search filters use it).
import { UserError } from '../../errors.js';
import type { ClusterPlacement, IndexPoint, Neighbor, SearchOptions, VectorIndex } from '../types.js';
import type { QdrantStore } from './adapter.js';

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

  /** Binds an index to a collection that exists, reading its vector size; a UserError when it does not exist. */
  static async existing(store: QdrantStore, options: Omit<QdrantVectorIndexOptions, 'dim'>): Promise<QdrantVectorIndex> {
    const dim = await store.vectorSize(options.collection);
    if (dim === undefined) throw new UserError(`Qdrant collection "${options.collection}" at ${store.url} does not exist (or has named vectors)`);
    return new QdrantVectorIndex(store, { ...options, dim });
  }

  count(): Promise<number> {
    return this.store.count(this.collection, { dataset: this.dataset });
  }

  upsert(points: readonly IndexPoint[]): Promise<void> {
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
      filter: { dataset: this.dataset, ...options.filter },
      ...(options.excludeKeys ? { excludeKeys: options.excludeKeys } : {}),
    });
    return hits.map(({ key, score, payload }) => ({ key, score, ...(typeof payload.cluster === 'number' ? { cluster: payload.cluster } : {}) }));
  }

  async vectorOf(key: string): Promise<Float32Array | undefined> {
    return (await this.store.vectorsOf(this.collection, this.dataset, [key])).get(key);
  }

  async *scan(): AsyncIterable<{ key: string; vector: Float32Array }> {
    for await (const point of this.store.scroll(this.collection, { dataset: this.dataset, withVectors: true, payloadFields: ['key'] })) {
      if (point.vector) yield { key: point.key, vector: point.vector };
    }
  }

  setClusters(points: readonly ClusterPlacement[]): Promise<void> {
    return this.store.setPayload(
      this.collection,
      this.dataset,
      points.map((p) => ({ key: p.key, payload: { cluster: p.label, x: p.x, y: p.y } })),
    );
  }

  private checkDim(v: Float32Array, what: string, Kind: new (message: string) => Error): void {
    if (v.length !== this.dim) throw new Kind(`${what} has ${v.length} dimensions, the index has ${this.dim}`);
  }
}
