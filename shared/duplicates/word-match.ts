// Matching two images' ORB descriptors guided by their visual words, then a RANSAC
// homography: only descriptor pairs that share a word (visual-words.ts) are compared,
// each a 256-bit Hamming distance; a pair is kept when each is the other's nearest
// among those compared and the distance is at most `maxDistance`. Then OpenCV's
// estimateAffine2D (RANSAC) keeps the pairs consistent with one affine transform — what
// a crop, rescale, rotation or stretch produces. (findHomography's RANSAC ran its 2,000
// iterations on every unrelated pair: 31 ms a pair; the affine fit stops at its
// confidence: 0.2 ms.)
//
// Why not BFMatcher (shared/features/match.ts, used by `imgsim features`): brute force
// compares every descriptor with every other, ~16 ms for 1,000 × 1,000 here; a
// duplicates pass verifies tens of thousands of pairs. The merge over sorted word
// entries compares only the few hundred pairs that share a word: ~0.3 ms before RANSAC.
// Descriptor pairs of the same patch (distance ≤ 40) share a word ≥ 4 times in 10
// (8 bands of 16 bits), so a true duplicate keeps dozens of matches.

import { withCvScope, type Cv } from '../features/opencv.js';
import { popcount32 } from './perceptual-hash.js';
import { DESCRIPTOR_BITS, MAX_DESCRIPTORS } from './visual-words.js';

/** What word-guided matching needs of an image. */
export interface MatchableImage {
  /** Keypoint coordinates in the working image, x0 y0 x1 y1 … */
  points: Float32Array;
  /** Descriptors as 8 unsigned 32-bit words each. */
  descriptors: Uint32Array;
  /** visual-words.ts wordEntries of the descriptors. */
  entries: Uint32Array;
}

export interface WordMatch {
  matches: number;
  inliers: number;
  /** The affine transform as a row-major 3 × 3 matrix, from the first image's working coordinates to the second's. */
  matrix?: number[];
}

const DESC_MASK = MAX_DESCRIPTORS - 1;

function hamming(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  let d = 0;
  for (let k = 0; k < 8; k++) d += popcount32(((a[i * 8 + k] as number) ^ (b[j * 8 + k] as number)) >>> 0);
  return d;
}

/** Mutual nearest descriptor pairs among those sharing a word, then an affine RANSAC fit. */
export function matchByWords(cv: Cv, a: MatchableImage, b: MatchableImage, o: { maxDistance: number; ransacThreshold: number; minMatches: number }): WordMatch {
  const na = a.points.length / 2;
  const nb = b.points.length / 2;
  const bestA = new Int32Array(na).fill(-1);
  const distA = new Uint16Array(na).fill(0xffff);
  const bestB = new Int32Array(nb).fill(-1);
  const distB = new Uint16Array(nb).fill(0xffff);
  const ea = a.entries;
  const eb = b.entries;
  let i = 0;
  let j = 0;
  while (i < ea.length && j < eb.length) {
    const wa = (ea[i] as number) >>> DESCRIPTOR_BITS;
    const wb = (eb[j] as number) >>> DESCRIPTOR_BITS;
    if (wa < wb) i++;
    else if (wb < wa) j++;
    else {
      let iEnd = i;
      while (iEnd < ea.length && (ea[iEnd] as number) >>> DESCRIPTOR_BITS === wa) iEnd++;
      let jEnd = j;
      while (jEnd < eb.length && (eb[jEnd] as number) >>> DESCRIPTOR_BITS === wb) jEnd++;
      for (let p = i; p < iEnd; p++) {
        const da = (ea[p] as number) & DESC_MASK;
        for (let q = j; q < jEnd; q++) {
          const db = (eb[q] as number) & DESC_MASK;
          const d = hamming(a.descriptors, da, b.descriptors, db);
          if (d < (distA[da] as number)) {
            distA[da] = d;
            bestA[da] = db;
          }
          if (d < (distB[db] as number)) {
            distB[db] = d;
            bestB[db] = da;
          }
        }
      }
      i = iEnd;
      j = jEnd;
    }
  }
  const src: number[] = [];
  const dst: number[] = [];
  for (let p = 0; p < na; p++) {
    const q = bestA[p] as number;
    if (q < 0 || bestB[q] !== p || (distA[p] as number) > o.maxDistance) continue;
    src.push(a.points[2 * p] as number, a.points[2 * p + 1] as number);
    dst.push(b.points[2 * q] as number, b.points[2 * q + 1] as number);
  }
  const matches = src.length / 2;
  if (matches < Math.max(4, o.minMatches)) return { matches, inliers: 0 };
  return withCvScope((scope) => {
    const s = scope.track(cv.matFromArray(matches, 1, cv.CV_32FC2, src));
    const t = scope.track(cv.matFromArray(matches, 1, cv.CV_32FC2, dst));
    const mask = scope.track(new cv.Mat());
    const h = scope.track(cv.estimateAffine2D(s, t, mask, cv.RANSAC, o.ransacThreshold, 2000, 0.995, 10));
    if (h.empty() || mask.rows !== matches || h.rows !== 2 || h.cols !== 3) return { matches, inliers: 0 };
    let inliers = 0;
    for (let k = 0; k < matches; k++) if (mask.data[k] !== 0) inliers++;
    return { matches, inliers, matrix: [...Array.from(h.data64F), 0, 0, 1] };
  });
}
