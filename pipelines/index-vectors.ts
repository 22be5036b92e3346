// The index stage: write embedded images into a vector index — the embedded FlatIndex
// of a local run, or the run's Qdrant collection (QdrantVectorIndex) for a queue index
// job. Upserts are keyed by the image key (Qdrant: point id = UUIDv5(dataset, key)), so
// a redelivered job overwrites instead of duplicating.
import type { VectorIndex } from '../shared/vectors/types.js';
import type { EmbeddedImages } from './embed.js';

/** Points per upsert call. */
const CHUNK = 256;

export async function indexVectors(index: VectorIndex, e: EmbeddedImages): Promise<{ indexed: number }> {
  if (e.dim !== index.dim) throw new Error(`The vectors have ${e.dim} dimensions, the index has ${index.dim}`);
  for (let start = 0; start < e.keys.length; start += CHUNK) {
    const end = Math.min(e.keys.length, start + CHUNK);
    const points = [];
    for (let i = start; i < end; i++) {
      points.push({
        key: e.keys[i] as string,
        vector: e.vectors.subarray(i * e.dim, (i + 1) * e.dim),
        etag: e.etags[i] ?? '',
        width: e.widths[i] ?? 0,
        height: e.heights[i] ?? 0,
      });
    }
    await index.upsert(points);
  }
  return { indexed: e.keys.length };
}
