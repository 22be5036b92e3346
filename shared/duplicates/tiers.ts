// Duplicate tiers, strongest evidence first, and the default thresholds. Apart from the
// code that computes them so that the CLI's help can show them without loading sharp or
// OpenCV.
//
//   exact       identical bytes, or identical decoded pixels
//   perceptual  perceptual hashes within `hashDistance` bits (directly or mirrored) and
//               the 32 × 32 thumbnails correlated ≥ `squareCorrelation`
//   verified    ORB matches consistent with one affine transform (a crop, rescale,
//               rotation, stretch): ≥ `inliers` inliers with the aligned 64-pixel
//               thumbnails correlated ≥ 0.6 (pairs.ts ALIGNED_CORRELATION), 3 × `inliers`
//               alone, or ≥ `weakInliers` correlated ≥ `weakCorrelation`
//   learned     autoencoder embeddings' cosine ≥ the threshold (no other evidence)

import { UsageError } from '../errors.js';

export const TIERS = ['exact', 'perceptual', 'verified', 'learned'] as const;
export type Tier = (typeof TIERS)[number];

/** A tier named by a flag's value, or a UsageError naming the flag and the tiers. */
export function tierFromFlag(flag: string, value: unknown): Tier {
  if (!TIERS.includes(value as Tier)) throw new UsageError(`${flag} must be one of ${TIERS.join(', ')}, got ${JSON.stringify(String(value))}`);
  return value as Tier;
}

/** Whether `tier` is reported when the weakest tier asked for is `minTier`. */
export function tierAtLeast(tier: Tier, minTier: Tier): boolean {
  return TIERS.indexOf(tier) <= TIERS.indexOf(minTier);
}

export interface DuplicateThresholds {
  hashDistance: number;
  squareCorrelation: number;
  inliers: number;
  weakInliers: number;
  weakCorrelation: number;
  /** Learned tier: cosine threshold (unless `fraction` sets it). */
  cosine: number;
}

/** Measured on 1,000 real photos with 900 edited copies: no distinct pair above them (docs/duplicates.md). */
export const DEFAULT_THRESHOLDS: Readonly<DuplicateThresholds> = Object.freeze({
  hashDistance: 8,
  squareCorrelation: 0.9,
  inliers: 20,
  weakInliers: 12,
  weakCorrelation: 0.9,
  cosine: 0.97,
});

/**
 * How a pass sets the learned tier's cosine threshold: given (`cosine`), or chosen so that
 * `fraction` of the images have a neighbour above it (as FiftyOne's near-duplicates do;
 * reported back); neither: DEFAULT_THRESHOLDS.cosine.
 */
export interface LearnedThreshold {
  cosine?: number;
  fraction?: number;
}

/** Only the threshold fields that are set (of a pass record, a payload, a request body): Redis hashes and JSON hold no undefined. */
export function learnedFields(l: LearnedThreshold): LearnedThreshold {
  return { ...(l.cosine !== undefined ? { cosine: l.cosine } : {}), ...(l.fraction !== undefined ? { fraction: l.fraction } : {}) };
}

/** "the default", "cosine ≥ 0.95" or "the cosine that flags 5% of the images": for messages. */
export function describeLearned(l: LearnedThreshold): string {
  if (l.fraction !== undefined) return `the cosine that flags ${+(l.fraction * 100).toFixed(2)}% of the images (--fraction ${l.fraction})`;
  if (l.cosine !== undefined) return `cosine ≥ ${l.cosine} (--cosine)`;
  return `the default cosine ≥ ${DEFAULT_THRESHOLDS.cosine}`;
}

/** Weakest tier reported by default: learned-only pairs (e.g. burst shots) are left out unless asked for. */
export const DEFAULT_MIN_TIER: Tier = 'verified';

/** ORB for duplicates: more keypoints on a larger image than `imgsim features` (crops keep enough of them). */
export const DUPLICATE_WORKING_SIZE = 384;
export const DUPLICATE_NFEATURES = 1000;
/** Candidates per image from the visual-word index and from the embeddings' neighbours. */
export const DEFAULT_CANDIDATES = 5;
