// ORB with the real OpenCV wasm build and real sharp decoding: keypoints on textured
// images and none on flat colour, matching a near-duplicate vs an unrelated image,
// the reference vector layout, the reference (PCA) index, and no wasm memory leak.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { DEFAULT_MATCH_OPTIONS, matchFeatures } from '../../../shared/features/match.js';
import { liveCvObjects, loadOpenCv, wasmHeapMark, type Cv } from '../../../shared/features/opencv.js';
import { decodeWorkingImage, detectOrb, orbFeatures, referenceVector, type OrbFeatures } from '../../../shared/features/orb.js';
import { renderCollage } from '../../../shared/images/collage.js';
import { ImageError } from '../../../shared/errors.js';
import {  } from '../../../pipelines/features.js';
import { ReferenceIndex } from '../../../pipelines/features-reference.js';

const OPTS = { nfeatures: 500, workingSize: 256, maxPixels: 1e8 };
let cv: Cv;
let original: Buffer;
let other: Buffer;
let fo: OrbFeatures;

before(async () => {
  cv = await loadOpenCv();
  original = await renderCollage(256, 11);
  other = await renderCollage(256, 12);
  fo = await orbFeatures(cv, original, OPTS);
});

describe('OpenCV loading', () => {
  test('loads once and the module is not thenable (safe to return from async code)', async () => {
    const again = await loadOpenCv();
    assert.equal(again, cv);
    assert.equal((cv as unknown as { then?: unknown }).then, undefined);
    assert.equal(typeof cv.ORB, 'function');
    assert.ok(!process.listeners('unhandledRejection').some((l) => l.name === 'abort'), 'opencv.js abort handler removed');
  });
});

describe('ORB detection', () => {
  test('finds many keypoints on a textured image, with 32-byte descriptors and in-image coordinates', () => {
    assert.ok(fo.keypoints.length > 150, `${fo.keypoints.length} keypoints`);
    assert.ok(fo.keypoints.length <= 500);
    assert.equal(fo.descriptors.length, fo.keypoints.length * 32);
    assert.equal(fo.width, 256);
    for (const k of fo.keypoints) {
      assert.ok(k.x >= 0 && k.x < fo.width && k.y >= 0 && k.y < fo.height);
      assert.ok(k.angle >= 0 && k.angle < 360 && k.size > 0);
    }
  });

  test('nfeatures caps the keypoints', async () => {
    const f = await orbFeatures(cv, original, { ...OPTS, nfeatures: 30 });
    assert.ok(f.keypoints.length > 0 && f.keypoints.length <= 30, `${f.keypoints.length}`);
  });

  test('a flat colour image has no keypoints', async () => {
    const flat = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#7a9' } }).png().toBuffer();
    const f = await orbFeatures(cv, flat, OPTS);
    assert.equal(f.keypoints.length, 0);
    assert.equal(f.descriptors.length, 0);
  });

  test('the working image keeps the aspect ratio and upscales small images', async () => {
    const small = await sharp(original).resize(64, 32, { fit: 'fill' }).png().toBuffer();
    const g = await decodeWorkingImage(small, { workingSize: 256, maxPixels: 1e8, grey: true });
    assert.deepEqual([g.width, g.height, g.channels, g.data.length], [256, 128, 1, 256 * 128]);
  });

  test('a corrupt file is an ImageError', async () => {
    await assert.rejects(orbFeatures(cv, Buffer.from('not an image at all'), OPTS), ImageError);
  });
});

describe('matching', () => {
  test('an image vs its rotated, cropped, re-encoded copy: many RANSAC inliers', async () => {
    const copy = await sharp(original).rotate(20, { background: '#fff' }).extract({ left: 30, top: 30, width: 240, height: 230 }).jpeg({ quality: 50 }).toBuffer();
    const m = matchFeatures(cv, fo, await orbFeatures(cv, copy, OPTS));
    assert.ok(m.homography, 'homography found');
    assert.ok(m.inliers >= 40, `${m.inliers} inliers`);
    assert.equal(m.score, m.inliers);
    assert.equal(m.matches.filter((x) => x.inlier).length, m.inliers);
  });

  test('an image vs an unrelated one: few matches, few inliers', async () => {
    const m = matchFeatures(cv, fo, await orbFeatures(cv, other, OPTS));
    assert.ok(m.score < 15, `score ${m.score} (${m.matches.length} good, ${m.inliers} inliers)`);
  });

  test('no keypoints on either side: score 0, no homography', () => {
    const empty: OrbFeatures = { width: 10, height: 10, keypoints: [], descriptors: new Uint8Array(0) };
    assert.deepEqual(matchFeatures(cv, empty, fo), { matches: [], homography: false, inliers: 0, score: 0 });
    assert.equal(matchFeatures(cv, fo, empty).score, 0);
  });

  test('ratio test: a stricter ratio keeps fewer matches', () => {
    const f2 = fo;
    const loose = matchFeatures(cv, fo, f2, { ratio: 0.9 });
    const strict = matchFeatures(cv, fo, f2, { ratio: DEFAULT_MATCH_OPTIONS.ratio / 2 });
    assert.ok(strict.matches.length <= loose.matches.length);
  });
});

describe('the reference vector and index', () => {
  test('descriptors / 255, row by row, zero-padded to nfeatures × 32', () => {
    const f: OrbFeatures = {
      width: 1,
      height: 1,
      keypoints: [0, 1].map(() => ({ x: 0, y: 0, size: 31, angle: 0, response: 1, octave: 0 })),
      descriptors: Uint8Array.from({ length: 64 }, (_, i) => (i * 4) % 256),
    };
    const v = referenceVector(f, 3);
    assert.equal(v.length, 96);
    assert.ok(Math.abs((v[1] as number) - 4 / 255) < 1e-7);
    assert.ok(Math.abs((v[33] as number) - ((33 * 4) % 256) / 255) < 1e-7);
    assert.ok(v.subarray(64).every((x) => x === 0));
    assert.equal(referenceVector(f, 1).length, 32, 'cut to nfeatures');
    assert.ok(Math.abs((referenceVector(f, 1)[31] as number) - 124 / 255) < 1e-7);
  });

  test('PCA to the vector length (zero-padded when fewer components exist), cosine kNN', () => {
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const dim = 8;
    const data = Float32Array.from({ length: keys.length * dim }, (_, i) => Math.sin(i * 1.7) + (i % dim) * 0.1);
    const ref = ReferenceIndex.build(keys, data, dim, 64);
    assert.equal(ref.length, 64);
    assert.equal(ref.components, 8);
    const q = new Float32Array(64);
    q[0] = 1;
    const hits = ref.search(q, 3, new Set(['k0']));
    assert.equal(hits.length, 3);
    assert.ok(!hits.some((h) => h.key === 'k0'));
    assert.ok((hits[0]?.score ?? 0) >= (hits[1]?.score ?? 0));
  });
});

describe('wasm memory', () => {
  test('repeated detection and matching delete every OpenCV object and do not grow the heap', async () => {
    const grey = await decodeWorkingImage(other, { workingSize: 256, maxPixels: 1e8, grey: true });
    // warm up (first calls allocate OpenCV's own caches)
    for (let i = 0; i < 3; i++) matchFeatures(cv, fo, detectOrb(cv, grey, 500));
    const mark = wasmHeapMark(cv);
    for (let i = 0; i < 40; i++) {
      const f = detectOrb(cv, grey, 500);
      matchFeatures(cv, fo, f);
      assert.equal(liveCvObjects(), 0);
    }
    const grown = wasmHeapMark(cv) - mark;
    assert.ok(grown < 1 << 20, `heap top moved by ${grown} bytes over 40 runs`);
  });
});
