// imgsim duplicates' flag checks (pure): thresholds and tiers, --dismiss pairs, the
// default --out, keys given as keys or file paths, and the human summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { defaultOut, duplicateFlags, keyOf, pairFlag, summaryLines, tierOf } from '../../../bin/commands/duplicates.js';
import { UsageError } from '../../../shared/errors.js';
import { DEFAULT_CANDIDATES, DEFAULT_MIN_TIER, DEFAULT_THRESHOLDS } from '../../../shared/duplicates/tiers.js';
import type { DuplicatesFile } from '../../../pipelines/duplicates-output.js';

/** The flags as commander fills them when none is given. */
const DEFAULTS = { minTier: DEFAULT_MIN_TIER, hashDistance: '8', inliers: '20', candidates: String(DEFAULT_CANDIDATES), nfeatures: '1000', orbSize: '384' };

const usage = (message: RegExp) => (e: unknown) => e instanceof UsageError && message.test(e.message);

test('duplicateFlags: the defaults are tiers.ts defaults', () => {
  const f = duplicateFlags(DEFAULTS);
  assert.deepEqual(f.thresholds, DEFAULT_THRESHOLDS);
  assert.equal(f.minTier, 'verified');
  assert.equal(f.fraction, undefined);
  assert.deepEqual([f.candidates, f.nfeatures, f.workingSize], [5, 1000, 384]);
});

test('duplicateFlags: thresholds from flags; --inliers below the weak count lowers it too', () => {
  const f = duplicateFlags({ ...DEFAULTS, hashDistance: '0', inliers: '10', cosine: '0.9', minTier: 'learned' });
  assert.equal(f.thresholds.hashDistance, 0);
  assert.equal(f.thresholds.inliers, 10);
  assert.equal(f.thresholds.weakInliers, 10);
  assert.equal(f.thresholds.cosine, 0.9);
  assert.equal(f.minTier, 'learned');
  assert.equal(duplicateFlags({ ...DEFAULTS, inliers: '60' }).thresholds.weakInliers, DEFAULT_THRESHOLDS.weakInliers);
  assert.equal(duplicateFlags({ ...DEFAULTS, fraction: '1' }).fraction, 1);
  assert.equal(duplicateFlags({ ...DEFAULTS, fraction: '0.05' }).fraction, 0.05);
});

test('duplicateFlags: values out of range are refused naming the flag and what it takes', () => {
  assert.throws(() => duplicateFlags({ ...DEFAULTS, fraction: '0' }), usage(/^--fraction must be a number above 0 and at most 1, got "0"$/));
  assert.throws(() => duplicateFlags({ ...DEFAULTS, fraction: '1.5' }), usage(/^--fraction must be/));
  assert.throws(() => duplicateFlags({ ...DEFAULTS, fraction: 'abc' }), usage(/^--fraction must be/));
  assert.throws(() => duplicateFlags({ ...DEFAULTS, cosine: '0' }), usage(/^--cosine must be a number above 0/));
  assert.throws(() => duplicateFlags({ ...DEFAULTS, cosine: '0.9', fraction: '0.1' }), usage(/not both/));
  assert.throws(() => duplicateFlags({ ...DEFAULTS, hashDistance: '65' }), usage(/^--hash-distance must be a whole number from 0 to 64, got "65"$/));
  assert.throws(() => duplicateFlags({ ...DEFAULTS, hashDistance: '2.5' }), usage(/^--hash-distance/));
  assert.throws(() => duplicateFlags({ ...DEFAULTS, inliers: '3' }), usage(/^--inliers must be a whole number from 4/));
  assert.throws(() => duplicateFlags({ ...DEFAULTS, nfeatures: '4096' }), usage(/^--nfeatures must be a whole number from 1 to 2048/));
  assert.throws(() => duplicateFlags({ ...DEFAULTS, orbSize: '16' }), usage(/^--orb-size must be a whole number ≥ 32/));
  assert.throws(() => duplicateFlags({ ...DEFAULTS, candidates: '0' }), usage(/^--candidates must be/));
  assert.throws(() => tierOf('fuzzy'), usage(/^--min-tier must be one of exact, perceptual, verified, learned, got "fuzzy"$/));
});

test('pairFlag: two different keys, --dismiss or --undismiss', () => {
  assert.equal(pairFlag({}), undefined);
  assert.deepEqual(pairFlag({ dismiss: ['a.jpg', 'b.jpg'] }), { undo: false, a: 'a.jpg', b: 'b.jpg' });
  assert.deepEqual(pairFlag({ undismiss: ['a.jpg', 'b.jpg'] }), { undo: true, a: 'a.jpg', b: 'b.jpg' });
  assert.throws(() => pairFlag({ dismiss: ['a.jpg'] }), usage(/^--dismiss takes the two keys of one pair, got 1: "a.jpg"$/));
  assert.throws(() => pairFlag({ dismiss: ['a', 'b', 'c'] }), usage(/got 3/));
  assert.throws(() => pairFlag({ undismiss: ['a', 'a'] }), usage(/^--undismiss takes two different images/));
  assert.throws(() => pairFlag({ dismiss: ['a', 'b'], undismiss: ['a', 'b'] }), usage(/not both/));
});

test('defaultOut: <index>/duplicates, or <folder>-duplicates beside the folder', () => {
  assert.equal(defaultOut({ index: '/data/run' }), path.resolve('/data/run/duplicates'));
  assert.equal(defaultOut({ folder: '/data/photos' }), path.resolve('/data/photos-duplicates'));
  assert.equal(defaultOut({ folder: '/data/photos/' }), path.resolve('/data/photos-duplicates'));
  assert.throws(() => defaultOut({ folder: '/' }), usage(/give --out/));
});

test('keyOf: a key as listed, or a file path inside the source folder', () => {
  const root = path.resolve('/data/photos');
  const keys = new Set(['a/b.jpg', 'c.png']);
  assert.equal(keyOf('a/b.jpg', root, keys), 'a/b.jpg');
  assert.equal(keyOf(path.join(root, 'a', 'b.jpg'), root, keys), 'a/b.jpg');
  assert.equal(keyOf('a/missing.jpg', root, keys), undefined);
  assert.equal(keyOf('/elsewhere/c.png', root, keys), undefined);
  assert.equal(keyOf(root, root, keys), undefined);
});

test('summaryLines: counts, groups by tier, the first groups with their sheets, time per 1,000 images, where the files are', () => {
  const file: DuplicatesFile = {
    version: 1,
    images: 2000,
    failed: [
      { key: 'x.txt', reason: 'not-an-image', message: '' },
      { key: 'y.jpg', reason: 'corrupt', message: '' },
    ],
    minTier: 'verified',
    thresholds: { ...DEFAULT_THRESHOLDS, cosine: 0.9512 },
    fraction: 0.05,
    pairsByTier: { exact: 1, perceptual: 2, verified: 3, learned: 4 },
    dismissed: 1,
    groups: Array.from({ length: 12 }, (_, i) => ({
      tier: i === 0 ? ('exact' as const) : ('verified' as const),
      keeper: `k${i}.jpg`,
      members: [
        { key: `k${i}.jpg`, width: 10, height: 10, bytes: 1, keeper: true, tier: 'verified' as const },
        { key: `o${i}.jpg`, width: 10, height: 10, bytes: 1, keeper: false, tier: 'verified' as const },
      ],
      pairs: [],
      sheet: `groups/${String(i + 1).padStart(4, '0')}.png`,
    })),
    seconds: { fingerprint: 50, pairs: 10, total: 60 },
    source: 'file:///data/photos',
    index: '/data/run',
    embedded: 1990,
  };
  const text = summaryLines(file, { out: '/data/run/duplicates', reportPath: '/data/run/duplicates/duplicates.json', sheets: true, sheetSeconds: 3, totalSeconds: 65 }).join('\n');
  assert.match(text, /^2,000 images fingerprinted, 2 skipped \(not-an-image 1, corrupt 1\), 1,990 with an embedding$/m);
  assert.match(text, /^12 groups of duplicates \(24 images\), by strongest tier: exact 1, verified 11 \(--min-tier verified\)$/m);
  assert.match(text, /^pairs found: exact 1, perceptual 2, verified 3, learned 4; 1 dismissed pair left out$/m);
  assert.match(text, /learned tier: cosine ≥ 0\.9512 \(chosen so that 5% of the images have a neighbour at or above it\)/);
  assert.match(text, /^ {4}1 {2}exact +2 images {2}keeper k0\.jpg {2}groups\/0001\.png$/m);
  assert.doesNotMatch(text, /k10\.jpg/, 'ten groups listed at most');
  assert.match(text, /… 2 more groups in duplicates\.json/);
  assert.match(text, /time: 1m 00s \(fingerprint 50s, pairs 10s\), 30s per 1,000 images; sheets 3\.0s; whole command 1m 05s/);
  assert.match(text, /report: \/data\/run\/duplicates\/duplicates\.json; sheets: \/data\/run\/duplicates\/groups\//);
});
