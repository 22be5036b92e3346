export type { Neighbor, SearchOptions, VectorIndex } from './types.js';
export { FlatIndex, EMBEDDINGS_FILE, IDS_FILE } from './flat-index.js';
