// Every vector of a dataset in a Qdrant collection, read back as one row-major matrix
// (the cluster stage and the reference feature method both need the whole set).
import type { QdrantStore } from '../../shared/vectors/qdrant/index.js';

export interface CollectionVectors {
  keys: string[];
  dim: number;
  /** keys.length × dim, row i is keys[i]'s vector. */
  vectors: Float32Array;
}

export async function readCollectionVectors(qdrant: QdrantStore, collection: string, dataset: string): Promise<CollectionVectors> {
  const keys: string[] = [];
  const rows: Float32Array[] = [];
  for await (const point of qdrant.scroll(collection, { dataset, withVectors: true, payloadFields: ['key'] })) {
    if (!point.vector) continue;
    keys.push(point.key);
    rows.push(point.vector);
  }
  const dim = rows[0]?.length ?? 0;
  const vectors = new Float32Array(keys.length * dim);
  rows.forEach((r, i) => vectors.set(r, i * dim));
  return { keys, dim, vectors };
}
