// The vector index interface: the embedded flat index now, Qdrant later.
// Points are identified by their image key within a dataset.

export interface Neighbor {
  key: string;
  /** Cosine similarity in [-1, 1]; higher is more similar. */
  score: number;
}

export interface SearchOptions {
  k: number;
  /** Keys never returned (e.g. the query image itself). */
  excludeKeys?: ReadonlySet<string>;
}

export interface VectorIndex {
  readonly dim: number;
  count(): Promise<number>;
  upsert(points: ReadonlyArray<{ key: string; vector: Float32Array }>): Promise<void>;
  remove(keys: readonly string[]): Promise<void>;
  search(vector: Float32Array, options: SearchOptions): Promise<Neighbor[]>;
  /** The stored vector of a key, or undefined. */
  vectorOf(key: string): Promise<Float32Array | undefined>;
}
