export {
  QdrantStore,
  PAYLOAD_INDEXES,
  type QdrantStoreOptions,
  type PointInput,
  type SparsePointInput,
  type ImagePayload,
  type ImagePayloadInput,
  type SearchHit,
  type StoreSearchOptions,
  type ScrolledPoint,
  type ScrollOptions,
  type PointFilter,
  QDRANT_RETRY,
  QDRANT_RETRY_INTERACTIVE,
  type QdrantRetryInfo,
} from './adapter.js';
export { QdrantError, displayUrl } from './errors.js';
export { keyDirs, toQdrantFilter } from './filter.js';
export { pointId, uuidV5, POINT_ID_NAMESPACE } from './point-id.js';
export { QdrantVectorIndex, type QdrantVectorIndexOptions } from './vector-index.js';
