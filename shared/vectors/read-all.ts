// Every vector of a vector index as one row-major matrix, sorted by key — what the
// whole-collection steps need (the cluster map, the reference feature method). Sorting
// makes the result independent of the index's own order (Qdrant scrolls by point id, the
// FlatIndex by insertion); `unit` scales each row to length 1, as Qdrant stores cosine
// vectors already, so both indexes give the same matrix for the same vectors.
import { sortByKey } from '../images/failures.js';
import type { VectorIndex } from './types.js';

export interface VectorMatrix {
  keys: string[];
  dim: number;
  /** keys.length × dim, row-major. */
  vectors: Float32Array;
}

export async function readAllVectors(index: VectorIndex, o: { unit: boolean }): Promise<VectorMatrix> {
  const rows: Array<{ key: string; vector: Float32Array }> = [];
  for await (const p of index.scan()) rows.push({ key: p.key, vector: p.vector.slice() });
  sortByKey(rows);
  const dim = index.dim;
  const vectors = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    let scale = 1;
    if (o.unit) {
      let norm = 0;
      for (let j = 0; j < dim; j++) norm += (r.vector[j] as number) ** 2;
      scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    }
    for (let j = 0; j < dim; j++) vectors[i * dim + j] = (r.vector[j] as number) * scale;
  });
  return { keys: rows.map((r) => r.key), dim, vectors };
}
