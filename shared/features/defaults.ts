// The feature-matching methods and their defaults, apart from the code that uses them
// (orb.ts, pipelines/features.ts, pipelines/features-eval.ts re-export them) so that the
// CLI's help can show them without loading OpenCV, sharp or TensorFlow.js.
export const FEATURE_METHODS = ['match', 'reference'] as const;
export type FeatureMethod = (typeof FEATURE_METHODS)[number];

/** ORB keypoints per image when not given: the reference uses 30 (its vector length is 30 × 32); matching wants more. */
export const DEFAULT_NFEATURES: Readonly<Record<FeatureMethod, number>> = { reference: 30, match: 500 };

/** Default longest side of the working image ORB runs on. */
export const DEFAULT_WORKING_SIZE = 256;

/**
 * match on an index folder, whose visual-word index (pipelines/features-words.ts) is
 * stored once: ORB at 384 px with up to 1,000 keypoints, as duplicates' fingerprints.
 * On 1,000 real photos + 500 edited copies, recall@5 0.990 (crops 0.95) against 0.982
 * (crops 0.91) at 256 px / 500 (docs/features.md). A queued dataset, matched on the fly,
 * keeps DEFAULT_NFEATURES.match at DEFAULT_WORKING_SIZE.
 */
export const WORD_INDEX_ORB: Readonly<{ nfeatures: number; workingSize: number }> = { nfeatures: 1000, workingSize: 384 };

/** The near-duplicates eval-features generates, in the order it cycles through them. */
export const DUPLICATE_KINDS = ['crop', 'rotate', 'scale', 'jpeg', 'brightness'] as const;
export type DuplicateKind = (typeof DUPLICATE_KINDS)[number];

/** The edited copies eval-duplicates makes of each chosen original, one of each (shared/images/edits.ts). */
export const EDIT_KINDS = [...DUPLICATE_KINDS, 'flip', 'aspect', 'exact'] as const;
export type EditKind = (typeof EDIT_KINDS)[number];
