// Finding duplicate pairs among fingerprinted images, tier by tier (tiers.ts):
// candidates from equal hashes, from perceptual-hash buckets, from the visual-word index
// (word-index.ts) and, when embeddings are given, from their nearest neighbours; then each
// candidate pair is confirmed by the strongest evidence it has.
//
// Exact and perceptual candidates come from the hashes alone (hash-candidates.ts: every
// pair within the hash distance, by multi-index hashing). Comparisons run in slices with the
// event loop let through between them.

import { yieldToEventLoop } from '../concurrency.js';
import type { Cv } from '../features/opencv.js';
import { agreement, IDENTITY, plausibleEdit, rescaleHomography, type GreyImage } from './alignment.js';
import { colourDistance, type Fingerprint, type OrbPrint } from './fingerprint.js';
import { exactPairs, pairKeyOf, pairOfKey, perceptualCandidates } from './hash-candidates.js';
import { HASH_INPUT } from './perceptual-hash.js';
import type { DuplicateThresholds, Tier } from './tiers.js';
import { WordIndex } from './word-index.js';
import { matchByWords } from './word-match.js';

export interface PairEvidence {
  /** Positions of the two images in the fingerprint list, a < b. */
  a: number;
  b: number;
  tier: Tier;
  /** exact: what is identical. */
  identical?: 'bytes' | 'pixels';
  /** perceptual: hash distance in bits, and whether b matches a's mirror image. */
  distance?: number;
  mirrored?: boolean;
  /** perceptual / verified: correlation of the aligned thumbnails. */
  correlation?: number;
  /** verified: affine RANSAC inliers. */
  inliers?: number;
  /** Cosine of the embeddings, when known. */
  cosine?: number;
}

export interface NeighbourList {
  /** For image i, its nearest neighbours by embedding (positions) and their cosines. */
  neighbours(i: number): Array<{ image: number; cosine: number }>;
}

export interface PairSearch {
  thresholds: DuplicateThresholds;
  /** Visual-word candidates per image. */
  candidates: number;
  /** Cosine threshold actually used for the learned tier. */
  cosine: number;
  /** Only pairs with at least one image in this set are looked at (incremental runs); all when absent. */
  onlyWith?: ReadonlySet<number>;
  onProgress?: (done: number, total: number, phase: string) => void;
  /**
   * ORB features and thumbnail of image i's mirror image, to verify pairs found by the
   * mirror hash; without it such pairs are judged by their thumbnails alone.
   */
  mirrored?: (i: number) => Promise<{ orb: OrbPrint; thumb: GreyImage } | undefined>;
}

/**
 * Verified tier: `inliers` (20) inliers count only with the aligned thumbnails correlated
 * ≥ ALIGNED_CORRELATION, unless there are STRONG_INLIERS_FACTOR times as many. Distinct
 * collages built of the same primitives matched with 20–34 inliers at correlations of
 * −0.11…0.58 (eval-duplicates on 1,100 collages); rotated copies of flat photos have
 * 26–27 inliers at 0.32–0.37, which this gives up when no sibling copy joins them.
 */
export const ALIGNED_CORRELATION = 0.6;
export const STRONG_INLIERS_FACTOR = 3;

/** Below this many keypoints on both sides, ORB cannot judge a perceptual pair; the thumbnails and colours decide. */
export const MIN_KEYPOINTS = 50;

/**
 * Largest colour difference of a cell (fingerprint.ts colourDistance) for a perceptual
 * pair that ORB cannot judge (too few keypoints): the demo's red and blue versions of one
 * shape on the same noise differ by 1–3, versions of one colour by under 0.1. Not applied
 * when ORB judges: brightness edits of real photos move single cells by up to 5 (p95 0.7).
 */
export const MAX_COLOUR_DISTANCE = 0.5;

function mirroredSquare(s: Uint8Array): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let y = 0; y < HASH_INPUT; y++) for (let x = 0; x < HASH_INPUT; x++) out[y * HASH_INPUT + x] = s[y * HASH_INPUT + HASH_INPUT - 1 - x] as number;
  return out;
}

const squareImage = (data: Uint8Array): GreyImage => ({ data, width: HASH_INPUT, height: HASH_INPUT });

type MirrorPrint = { orb: OrbPrint; thumb: GreyImage } | undefined;

/**
 * The perceptual tier's judgement of a hash candidate (a < b in the list's order): the
 * 32 × 32 thumbnails correlated ≥ squareCorrelation, and ORB's confirmation when it can
 * judge (on a's mirror image when the hashes matched mirrored), else the colour grid.
 * Evidence without positions; undefined when not a perceptual pair.
 */
export async function judgePerceptual(
  cv: Cv,
  fa: Fingerprint,
  fb: Fingerprint,
  c: { distance: number; mirrored: boolean },
  t: DuplicateThresholds,
  mirroredA?: () => Promise<MirrorPrint>,
): Promise<Omit<PairEvidence, 'a' | 'b'> | undefined> {
  // `mirrored` was found from one side's mirror hash; the mirror of either side aligns them.
  const correlation = agreement(squareImage(c.mirrored ? mirroredSquare(fa.square) : fa.square), squareImage(fb.square), IDENTITY).correlation;
  if (correlation < t.squareCorrelation) return undefined;
  let inliers: number | undefined;
  // One textured side is enough for ORB to judge: an edited copy of a textured picture is
  // textured too (a featureless dune photo, rotated with white corners, hashed 8 bits from
  // rotated sunsets with 837 keypoints: eval-duplicates on 4,000 photos).
  const orbCanJudge = Math.max(fa.orb.points.length, fb.orb.points.length) / 2 >= MIN_KEYPOINTS && (!c.mirrored || mirroredA !== undefined);
  if (!orbCanJudge && fa.colour && fb.colour && colourDistance(fa.colour, fb.colour, c.mirrored) > MAX_COLOUR_DISTANCE) return undefined;
  if (orbCanJudge) {
    const side = c.mirrored && mirroredA ? await mirroredA() : { orb: fa.orb, thumb: fa.thumb };
    const verified = side && verifyPrints(cv, side.orb, side.thumb, fb.orb, fb.thumb, t);
    if (!verified) return undefined;
    inliers = verified.inliers;
  }
  return { tier: 'perceptual', distance: c.distance, mirrored: c.mirrored, correlation: round3(correlation), ...(inliers !== undefined ? { inliers } : {}) };
}

/**
 * A word or embedding candidate that no stronger tier took: verified by ORB + RANSAC, else
 * learned when its cosine (when known) reaches `cosine`; undefined when neither.
 */
export function judgeCandidate(cv: Cv, fa: Fingerprint, fb: Fingerprint, cosine: number | undefined, t: DuplicateThresholds, minCosine: number): Omit<PairEvidence, 'a' | 'b'> | undefined {
  const verified = verifyPair(cv, fa, fb, t);
  if (verified) return { tier: 'verified', ...verified, ...(cosine !== undefined ? { cosine: round3(cosine) } : {}) };
  if (cosine !== undefined && cosine >= minCosine) return { tier: 'learned', cosine: round3(cosine) };
  return undefined;
}

/** Every confirmed pair (any tier) among `fps`, strongest evidence each. */
export async function findPairs(cv: Cv, fps: readonly Fingerprint[], o: PairSearch, embeddings?: NeighbourList): Promise<PairEvidence[]> {
  const t = o.thresholds;
  // Each image's mirror print is made once, however many mirror pairs it is in (a flipped
  // copy pairs with every member of its family).
  const mirrors = new Map<number, Promise<{ orb: OrbPrint; thumb: GreyImage } | undefined>>();
  const mirrorOf = o.mirrored;
  const mirrored = mirrorOf
    ? (i: number): Promise<{ orb: OrbPrint; thumb: GreyImage } | undefined> => {
        let m = mirrors.get(i);
        if (!m) mirrors.set(i, (m = mirrorOf(i)));
        return m;
      }
    : undefined;
  const wanted = (a: number, b: number): boolean => !o.onlyWith || o.onlyWith.has(a) || o.onlyWith.has(b);
  const pairs = new Map<number, PairEvidence>();
  const add = (p: PairEvidence): void => {
    pairs.set(pairKeyOf(p.a, p.b), p);
  };

  // Exact: equal bytes, else equal pixels.
  for (const [k, identical] of await exactPairs(fps.length, (i) => (fps[i] as Fingerprint).sha256, (i) => (fps[i] as Fingerprint).pixels, wanted)) {
    add({ ...pairOfKey(k), tier: 'exact', identical });
  }

  // Perceptual: close hashes whose thumbnails agree and whose ORB features, when both
  // images have enough of them, agree too (two distinct photos rotated with white corners
  // hash alike and correlate at 0.94 on 32 × 32 thumbnails: found on real photos).
  const packed = new Uint32Array(4 * fps.length);
  fps.forEach((f, i) => packed.set([f.phash[0], f.phash[1], f.mirror[0], f.mirror[1]], 4 * i));
  const perceptual = await perceptualCandidates(packed, t.hashDistance, { wanted, ...(o.onlyWith ? { queries: [...o.onlyWith] } : {}) });
  for (const [k, c] of perceptual) {
    if (pairs.has(k)) continue;
    const { a, b } = pairOfKey(k);
    const judged = await judgePerceptual(cv, fps[a] as Fingerprint, fps[b] as Fingerprint, c, t, mirrored ? () => mirrored(a) : undefined);
    if (judged) add({ a, b, ...judged });
  }

  // Candidates for the verified tier: visual words, then embedding neighbours.
  const candidates = new Map<number, number | undefined>(); // pair → cosine when known
  const index = WordIndex.build(fps.map((f) => f.orb.words));
  let slice = performance.now();
  for (let i = 0; i < fps.length; i++) {
    if (o.onlyWith && !o.onlyWith.has(i)) continue;
    for (const c of index.query((fps[i] as Fingerprint).orb.words, { limit: o.candidates, exclude: i })) {
      const k = pairKeyOf(i, c.image);
      if (!candidates.has(k)) candidates.set(k, undefined);
    }
    if (performance.now() - slice > 50) {
      o.onProgress?.(i + 1, fps.length, 'candidates');
      await yieldToEventLoop();
      slice = performance.now();
    }
  }
  if (embeddings) {
    for (let i = 0; i < fps.length; i++) {
      for (const n of embeddings.neighbours(i)) {
        if (n.image === i || !wanted(i, n.image)) continue;
        candidates.set(pairKeyOf(i, n.image), n.cosine);
      }
    }
  }
  // Cosines of word candidates that are also embedding neighbours are kept above; others stay unknown.
  let done = 0;
  const total = candidates.size;
  for (const [k, cosine] of candidates) {
    done++;
    const a = Math.floor(k / 0x4000000);
    const b = k % 0x4000000;
    const known = pairs.get(k);
    if (known) {
      if (cosine !== undefined) known.cosine = round3(cosine);
      continue;
    }
    const judged = judgeCandidate(cv, fps[a] as Fingerprint, fps[b] as Fingerprint, cosine, t, o.cosine);
    if (judged) add({ a, b, ...judged });
    if (performance.now() - slice > 50) {
      o.onProgress?.(done, total, 'verify');
      await yieldToEventLoop();
      slice = performance.now();
    }
  }
  o.onProgress?.(total, total, 'verify');
  return [...pairs.values()].sort((x, y) => x.a - y.a || x.b - y.b);
}

/** ORB matches of a and b under one affine transform, checked on the aligned thumbnails; undefined when not a duplicate. */
export function verifyPair(cv: Cv, a: Fingerprint, b: Fingerprint, t: DuplicateThresholds): { inliers: number; correlation: number } | undefined {
  return verifyPrints(cv, a.orb, a.thumb, b.orb, b.thumb, t);
}

function verifyPrints(cv: Cv, a: OrbPrint, thumbA: GreyImage, b: OrbPrint, thumbB: GreyImage, t: DuplicateThresholds): { inliers: number; correlation: number } | undefined {
  const m = matchByWords(cv, a, b, { maxDistance: 64, ransacThreshold: 5, minMatches: Math.min(8, t.weakInliers) });
  if (!m.matrix || m.inliers < t.weakInliers || !plausibleEdit(m.matrix, Math.max(a.workingSize, b.workingSize))) return undefined;
  const { correlation } = agreement(thumbA, thumbB, rescaleHomography(m.matrix, a.workingSize, Math.max(thumbA.width, thumbA.height), b.workingSize, Math.max(thumbB.width, thumbB.height)));
  if (verifiedByEvidence(m.inliers, correlation, t)) return { inliers: m.inliers, correlation: round3(correlation) };
  return undefined;
}

/**
 * The verified tier's rule on a plausible affine fit: 3 × `inliers` inliers alone, `inliers`
 * with the aligned thumbnails correlated ≥ 0.6, or `weakInliers` (12) correlated ≥
 * `weakCorrelation` (0.9). The last was 0.8 until a queued pass over 3,000 real photos and
 * their crops / flips grouped two distinct mountain photos' flipped copies (12 inliers,
 * aligned 0.88) and two distinct coast photos' copies (12, 0.86); the lowest crop ↔ original
 * pair of those 3,000 was 12 inliers at 0.92 (eval-duplicates at 2,600: precision 1.000,
 * recall 0.987 with 0.9).
 */
export function verifiedByEvidence(inliers: number, correlation: number, t: DuplicateThresholds): boolean {
  return inliers >= STRONG_INLIERS_FACTOR * t.inliers || (inliers >= t.inliers && correlation >= ALIGNED_CORRELATION) || (inliers >= t.weakInliers && correlation >= t.weakCorrelation);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
