// The fingerprint batch file of a queued duplicates pass (shared/duplicates/fingerprint-file.ts):
// what is read back is what was fingerprinted (word entries recomputed equal), records can
// be skipped unread, each record's span is told so it can be read and decoded alone, and a
// damaged file is refused naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFingerprintRecord, decodeFingerprints, encodeFingerprints, type RecordSpan } from '../../../shared/duplicates/fingerprint-file.js';
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

test("each record's span is told while skipping; the bytes of a span decode alone to the same fingerprint", async () => {
  const cv = await loadOpenCv();
  const prints = await Promise.all([4, 5, 6].map(async (seed) => ({ fingerprint: await fingerprintImage(cv, `d/é${seed}.png`, await renderCollage(300, seed), o), etag: `"e${seed}"` })));
  const bytes = encodeFingerprints({ workingSize: o.workingSize, nfeatures: o.nfeatures, prints, failed: [{ key: 'd/bad.jpg', etag: '"x"', reason: 'corrupt', message: 'corrupt' }] });
  const spans: Array<[string, string, RecordSpan]> = [];
  const skipped = decodeFingerprints(bytes, 'b.bin', (key, etag, span) => {
    spans.push([key, etag, span]);
    return false;
  });
  assert.deepEqual(skipped.prints, []);
  assert.deepEqual(
    spans.map(([k, e]) => [k, e]),
    prints.map((p) => [p.fingerprint.key, p.etag]),
  );
  // Contiguous, the last one ending the file.
  spans.forEach(([, , span], i) => {
    const before = spans[i - 1]?.[2];
    if (before) assert.equal(span.offset, before.offset + before.length);
  });
  const last = spans.at(-1)?.[2] as RecordSpan;
  assert.equal(last.offset + last.length, bytes.length);
  spans.forEach(([, , span], i) => {
    const one = decodeFingerprintRecord(bytes.subarray(span.offset, span.offset + span.length), 'b.bin');
    assert.equal(one.etag, prints[i]?.etag);
    assert.deepEqual(one.fingerprint, prints[i]?.fingerprint);
  });
  const first = spans[0]?.[2] as RecordSpan;
  assert.throws(() => decodeFingerprintRecord(bytes.subarray(first.offset, first.offset + first.length - 1), 'b.bin'), (e: unknown) => e instanceof UserError && /^b\.bin: not one fingerprint record/.test(e.message));
  assert.throws(() => decodeFingerprintRecord(bytes.subarray(first.offset, first.offset + first.length + 8), 'b.bin'), UserError);
  assert.throws(() => decodeFingerprintRecord(bytes.subarray(0, 40), 'b.bin'), UserError, 'the file header is not a record');
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
