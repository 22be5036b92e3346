// An inverted index from visual words (visual-words.ts) to the images holding them:
// "which images share the most words with this one?", each shared word weighted by its
// inverse document frequency, log(1 + N / df). Words held by more than `maxDf` images are
// stop words (sky, walls, JPEG blocks) and count for nothing.
//
// Compressed sparse rows: `offsets` (one per possible word + 1) and `postings` (image
// numbers), 4 bytes a posting: 1,000 keypoints × ~5 distinct words is ~20 KB an image.
// A query walks its words' postings into a dense score array (reset after each query)
// — the classic inverted-file scoring. Qdrant's sparse vectors with the idf modifier
// compute the same sum server-side; this is the in-process form for folders and index
// folders, written here because no npm package keeps postings in typed arrays.

import { WORD_BANDS, WORD_BITS } from './visual-words.js';

const WORD_SPACE = WORD_BANDS << WORD_BITS;

export interface WordCandidate {
  /** Image number (its position in the list the index was built from). */
  image: number;
  /** Sum of the idf of the words shared with the query. */
  score: number;
}

export class WordIndex {
  private readonly score: Float64Array;
  private readonly touched: Uint32Array;

  private constructor(
    readonly images: number,
    private readonly offsets: Uint32Array,
    private readonly postings: Uint32Array,
    readonly maxDf: number,
  ) {
    this.score = new Float64Array(images);
    this.touched = new Uint32Array(images);
  }

  /** The index of images' distinct words (visual-words.ts distinctWords), image i = words[i]. */
  static build(words: readonly Uint32Array[], o: { maxDf?: number } = {}): WordIndex {
    const counts = new Uint32Array(WORD_SPACE + 1);
    for (const ws of words) for (const w of ws) counts[w + 1] = (counts[w + 1] as number) + 1;
    for (let w = 0; w < WORD_SPACE; w++) counts[w + 1] = (counts[w + 1] as number) + (counts[w] as number);
    const postings = new Uint32Array(counts[WORD_SPACE] as number);
    const fill = counts.slice(0, WORD_SPACE);
    words.forEach((ws, image) => {
      for (const w of ws) {
        const at = fill[w] as number;
        postings[at] = image;
        fill[w] = at + 1;
      }
    });
    const maxDf = o.maxDf ?? Math.max(32, Math.ceil(words.length / 100));
    return new WordIndex(words.length, counts, postings, maxDf);
  }

  /** Images holding `word`. */
  df(word: number): number {
    return (this.offsets[word + 1] as number) - (this.offsets[word] as number);
  }

  /**
   * The `limit` images sharing the most idf-weighted words with `queryWords` (sorted,
   * distinct), best first; `exclude` (e.g. the query's own number) is never returned.
   */
  query(queryWords: Uint32Array, o: { limit: number; exclude?: number; minScore?: number }): WordCandidate[] {
    const { score, touched } = this;
    let nTouched = 0;
    const n = this.images;
    for (const w of queryWords) {
      const start = this.offsets[w] as number;
      const end = this.offsets[w + 1] as number;
      const df = end - start;
      if (df === 0 || df > this.maxDf) continue;
      const idf = Math.log(1 + n / df); // > 0 even for a word every image holds (a folder of two)
      for (let p = start; p < end; p++) {
        const j = this.postings[p] as number;
        if (score[j] === 0) touched[nTouched++] = j;
        score[j] = (score[j] as number) + idf;
      }
    }
    const out: WordCandidate[] = [];
    const minScore = o.minScore ?? 0;
    for (let t = 0; t < nTouched; t++) {
      const j = touched[t] as number;
      const s = score[j] as number;
      score[j] = 0;
      if (j !== o.exclude && s > minScore) out.push({ image: j, score: s });
    }
    out.sort((a, b) => b.score - a.score || a.image - b.image);
    return out.slice(0, o.limit);
  }
}
