// The fingerprint batch file of a queued duplicates pass (shared/duplicates/fingerprint-file.ts):
// what is read back is what was fingerprinted (word entries recomputed equal), records can
// be skipped unread, and a damaged file is refused naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFingerprints, encodeFingerprints } from '../../../shared/duplicates/fingerprint-file.js';
import { fingerprintImage } from '../../../shared/duplicates/fingerprint.js';
import { DUPLICATE_NFEATURES, DUPLICATE_WORKING_SIZE } from '../../../shared/duplicates/tiers.js';
import { UserError } from '../../../shared/errors.js';
import { loadOpenCv } from '../../../shared/features/opencv.js';
import { renderCollage } from '../../../shared/images/collage.js';

const o = { workingSize: DUPLICATE_WORKING_SIZE, nfeatures: DUPLICATE_NFEATURES, maxPixels: 1e8 };

test('fingerprints read back as written, word entries recomputed equal; ~45 KB an image at 1,000 keypoints', async () => {
  const cv = await loadOpenCv();
  const prints = await Promise.all([1, 2, 3].map(async (seed) => ({ fingerprint: await fingerprintImage(cv, `dir/c${seed}.png`, await renderCollage(400, seed), o), etag: `"e${seed}"` })));
  const failed = [{ key: 'dir/bad.jpg', etag: '"x"', reason: 'corrupt', message: 'dir/bad.jpg: corrupt' }];
  const bytes = encodeFingerprints({ workingSize: o.workingSize, nfeatures: o.nfeatures, prints, failed });
  const back = decodeFingerprints(bytes, 'batch.bin');
  assert.deepEqual([back.workingSize, back.nfeatures, back.failed], [o.workingSize, o.nfeatures, failed]);
  assert.equal(back.prints.length, 3);
  back.prints.forEach((b, i) => {
    const a = prints[i] as (typeof prints)[number];
    assert.equal(b.etag, a.etag);
    // deepEqual on typed arrays compares their contents (and kinds).
    assert.deepEqual(b.fingerprint, a.fingerprint);
  });
  const keypoints = prints.reduce((n, p) => n + p.fingerprint.orb.points.length / 2, 0);
  assert.ok(keypoints > 600, `keypoints: ${keypoints}`);
  // 40 bytes a keypoint (descriptor 32, point 8) and under 6 KB an image (thumbnails, hashes, key).
  const overhead = bytes.length - 40 * keypoints;
  assert.ok(overhead > 0 && overhead < 3 * 6000, `bytes ${bytes.length} for ${keypoints} keypoints: ${overhead} beside them`);

  const some = decodeFingerprints(bytes, 'batch.bin', (key) => key !== 'dir/c2.png');
  assert.deepEqual(
    some.prints.map((p) => p.fingerprint.key),
    ['dir/c1.png', 'dir/c3.png'],
  );
});

test('a damaged or foreign file is refused, naming it', () => {
  const empty = encodeFingerprints({ workingSize: 384, nfeatures: 1000, prints: [], failed: [] });
  assert.deepEqual(decodeFingerprints(empty, 'e.bin').prints, []);
  assert.throws(() => decodeFingerprints(Buffer.from('not a fingerprint file'), 'x.bin'), (e: unknown) => e instanceof UserError && /^x\.bin: not a fingerprint file/.test(e.message));
  assert.throws(() => decodeFingerprints(empty.subarray(0, 14), 't.bin'), (e: unknown) => e instanceof UserError && /^t\.bin: truncated/.test(e.message));
  const garbled = Buffer.from(empty);
  garbled.write('{', 17);
  assert.throws(() => decodeFingerprints(garbled, 'g.bin'), (e: unknown) => e instanceof UserError && /^g\.bin: damaged fingerprint file header/.test(e.message));
});
