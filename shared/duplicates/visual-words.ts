// Visual words of ORB descriptors by locality-sensitive hashing: each 256-bit
// descriptor gives WORD_BANDS words, each its band number and WORD_BITS of its bits at
// fixed, seeded positions. Two descriptors of the same image patch (Hamming distance
// ~20 of 256 after a rotation or a re-encode) share at least one word ~9 times in 10;
// two unrelated ones almost never (2^-16 a band). No vocabulary to train or ship: the
// same words come out of every process and every version that keeps these constants,
// so words stored with an index or in Qdrant stay comparable.
//
// An image's words feed the inverted index (word-index.ts: which images share the most
// words with this one) and the word-guided matcher (word-match.ts: which descriptors to
// compare). Both read `entries`: word << DESCRIPTOR_BITS | descriptor index, sorted.
//
// Measured on 1,000 real photos + 800 edited copies (docs/duplicates.md): with 8 bands of
// 16 bits, the original is among a copy's 5 best-scoring images for every rotated,
// rescaled, re-encoded, re-lit and stretched copy and 94 % of crops.

import { createRng } from '../random.js';
import { ORB_DESCRIPTOR_BYTES } from '../features/orb.js';

export const WORD_BANDS = 8;
export const WORD_BITS = 16;
/** Descriptor indices fit in this many bits: at most 2,048 keypoints an image. */
export const DESCRIPTOR_BITS = 11;
export const MAX_DESCRIPTORS = 1 << DESCRIPTOR_BITS;
/** Seed of the bit positions: changing it (or the constants above) changes every word. */
const POSITIONS_SEED = 1;

let positions: Uint16Array[] | undefined;
function bandPositions(): Uint16Array[] {
  if (positions) return positions;
  const rng = createRng(POSITIONS_SEED);
  const out: Uint16Array[] = [];
  for (let b = 0; b < WORD_BANDS; b++) {
    const all = Array.from({ length: ORB_DESCRIPTOR_BYTES * 8 }, (_, i) => i);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [all[i], all[j]] = [all[j] as number, all[i] as number];
    }
    out.push(Uint16Array.from(all.slice(0, WORD_BITS)));
  }
  return (positions = out);
}

/** Sorted `word << DESCRIPTOR_BITS | descriptor` for every descriptor and band (n × 32 bytes in). */
export function wordEntries(descriptors: Uint8Array): Uint32Array {
  if (descriptors.length % ORB_DESCRIPTOR_BYTES !== 0) throw new RangeError(`descriptors must be a multiple of ${ORB_DESCRIPTOR_BYTES} bytes, got ${descriptors.length}`);
  const n = descriptors.length / ORB_DESCRIPTOR_BYTES;
  if (n > MAX_DESCRIPTORS) throw new RangeError(`at most ${MAX_DESCRIPTORS} descriptors an image, got ${n}`);
  const pos = bandPositions();
  const out = new Uint32Array(n * WORD_BANDS);
  for (let i = 0; i < n; i++) {
    const base = i * ORB_DESCRIPTOR_BYTES;
    for (let b = 0; b < WORD_BANDS; b++) {
      let w = 0;
      for (const p of pos[b] as Uint16Array) w = (w << 1) | (((descriptors[base + (p >> 3)] as number) >> (p & 7)) & 1);
      out[i * WORD_BANDS + b] = (((b << WORD_BITS) | w) << DESCRIPTOR_BITS) | i;
    }
  }
  return out.sort();
}

/** The distinct words of an image (sorted), from its entries. */
export function distinctWords(entries: Uint32Array): Uint32Array {
  const out: number[] = [];
  let last = -1;
  for (const e of entries) {
    const w = e >>> DESCRIPTOR_BITS;
    if (w !== last) out.push((last = w));
  }
  return Uint32Array.from(out);
}
