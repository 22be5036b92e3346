// What the Qdrant adapter takes and returns: imgsim's point payload, search and scroll
// options and results.
import type { PointFilter } from './filter.js';

export interface ImagePayloadInput {
  etag: string;
  modelId: string;
  width: number;
  height: number;
  cluster?: number;
  x?: number;
  y?: number;
  [extra: string]: unknown;
}

export interface ImagePayload extends ImagePayloadInput {
  dataset: string;
  key: string;
  dirs: string[];
}

export interface PointInput {
  dataset: string;
  key: string;
  vector: Float32Array;
  payload: ImagePayloadInput;
}

/** A point of a collection of one named sparse vector (ensureSparseCollection). */
export interface SparsePointInput {
  dataset: string;
  key: string;
  /** Distinct dimensions (u32). */
  indices: ArrayLike<number>;
  values: ArrayLike<number>;
  payload: Record<string, unknown>;
}

export interface SearchHit {
  key: string;
  /** Cosine similarity, higher is more similar. */
  score: number;
  payload: ImagePayload;
}

export interface StoreSearchOptions {
  k: number;
  filter?: PointFilter;
  /** Keys never returned. With filter.dataset they are excluded by point id, else by key in any dataset. */
  excludeKeys?: Iterable<string>;
  /** Exact search instead of HNSW (slower; for evaluation and tests on big collections). */
  exact?: boolean;
}

export interface ScrolledPoint {
  key: string;
  dataset: string;
  payload: ImagePayload;
  /** Only with `withVectors`; Qdrant returns cosine vectors normalised to length 1. */
  vector?: Float32Array;
}

export interface ScrollOptions {
  dataset?: string;
  withVectors?: boolean;
  /** Points per request (default 256). */
  pageSize?: number;
  /** Only these payload fields (default: all). */
  payloadFields?: string[];
}
