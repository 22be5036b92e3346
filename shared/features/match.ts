// Matching two images' ORB descriptors: Hamming brute force (OpenCV's BFMatcher,
// k = 2 nearest neighbours), Lowe's ratio test, and — when enough matches survive —
// a RANSAC homography (cv.findHomography) whose inliers are the matches consistent
// with one planar transform (crop, scale, rotation, perspective).
//
// Score: the inlier count when a homography is found, else the number of good
// matches after the ratio test. A near-duplicate typically has dozens of inliers;
// an unrelated image a handful of (accidental) ones.
//
// Why BFMatcher rather than JavaScript: on 400 × 450 descriptors, knnMatch takes
// ~4 ms, a JS loop with a 32-bit popcount ~7 ms and a byte-table loop ~18 ms
// (measured on the 2-core dev machine, see docs/features.md).

import { withCvScope, type Cv } from './opencv.js';
import { ORB_DESCRIPTOR_BYTES, type OrbFeatures } from './orb.js';

export interface MatchOptions {
  /** Lowe's ratio: keep a match when best distance < ratio × second best (default 0.75). */
  ratio: number;
  /** Good matches needed before a homography is estimated (default 8; at least 4). */
  minMatches: number;
  /** RANSAC reprojection threshold in working-image pixels (default 5). */
  ransacThreshold: number;
}

export const DEFAULT_MATCH_OPTIONS: MatchOptions = Object.freeze({ ratio: 0.75, minMatches: 8, ransacThreshold: 5 });

export interface GoodMatch {
  /** Keypoint index in the first image. */
  a: number;
  /** Keypoint index in the second image. */
  b: number;
  /** Hamming distance (bits, 0–256). */
  distance: number;
  /** Consistent with the homography (false when none was found). */
  inlier: boolean;
}

export interface FeatureMatch {
  matches: GoodMatch[];
  /** Whether a homography was found (enough good matches and RANSAC succeeded). */
  homography: boolean;
  inliers: number;
  /** inliers when a homography was found, else matches.length. */
  score: number;
  /** The homography (row-major 3 × 3) mapping the first image's working coordinates to the second's, when found. */
  matrix?: number[];
}

function descriptorMat(cv: Cv, f: OrbFeatures): ReturnType<Cv['matFromArray']> {
  return cv.matFromArray(f.keypoints.length, ORB_DESCRIPTOR_BYTES, cv.CV_8U, f.descriptors);
}

/** Good matches from image a to image b (ratio test), then RANSAC inliers. */
export function matchFeatures(cv: Cv, a: OrbFeatures, b: OrbFeatures, options: Partial<MatchOptions> = {}): FeatureMatch {
  const o = { ...DEFAULT_MATCH_OPTIONS, ...options };
  if (!(o.ratio > 0 && o.ratio <= 1)) throw new RangeError(`ratio must be in (0, 1], got ${o.ratio}`);
  if (a.keypoints.length === 0 || b.keypoints.length < 2) return { matches: [], homography: false, inliers: 0, score: 0 };
  return withCvScope((scope) => {
    const query = scope.track(descriptorMat(cv, a));
    const train = scope.track(descriptorMat(cv, b));
    const matcher = scope.track(new cv.BFMatcher(cv.NORM_HAMMING, false));
    const knn = scope.track(new cv.DMatchVectorVector());
    matcher.knnMatch(query, train, knn, 2);
    const matches: GoodMatch[] = [];
    for (let i = 0; i < knn.size(); i++) {
      const pair = scope.track(knn.get(i));
      if (pair.size() < 2) continue;
      const best = pair.get(0);
      const second = pair.get(1);
      if (best.distance < o.ratio * second.distance) matches.push({ a: best.queryIdx, b: best.trainIdx, distance: best.distance, inlier: false });
    }
    let inliers = 0;
    let homography = false;
    let matrix: number[] | undefined;
    if (matches.length >= Math.max(4, o.minMatches)) {
      const src = scope.track(cv.matFromArray(matches.length, 1, cv.CV_32FC2, pointsOf(a, matches, 'a')));
      const dst = scope.track(cv.matFromArray(matches.length, 1, cv.CV_32FC2, pointsOf(b, matches, 'b')));
      const mask = scope.track(new cv.Mat());
      const h = scope.track(cv.findHomography(src, dst, cv.RANSAC, o.ransacThreshold, mask));
      if (!h.empty() && mask.rows === matches.length) {
        homography = true;
        matrix = Array.from(h.data64F);
        matches.forEach((m, i) => {
          m.inlier = mask.data[i] !== 0;
          if (m.inlier) inliers++;
        });
      }
    }
    return { matches, homography, inliers, score: homography ? inliers : matches.length, ...(matrix ? { matrix } : {}) };
  });
}

function pointsOf(f: OrbFeatures, matches: readonly GoodMatch[], side: 'a' | 'b'): Float32Array {
  const out = new Float32Array(matches.length * 2);
  matches.forEach((m, i) => {
    const k = f.keypoints[m[side]];
    if (!k) throw new Error(`match refers to keypoint ${m[side]} of ${f.keypoints.length}`);
    out[2 * i] = k.x;
    out[2 * i + 1] = k.y;
  });
  return out;
}
