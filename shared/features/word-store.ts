// The ORB prints of an indexed collection, kept together: per image its keypoints'
// coordinates, descriptors and visual-word entries (shared/duplicates/visual-words.ts),
// plus the inverted word index over them (word-index.ts). `imgsim features --method
// match` asks it for the images sharing the most words with a query (candidates the
// autoencoder does not propose: rotated copies, tight crops) and matches the query
// against the stored descriptors, so no indexed image is decoded at query time.
//
// One binary file (encode/decode), all typed arrays in one buffer:
//   'IMGSIMOW'  u32 header length  header JSON {format, meta, keys, total}  (pad to 4)
//   sizes       u32 × N   working image width << 16 | height
//   counts      u32 × N   keypoints of each image (0: no keypoint, or unreadable)
//   points      f32 × 2T  x y of each keypoint, image after image (T = Σ counts)
//   descriptors u32 × 8T  the 32-byte descriptors
//   entries     u32 × 8T  wordEntries of each image's descriptors (WORD_BANDS per descriptor)
// 72 bytes a keypoint: ~54 KB an image for 800 × 530 photos at 384 px (~750 keypoints of
// at most 1,000), 81 MB for 1,500 of them. Arrays
// are written in the host's byte order, recorded in the header (a store from a host of
// the other order is refused, and rebuilt by its owner). The header also holds the word
// entries of one fixed descriptor: a store whose words came from other bit positions
// (visual-words.ts changed) is refused rather than matched against new words.

import { DESCRIPTOR_BITS, distinctWords, MAX_DESCRIPTORS, WORD_BANDS, wordEntries } from '../duplicates/visual-words.js';
import { WordIndex } from '../duplicates/word-index.js';
import type { MatchableImage } from '../duplicates/word-match.js';
import { ORB_DESCRIPTOR_BYTES, type Keypoint, type OrbFeatures } from './orb.js';

const MAGIC = 'IMGSIMOW';
/** Bumped when the layout changes; the word scheme (bands × bits) is part of the header too. */
const FORMAT = 1;
const DESC_WORDS = ORB_DESCRIPTOR_BYTES / 4;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The word entries of one fixed descriptor: they change whenever visual-words.ts draws its words differently. */
function wordProbe(): number[] {
  return Array.from(wordEntries(Uint8Array.from({ length: ORB_DESCRIPTOR_BYTES }, (_, i) => (i * 97 + 13) & 0xff)));
}

/** An image's ORB features in the form word-guided matching reads (points, descriptors as u32, sorted word entries). */
export interface StoredPrint extends MatchableImage {
  width: number;
  height: number;
}

/** The print of freshly detected features (at most MAX_DESCRIPTORS keypoints: the strongest, as ORB orders them). */
export function printOfFeatures(f: OrbFeatures): StoredPrint {
  const n = Math.min(f.keypoints.length, MAX_DESCRIPTORS);
  const points = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const k = f.keypoints[i] as Keypoint;
    points[2 * i] = k.x;
    points[2 * i + 1] = k.y;
  }
  const bytes = f.descriptors.slice(0, n * ORB_DESCRIPTOR_BYTES);
  const descriptors = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return { width: f.width, height: f.height, points, descriptors, entries: wordEntries(bytes) };
}

/** The features a BFMatcher or a drawing needs, from a print (keypoints carry coordinates only). */
export function featuresOfPrint(p: StoredPrint): OrbFeatures {
  const n = p.points.length / 2;
  const keypoints: Keypoint[] = [];
  for (let i = 0; i < n; i++) keypoints.push({ x: p.points[2 * i] as number, y: p.points[2 * i + 1] as number, size: 31, angle: 0, response: 0, octave: 0 });
  return { width: p.width, height: p.height, keypoints, descriptors: new Uint8Array(p.descriptors.buffer, p.descriptors.byteOffset, p.descriptors.byteLength) };
}

/** distinctWords of entries[from, to), in two passes over typed arrays (the stored entries of a whole collection are read this way). */
function wordsOf(entries: Uint32Array, from: number, to: number): Uint32Array {
  let n = 0;
  let last = -1;
  for (let i = from; i < to; i++) {
    const w = (entries[i] as number) >>> DESCRIPTOR_BITS;
    if (w !== last) {
      n++;
      last = w;
    }
  }
  const out = new Uint32Array(n);
  n = 0;
  last = -1;
  for (let i = from; i < to; i++) {
    const w = (entries[i] as number) >>> DESCRIPTOR_BITS;
    if (w !== last) out[n++] = last = w;
  }
  return out;
}

export interface WordCandidateHit {
  key: string;
  /** Sum of the idf of the visual words shared with the query (word-index.ts). */
  wordScore: number;
}

/** The prints of a collection, by key, and their inverted word index. */
export class OrbWordStore {
  private readonly rowOf: Map<string, number>;
  private readonly starts: Uint32Array;
  private wordIndex: WordIndex | undefined;

  private constructor(
    readonly keys: readonly string[],
    /** Whatever the owner keys the store by (settings, model, build); stored in the header. */
    readonly meta: Readonly<Record<string, unknown>>,
    private readonly sizes: Uint32Array,
    private readonly counts: Uint32Array,
    private readonly points: Float32Array,
    private readonly descriptors: Uint32Array,
    private readonly entries: Uint32Array,
  ) {
    this.rowOf = new Map(keys.map((k, i) => [k, i]));
    this.starts = new Uint32Array(keys.length + 1);
    for (let i = 0; i < keys.length; i++) this.starts[i + 1] = (this.starts[i] as number) + (counts[i] as number);
  }

  /** A store of `prints` (undefined: an image without keypoints or that could not be read), image i = keys[i]. */
  static fromPrints(keys: readonly string[], prints: ReadonlyArray<StoredPrint | undefined>, meta: Record<string, unknown>): OrbWordStore {
    if (keys.length !== prints.length) throw new RangeError(`${keys.length} keys but ${prints.length} prints`);
    const counts = Uint32Array.from(prints, (p) => (p ? p.points.length / 2 : 0));
    const sizes = Uint32Array.from(prints, (p) => (p ? ((p.width << 16) | p.height) >>> 0 : 0));
    const total = counts.reduce((s, c) => s + c, 0);
    const points = new Float32Array(2 * total);
    const descriptors = new Uint32Array(DESC_WORDS * total);
    const entries = new Uint32Array(WORD_BANDS * total);
    let at = 0;
    prints.forEach((p) => {
      if (!p) return;
      const n = p.points.length / 2;
      if (p.descriptors.length !== n * DESC_WORDS || p.entries.length !== n * WORD_BANDS) throw new RangeError('a print whose points, descriptors and entries disagree');
      points.set(p.points, 2 * at);
      descriptors.set(p.descriptors, DESC_WORDS * at);
      entries.set(p.entries, WORD_BANDS * at);
      at += n;
    });
    return new OrbWordStore(keys, meta, sizes, counts, points, descriptors, entries);
  }

  get size(): number {
    return this.keys.length;
  }

  /** Images stored without keypoints (flat, tiny or unreadable). */
  get empty(): number {
    return this.counts.reduce((s, c) => s + (c === 0 ? 1 : 0), 0);
  }

  /** The stored print of `key` (views into the store), or undefined when not stored or without keypoints. */
  printOf(key: string): StoredPrint | undefined {
    const i = this.rowOf.get(key);
    if (i === undefined) return undefined;
    const start = this.starts[i] as number;
    const end = this.starts[i + 1] as number;
    if (end === start) return undefined;
    const size = this.sizes[i] as number;
    return {
      width: size >>> 16,
      height: size & 0xffff,
      points: this.points.subarray(2 * start, 2 * end),
      descriptors: this.descriptors.subarray(DESC_WORDS * start, DESC_WORDS * end),
      entries: this.entries.subarray(WORD_BANDS * start, WORD_BANDS * end),
    };
  }

  /** The inverted index over every image's distinct words (built on first use: ~0.2 s for 1,500 photos). */
  private index(): WordIndex {
    if (!this.wordIndex) {
      const words = this.keys.map((_, i) => wordsOf(this.entries, WORD_BANDS * (this.starts[i] as number), WORD_BANDS * (this.starts[i + 1] as number)));
      this.wordIndex = WordIndex.build(words);
    }
    return this.wordIndex;
  }

  /** The `limit` images sharing the most idf-weighted words with the query's print, best first; `exclude` keys are never returned. */
  candidates(query: StoredPrint, limit: number, exclude?: ReadonlySet<string>): WordCandidateHit[] {
    const skip = exclude ? [...exclude].filter((k) => this.rowOf.has(k)).length : 0;
    return this.index()
      .query(distinctWords(query.entries), { limit: limit + skip })
      .map((c) => ({ key: this.keys[c.image] as string, wordScore: c.score }))
      .filter((c) => !exclude?.has(c.key))
      .slice(0, limit);
  }

  /** The store as one buffer (see the layout at the top). */
  encode(): Buffer {
    const total = this.starts[this.keys.length] as number;
    const header = Buffer.from(JSON.stringify({ format: FORMAT, littleEndian: LITTLE_ENDIAN, wordProbe: wordProbe(), meta: this.meta, keys: this.keys, total }), 'utf8');
    const head = 8 + 4 + header.length;
    const pad = (4 - (head % 4)) % 4;
    const parts = [this.sizes, this.counts, this.points, this.descriptors, this.entries];
    const out = Buffer.alloc(head + pad + parts.reduce((s, p) => s + p.byteLength, 0));
    out.write(MAGIC, 0, 'latin1');
    out.writeUInt32LE(header.length, 8);
    header.copy(out, 12);
    let at = head + pad;
    for (const p of parts) {
      Buffer.from(p.buffer, p.byteOffset, p.byteLength).copy(out, at);
      at += p.byteLength;
    }
    return out;
  }

  /** A store from `encode`'s buffer; throws a RangeError naming what is wrong with a damaged or foreign one. */
  static decode(buffer: Buffer): OrbWordStore {
    if (buffer.length < 12 || buffer.toString('latin1', 0, 8) !== MAGIC) throw new RangeError('not an ORB word store');
    const length = buffer.readUInt32LE(8);
    if (12 + length > buffer.length) throw new RangeError('truncated header');
    const header = JSON.parse(buffer.toString('utf8', 12, 12 + length)) as Record<string, unknown>;
    if (header.format !== FORMAT) throw new RangeError(`format ${String(header.format)}, expected ${FORMAT}`);
    if (header.littleEndian !== LITTLE_ENDIAN) throw new RangeError('written on a host of the other byte order');
    if (JSON.stringify(header.wordProbe) !== JSON.stringify(wordProbe())) throw new RangeError('its visual words were drawn differently (visual-words.ts changed)');
    const keys = header.keys;
    const total = header.total;
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string') || typeof total !== 'number' || !Number.isInteger(total) || total < 0) throw new RangeError('bad header');
    const n = keys.length;
    let at = 12 + length;
    at += (4 - (at % 4)) % 4;
    const expected = at + 4 * (2 * n + 2 * total + DESC_WORDS * total + WORD_BANDS * total);
    if (buffer.length !== expected) throw new RangeError(`${buffer.length} bytes, expected ${expected}`);
    // Typed arrays need 4-byte aligned offsets: copy once into an aligned buffer when the given one is not.
    const body = (buffer.byteOffset + at) % 4 === 0 ? buffer : Buffer.from(buffer);
    const base = body.byteOffset;
    const take = <T extends Uint32Array | Float32Array>(make: new (b: ArrayBufferLike, o: number, l: number) => T, count: number): T => {
      const view = new make(body.buffer, base + at, count);
      at += 4 * count;
      return view;
    };
    const sizes = take(Uint32Array, n);
    const counts = take(Uint32Array, n);
    if (counts.reduce((s, c) => s + c, 0) !== total) throw new RangeError('keypoint counts do not add up to the total');
    const points = take(Float32Array, 2 * total);
    const descriptors = take(Uint32Array, DESC_WORDS * total);
    const entries = take(Uint32Array, WORD_BANDS * total);
    const meta = typeof header.meta === 'object' && header.meta !== null ? (header.meta as Record<string, unknown>) : {};
    return new OrbWordStore(keys, meta, sizes, counts, points, descriptors, entries);
  }
}
