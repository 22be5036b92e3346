// A dataset's visual words in Qdrant (docs/duplicates.md "Queued datasets"): one collection
// per dataset, `imgsim_<dataset>__words`, one point per fingerprinted image (the image's
// point id, UUIDv5(dataset, key)) holding
//   - the sparse vector `words` (modifier idf): indices = the image's distinct visual words
//     (visual-words.ts, < 2^19), values = 1, so Qdrant scores a query by a point's own vector
//     as the sum of the idf of the words shared — the local inverted index's score
//     (word-index.ts) without its stop words (Qdrant's idf of a word in most images is
//     near 0 instead: ln((N − n + 0.5)/(n + 0.5) + 1));
//   - the payload the candidates step reads instead of the fingerprints: key, etag, both
//     SHA-256s, pHash and mirror hash (hex), width, height, bytes (~250 bytes an image).
// Written by each fingerprint job beside its batch file; an image that changed is
// overwritten by its next fingerprint, an image gone (or now failing) is deleted by the
// candidates step (duplicates-pairs.ts).
import type { Fingerprint } from '../../shared/duplicates/fingerprint.js';
import { hashFromHex, hashHex, type Hash64 } from '../../shared/duplicates/perceptual-hash.js';
import type { QdrantStore } from '../../shared/vectors/qdrant/index.js';

export const WORDS_VECTOR = 'words';

/** The Qdrant collection of a dataset's visual words. */
export function wordsCollection(dataset: string): string {
  return `imgsim_${dataset}__words`;
}

/** What the candidates step needs of an image besides its words: its hashes and sizes. */
export interface ImageHashes {
  etag: string;
  sha256: string;
  pixels: string;
  phash: Hash64;
  mirror: Hash64;
  width: number;
  height: number;
  bytes: number;
}

/** Upsert the fingerprints' words and hashes (the collection made first if it is not there). */
export async function upsertWords(qdrant: QdrantStore, dataset: string, prints: ReadonlyArray<{ fingerprint: Fingerprint; etag: string }>): Promise<void> {
  if (prints.length === 0) return;
  const collection = wordsCollection(dataset);
  await qdrant.ensureSparseCollection(collection, WORDS_VECTOR);
  await qdrant.upsertSparse(
    collection,
    WORDS_VECTOR,
    prints.map(({ fingerprint: f, etag }) => ({
      dataset,
      key: f.key,
      indices: f.orb.words,
      values: new Uint8Array(f.orb.words.length).fill(1),
      payload: { etag, sha256: f.sha256, pixels: f.pixels, phash: hashHex(f.phash), mirror: hashHex(f.mirror), width: f.width, height: f.height, bytes: f.bytes },
    })),
    16,
  );
}

export const HASH_FIELDS = ['etag', 'sha256', 'pixels', 'phash', 'mirror', 'width', 'height', 'bytes'];

/** An image's hashes from its words point's payload; undefined when a field is missing (a point of another version). */
export function hashesOf(payload: Record<string, unknown>): ImageHashes | undefined {
  const { etag, sha256, pixels, phash, mirror, width, height, bytes } = payload;
  if (typeof etag !== 'string' || typeof sha256 !== 'string' || typeof pixels !== 'string' || typeof phash !== 'string' || typeof mirror !== 'string') return undefined;
  if (typeof width !== 'number' || typeof height !== 'number' || typeof bytes !== 'number') return undefined;
  return { etag, sha256, pixels, phash: hashFromHex(phash), mirror: hashFromHex(mirror), width, height, bytes };
}
