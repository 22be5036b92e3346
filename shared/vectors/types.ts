// The vector index interface, with two implementations: the embedded FlatIndex (a local
// index folder) and QdrantVectorIndex (one dataset in one Qdrant collection). The
// stages (pipelines/) are written against this interface only, so the local runner and
// the queue workers run the same stage code on different indexes.
// Points are identified by their image key within a dataset.

export interface Neighbor {
  key: string;
  /** Cosine similarity in [-1, 1]; higher is more similar. */
  score: number;
  /** The point's cluster label, when the index knows one (cluster stage). */
  cluster?: number;
}

/** What is known about an indexed image beside its vector. */
export interface PointAttributes {
  /** The object's version in its source (incremental runs compare it). */
  etag?: string;
  /** Original size after EXIF orientation. */
  width?: number;
  height?: number;
}

export interface IndexPoint extends PointAttributes {
  key: string;
  vector: Float32Array;
}

/** A point's place on the cluster map. */
export interface ClusterPlacement {
  key: string;
  x: number;
  y: number;
  label: number;
}

export interface SearchFilter {
  /** Only keys under this folder ("a/b" matches "a/b/c.jpg", not "a/bc.jpg"). */
  keyPrefix?: string;
  /** Only points of this cluster label (none match before the index has been clustered). */
  cluster?: number;
}

export interface SearchOptions {
  k: number;
  /** Keys never returned (e.g. the query image itself). */
  excludeKeys?: ReadonlySet<string>;
  filter?: SearchFilter;
}

export interface VectorIndex {
  readonly dim: number;
  count(): Promise<number>;
  upsert(points: readonly IndexPoint[]): Promise<void>;
  remove(keys: readonly string[]): Promise<void>;
  search(vector: Float32Array, options: SearchOptions): Promise<Neighbor[]>;
  /** The stored vector of a key, or undefined. */
  vectorOf(key: string): Promise<Float32Array | undefined>;
  /** Every point's key and vector, page by page, in no particular order. */
  scan(): AsyncIterable<{ key: string; vector: Float32Array }>;
  /** Record the cluster map on the points (search filters and results can use the label). */
  setClusters(points: readonly ClusterPlacement[]): Promise<void>;
}
