// findDuplicates on real images (generated collages decoded by sharp, ORB by the OpenCV
// wasm build): each kind of edited copy lands in its original's group with the tier its
// evidence earns, distinct images stay apart — including the drill that found a false
// pair on real photos: two distinct pictures rotated with white corners hash alike.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { findDuplicates, cosineForFraction, type DuplicateImage, type DuplicatesReport } from '../../../pipelines/duplicates.js';
import { pairId } from '../../../shared/duplicates/groups.js';
import { DEFAULT_THRESHOLDS, DUPLICATE_NFEATURES, DUPLICATE_WORKING_SIZE } from '../../../shared/duplicates/tiers.js';
import { renderCollage } from '../../../shared/images/collage.js';

const SETTINGS = {
  thresholds: DEFAULT_THRESHOLDS,
  minTier: 'verified' as const,
  candidates: 5,
  workingSize: DUPLICATE_WORKING_SIZE,
  nfeatures: DUPLICATE_NFEATURES,
  maxPixels: 1e8,
  concurrency: 2,
};
const white = { r: 255, g: 255, b: 255 };

let images: Map<string, Buffer>;
let report: DuplicatesReport;

function source(map: Map<string, Buffer>): DuplicateImage[] {
  return [...map].map(([key, bytes]) => ({ key, load: () => Promise.resolve(bytes) }));
}

function groupOf(r: DuplicatesReport, key: string): string[] | undefined {
  return r.groups.find((g) => g.members.some((m) => m.key === key))?.members.map((m) => m.key);
}

before(async () => {
  images = new Map();
  for (let i = 0; i < 10; i++) images.set(`c${i}.png`, await renderCollage(320, 100 + i));
  const c0 = images.get('c0.png') as Buffer;
  const c1 = images.get('c1.png') as Buffer;
  images.set('c0-rotate.jpg', await sharp(c0).rotate(22, { background: white }).jpeg({ quality: 90 }).toBuffer());
  images.set('c0-crop.jpg', await sharp(c0).extract({ left: 40, top: 60, width: 230, height: 220 }).jpeg({ quality: 90 }).toBuffer());
  images.set('c0-copy.png', c0);
  images.set('c1-flip.jpg', await sharp(c1).flop().jpeg({ quality: 90 }).toBuffer());
  images.set('c1-jpeg.jpg', await sharp(c1).jpeg({ quality: 20 }).toBuffer());
  images.set('c1-wide.jpg', await sharp(c1).resize(420, 320, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer());
  // Drill: distinct pictures, each only rotated with white corners.
  images.set('r8.jpg', await sharp(images.get('c8.png') as Buffer).rotate(-25, { background: white }).jpeg({ quality: 90 }).toBuffer());
  images.set('r9.jpg', await sharp(images.get('c9.png') as Buffer).rotate(-25, { background: white }).jpeg({ quality: 90 }).toBuffer());
  images.set('broken.jpg', Buffer.from('not an image'));
  report = await findDuplicates(source(images), SETTINGS);
});

describe('findDuplicates on generated pictures and their edited copies', () => {
  test('every copy is grouped with its original, nothing else is', () => {
    assert.deepEqual(groupOf(report, 'c0.png')?.sort(), ['c0-copy.png', 'c0-crop.jpg', 'c0-rotate.jpg', 'c0.png']);
    assert.deepEqual(groupOf(report, 'c1.png')?.sort(), ['c1-flip.jpg', 'c1-jpeg.jpg', 'c1-wide.jpg', 'c1.png']);
    assert.equal(groupOf(report, 'c2.png'), undefined);
    // r8 groups with c8 (its original) and r9 with c9, never r8 with r9.
    assert.deepEqual(groupOf(report, 'r8.jpg')?.sort(), ['c8.png', 'r8.jpg']);
    assert.deepEqual(groupOf(report, 'r9.jpg')?.sort(), ['c9.png', 'r9.jpg']);
    assert.equal(report.groups.length, 4);
  });
  test('tiers and evidence: exact bytes, perceptual (flip mirrored), verified with inliers', () => {
    const g0 = report.groups.find((g) => g.members.some((m) => m.key === 'c0.png'));
    assert.ok(g0);
    const pair = (a: string, b: string) => g0.pairs.find((p) => pairId(p.a, p.b) === pairId(a, b));
    assert.equal(pair('c0.png', 'c0-copy.png')?.tier, 'exact');
    assert.equal(pair('c0.png', 'c0-copy.png')?.identical, 'bytes');
    const rot = g0.pairs.find((p) => p.a === 'c0-rotate.jpg' || p.b === 'c0-rotate.jpg');
    assert.equal(rot?.tier, 'verified');
    assert.ok((rot?.inliers ?? 0) >= DEFAULT_THRESHOLDS.weakInliers);
    const g1 = report.groups.find((g) => g.members.some((m) => m.key === 'c1.png'));
    const flip = g1?.pairs.find((p) => p.a === 'c1-flip.jpg' || p.b === 'c1-flip.jpg');
    assert.equal(flip?.tier, 'perceptual');
    assert.equal(flip?.mirrored, true);
    // Keeper: the most pixels (the stretched copy, 420 × 320).
    assert.equal(g1?.keeper, 'c1-wide.jpg');
  });
  test('a bad file is a failure with its reason, the rest carry on', () => {
    assert.deepEqual(
      report.failed.map((f) => f.key),
      ['broken.jpg'],
    );
    assert.equal(report.images, images.size - 1);
  });
  test('min tier exact keeps only identical files; dismissed pairs are not reported', async () => {
    const exact = await findDuplicates(source(images), { ...SETTINGS, minTier: 'exact' });
    assert.deepEqual(
      exact.groups.map((g) => g.members.map((m) => m.key).sort()),
      [['c0-copy.png', 'c0.png']],
    );
    const dismissed = await findDuplicates(source(images), { ...SETTINGS, minTier: 'exact' }, { dismissed: new Set([pairId('c0.png', 'c0-copy.png')]) });
    assert.equal(dismissed.groups.length, 0);
    assert.equal(dismissed.dismissed, 1);
  });
});

describe('edge cases found by review', () => {
  test('a folder of just an image and its rotated copy finds the pair (idf of a word both hold is not 0)', async () => {
    const two = new Map([
      ['c0.png', images.get('c0.png') as Buffer],
      ['c0-rotate.jpg', images.get('c0-rotate.jpg') as Buffer],
    ]);
    const r = await findDuplicates(source(two), SETTINGS);
    assert.deepEqual(r.groups.map((g) => g.members.map((m) => m.key).sort()), [['c0-rotate.jpg', 'c0.png']]);
  });
  test('a banner thinner than ORB\'s border (3000 × 10) is fingerprinted without keypoints, not a crash', async () => {
    const banner = await sharp({ create: { width: 3000, height: 10, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
    const r = await findDuplicates(source(new Map([['banner.png', banner], ['c2.png', images.get('c2.png') as Buffer]])), SETTINGS);
    assert.equal(r.images, 2);
    assert.deepEqual(r.failed, []);
  });
});

describe('learned-tier threshold from a fraction', () => {
  test('the cosine that the given share of images reaches', () => {
    assert.equal(cosineForFraction([0.99, 0.5, 0.9, 0.7], 0.5), 0.9);
    assert.equal(cosineForFraction([0.99, 0.5, 0.9, 0.7], 0.25), 0.99);
    assert.equal(cosineForFraction([0.99, 0.5, 0.9, 0.7], 1), 0.5);
    assert.equal(cosineForFraction([], 0.1), 1);
    // Rounded down, never above what the share reaches: cosines crowded near 1 (a barely trained model).
    const crowded = [0.99996, 0.99993, 0.99991, 0.5];
    const t = cosineForFraction(crowded, 0.5);
    assert.equal(t, 0.9999);
    assert.ok(crowded.filter((c) => c >= t).length >= 2);
    assert.equal(cosineForFraction([0.29, 0.1], 0.5), 0.29);
  });
});
