// The verified tier's rule on its evidence (inliers of one affine fit, correlation of the
// thumbnails aligned by it), with the figures of the drill that tightened it: a queued pass
// over 3,000 real photos with crops and flipped copies grouped distinct photos' copies at
// 12 inliers aligned 0.86 and 0.88; true crop ↔ original pairs went down to 12 at 0.92.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifiedByEvidence } from '../../../shared/duplicates/pairs.js';
import { DEFAULT_THRESHOLDS } from '../../../shared/duplicates/tiers.js';

const t = DEFAULT_THRESHOLDS;

test('12 inliers need the aligned thumbnails correlated ≥ 0.9 (distinct photos matched at 0.86–0.88)', () => {
  assert.equal(verifiedByEvidence(12, 0.884, t), false);
  assert.equal(verifiedByEvidence(12, 0.856, t), false);
  assert.equal(verifiedByEvidence(17, 0.816, t), false);
  assert.equal(verifiedByEvidence(12, 0.923, t), true);
  assert.equal(verifiedByEvidence(11, 0.99, t), false);
});

test('20 inliers need 0.6, 60 stand alone', () => {
  assert.equal(verifiedByEvidence(20, 0.6, t), true);
  assert.equal(verifiedByEvidence(20, 0.59, t), false);
  assert.equal(verifiedByEvidence(60, -0.2, t), true);
  assert.equal(verifiedByEvidence(59, 0.5, t), false);
});
