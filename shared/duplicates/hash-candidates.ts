// Candidate pairs from hashes alone, for collections of millions of images: equal content
// hashes (the exact tier) and perceptual hashes within a Hamming distance (the perceptual
// tier's candidates), found without comparing every image with every other.
//
// Perceptual candidates use multi-index hashing (Norouzi, Punjani & Fleet, "Fast search in
// Hamming space with multi-index hashing", CVPR 2012): the 64-bit hash is cut into m blocks;
// two hashes within D bits have at least one block within ⌊D / m⌋ bits of each other
// (pigeonhole), so every pair within D is found by looking up, for each block of a query,
// the table entries whose block differs in at most ⌊D / m⌋ bits — exactly, with no pair
// missed. m is chosen per call from the collection's size (a table of 2^(64/m) slots per
// block, probes Σ C(64/m, k) for k ≤ ⌊D / m⌋): at the default 8 bits, 5 blocks of 12–13
// bits (1-bit probes) up to ~200,000 images, 3 of 21–22 bits (2-bit probes) above.
// Measured on uniform random hashes, 2 cores: 120,000 images 7 s (comparing within
// 8-bit block buckets as before: 22 s, all on the event loop), 1,000,000 in ~3 min
// (before: ~25 min extrapolated, N²/16 comparisons). When even the best m costs more than comparing with every image
// (a threshold of 20+ bits) every image is compared.
// The table is a counting-sort index in typed arrays (slot offsets + positions): ~1 MB at
// 16 bits, ~50 MB at 22. Written here: no maintained npm package does Hamming-space search
// over 64-bit hashes (the ones on the registry are BK-trees over strings).
//
// The work is sliced: the event loop is let through every ~20 ms (a queued pass runs this
// on a worker whose lock renewals depend on it).

import { yieldToEventLoop } from '../concurrency.js';
import { popcount32 } from './perceptual-hash.js';

/** Each image's pHash and the pHash of its mirror image, 4 × u32 an image: [hash hi, hash lo, mirror hi, mirror lo]. */
export type PackedHashes = Uint32Array;

export interface HashCandidate {
  distance: number;
  /** Found by one side's mirror hash against the other's hash. */
  mirrored: boolean;
}

export interface HashSearchOptions {
  /** Only pairs this accepts (positions, either order). */
  wanted?: (a: number, b: number) => boolean;
  /** Look only for pairs with at least one of these positions (an incremental pass's new images); default every image. */
  queries?: readonly number[];
  onProgress?: (done: number, total: number) => void;
}

/** The number a pair of positions is known by in candidate maps (a < b or b < a alike); positions < 2^26. */
export const pairKeyOf = (a: number, b: number): number => (a < b ? a * 0x4000000 + b : b * 0x4000000 + a);
/** The two positions of a pairKeyOf number, smaller first. */
export const pairOfKey = (k: number): { a: number; b: number } => ({ a: Math.floor(k / 0x4000000), b: k % 0x4000000 });

const SLICE_MS = 20;

/** Pairs with equal bytes (else equal decoded pixels), by pairKeyOf; each image paired with the first of its kind. */
export async function exactPairs(n: number, sha256: (i: number) => string, pixels: (i: number) => string, wanted: (a: number, b: number) => boolean): Promise<Map<number, 'bytes' | 'pixels'>> {
  const out = new Map<number, 'bytes' | 'pixels'>();
  let slice = performance.now();
  for (const [field, of] of [['bytes', sha256], ['pixels', pixels]] as const) {
    const first = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const h = of(i);
      const j = first.get(h);
      if (j === undefined) first.set(h, i);
      else if (wanted(i, j) && !out.has(pairKeyOf(i, j))) out.set(pairKeyOf(i, j), field);
      if ((i & 1023) === 1023 && performance.now() - slice > SLICE_MS) {
        await yieldToEventLoop();
        slice = performance.now();
      }
    }
  }
  return out;
}

/**
 * Pairs whose hash, or one's mirror hash against the other's hash, is within `maxDistance`
 * bits: by pairKeyOf, the smallest distance each. Exact (every such pair is found).
 */
export async function perceptualCandidates(hashes: PackedHashes, maxDistance: number, o: HashSearchOptions = {}): Promise<Map<number, HashCandidate>> {
  const n = hashes.length / 4;
  const found = new Map<number, HashCandidate>();
  const queries = o.queries;
  const total = queries ? queries.length : n;
  const wanted = o.wanted ?? (() => true);
  const plan = planBlocks(n, maxDistance);
  // Tables of every image's hash; when only some images are asked about, of the mirror
  // hashes too, so that an old image's mirror matching a new one's hash is found from the
  // new side.
  const direct = plan ? buildTables(hashes, 0, plan) : undefined;
  const mirrors = plan && queries ? buildTables(hashes, 2, plan) : undefined;
  const seen = new Int32Array(n).fill(-1);
  let stamp = 0;
  const consider = (i: number, j: number, d: number, mirrored: boolean): void => {
    if (j === i || d > maxDistance || !wanted(i, j)) return;
    const k = pairKeyOf(i, j);
    const had = found.get(k);
    if (!had || d < had.distance) found.set(k, { distance: d, mirrored });
  };
  /** Every image within maxDistance of the hash at (hi, lo) in `tables` (compared with that table's hashes at `offset`). */
  const search = (i: number, hi: number, lo: number, tables: Tables | undefined, offset: number, mirrored: boolean): void => {
    stamp++;
    if (!tables || !plan) {
      for (let j = 0; j < n; j++) consider(i, j, distanceAt(hashes, j, offset, hi, lo), mirrored);
      return;
    }
    for (let b = 0; b < plan.blocks.length; b++) {
      const { start, items } = tables[b] as Table;
      const masks = plan.masks[b] as Int32Array;
      const v = blockOf(hi, lo, plan.blocks[b] as Block);
      for (let m = 0; m < masks.length; m++) {
        const slot = v ^ (masks[m] as number);
        const end = start[slot + 1] as number;
        for (let s = start[slot] as number; s < end; s++) {
          const j = items[s] as number;
          if (seen[j] === stamp) continue;
          seen[j] = stamp;
          const d = distanceAt(hashes, j, offset, hi, lo);
          if (d <= maxDistance) consider(i, j, d, mirrored);
        }
      }
    }
  };
  let slice = performance.now();
  for (let q = 0; q < total; q++) {
    const i = queries ? (queries[q] as number) : q;
    const hi = hashes[4 * i] as number;
    const lo = hashes[4 * i + 1] as number;
    search(i, hi, lo, direct, 0, false);
    search(i, hashes[4 * i + 2] as number, hashes[4 * i + 3] as number, direct, 0, true);
    if (queries) search(i, hi, lo, mirrors, 2, true);
    if (performance.now() - slice > SLICE_MS) {
      o.onProgress?.(q + 1, total);
      await yieldToEventLoop();
      slice = performance.now();
    }
  }
  o.onProgress?.(total, total);
  return found;
}

// ---- multi-index tables ----------------------------------------------------------------

/** Bits [shift, shift + width) of the 64-bit value hi · 2^32 + lo. */
interface Block {
  shift: number;
  width: number;
}

interface Table {
  /** Positions of slot v: items[start[v] … start[v + 1]). */
  start: Uint32Array;
  items: Int32Array;
}
type Tables = Table[];

interface Plan {
  blocks: Block[];
  /** Per block, every XOR mask of ≤ ⌊D / m⌋ bits within its width. */
  masks: Int32Array[];
}

/** Largest block: a table of 2^22 slots (16 MiB of offsets). */
const MAX_WIDTH = 22;

/** The block count with the fewest expected comparisons, or undefined when comparing with every image is cheaper. */
function planBlocks(n: number, maxDistance: number): Plan | undefined {
  let best: { m: number; cost: number } | undefined;
  for (let m = 3; m <= 8; m++) {
    const widths = widthsOf(m);
    if (Math.max(...widths) > MAX_WIDTH) continue;
    const r = Math.floor(maxDistance / m);
    // Per query: probes (a table read each; a table past 16 bits no longer fits the cache,
    // measured ~3× dearer a probe) + the images found in the probed slots.
    const cost = widths.reduce((acc, w) => acc + ballSize(w, r) * ((w > 16 ? 3 : 1) + n / 2 ** w), 0);
    if (!best || cost < best.cost) best = { m, cost };
  }
  if (!best || best.cost >= n) return undefined;
  const widths = widthsOf(best.m);
  const r = Math.floor(maxDistance / best.m);
  let shift = 0;
  const blocks = widths.map((width) => {
    const b = { shift, width };
    shift += width;
    return b;
  });
  return { blocks, masks: blocks.map((b) => masksWithin(b.width, r)) };
}

/** 64 bits in m near-equal widths. */
function widthsOf(m: number): number[] {
  return Array.from({ length: m }, (_, k) => Math.floor(64 / m) + (k < 64 % m ? 1 : 0));
}

/** Σ C(w, k) for k ≤ r. */
function ballSize(w: number, r: number): number {
  let sum = 0;
  let c = 1;
  for (let k = 0; k <= Math.min(r, w); k++) {
    sum += c;
    c = (c * (w - k)) / (k + 1);
  }
  return sum;
}

/** Every w-bit mask with at most r bits set, fewest bits first. */
function masksWithin(w: number, r: number): Int32Array {
  const out: number[] = [0];
  let frontier = [{ mask: 0, next: 0 }];
  for (let k = 1; k <= Math.min(r, w); k++) {
    const grown: Array<{ mask: number; next: number }> = [];
    for (const f of frontier) {
      for (let bit = f.next; bit < w; bit++) {
        const mask = f.mask | (1 << bit);
        out.push(mask);
        grown.push({ mask, next: bit + 1 });
      }
    }
    frontier = grown;
  }
  return Int32Array.from(out);
}

function blockOf(hi: number, lo: number, b: Block): number {
  const mask = b.width >= 32 ? 0xffffffff : (1 << b.width) - 1;
  if (b.shift >= 32) return (hi >>> (b.shift - 32)) & mask;
  if (b.shift + b.width <= 32) return (lo >>> b.shift) & mask;
  const lowBits = 32 - b.shift;
  return ((lo >>> b.shift) | (hi << lowBits)) & mask;
}

/** Counting-sort index of every image's hash (at `offset` in its 4 words) by each block's value. */
function buildTables(hashes: PackedHashes, offset: number, plan: Plan): Tables {
  const n = hashes.length / 4;
  return plan.blocks.map((b) => {
    const start = new Uint32Array((1 << b.width) + 1);
    const values = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = blockOf(hashes[4 * i + offset] as number, hashes[4 * i + offset + 1] as number, b);
      values[i] = v;
      start[v + 1] = (start[v + 1] as number) + 1;
    }
    for (let v = 0; v < 1 << b.width; v++) start[v + 1] = (start[v + 1] as number) + (start[v] as number);
    const fill = start.slice(0, 1 << b.width);
    const items = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      items[fill[v] as number] = i;
      fill[v] = (fill[v] as number) + 1;
    }
    return { start, items };
  });
}

function distanceAt(hashes: PackedHashes, j: number, offset: number, hi: number, lo: number): number {
  return popcount32(((hashes[4 * j + offset] as number) ^ hi) >>> 0) + popcount32(((hashes[4 * j + offset + 1] as number) ^ lo) >>> 0);
}
