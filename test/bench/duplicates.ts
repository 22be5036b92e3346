// The duplicates pass at the issue's size (issue 13: "a whole duplicates pass over 4,000
// photos in under 5 minutes on this 2-core machine"): --images images made of --photos
// (real photos; default ../shared/photos-dev when present, else generated collages) and
// seeded edited copies of them (rotate 10–35°, crop 60–80 %, rescale, JPEG q15–35,
// brightness, flip, stretch, identical copy), cached under the bench cache.
// Prints the pass's time (total and per 1,000 images), peak RSS, pair precision/recall
// against the known families, and the ratio to the 300 s target; then, on a sample of
// true and unrelated pairs, the verification matcher (word-guided matches + affine RANSAC)
// against the baseline matcher `imgsim features` uses (OpenCV BFMatcher + homography
// RANSAC): time per pair, ratio, and how many true pairs each confirms. "originals paired"
// counts pairs of two distinct unedited photos put in one group (the issue: never).
//
//   npm run bench:duplicates [-- --images=4000 --photos=../shared/photos-dev --sample=200]
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { fingerprintImages, findDuplicates } from '../../pipelines/duplicates.js';
import { makeDuplicate } from '../../pipelines/features-eval.js';
import { matchFeatures } from '../../shared/features/match.js';
import { loadOpenCv } from '../../shared/features/opencv.js';
import type { OrbFeatures } from '../../shared/features/orb.js';
import type { Fingerprint } from '../../shared/duplicates/fingerprint.js';
import { verifyPair } from '../../shared/duplicates/pairs.js';
import { DEFAULT_THRESHOLDS, DUPLICATE_NFEATURES, DUPLICATE_WORKING_SIZE } from '../../shared/duplicates/tiers.js';
import { generateCollageDataset } from '../../shared/images/collage.js';
import { createRng, randomBetween, shuffleInPlace } from '../../shared/random.js';
import { CACHE_ROOT, intOption, machineLine, peakRssMiB, stringOption, table } from './common.js';

const argv = process.argv.slice(2);
const IMAGES = intOption(argv, 'images', 4000, 10);
const SAMPLE = intOption(argv, 'sample', 200, 1);
const DEFAULT_PHOTOS = path.resolve('../shared/photos-dev');
const PHOTOS = stringOption(argv, 'photos', existsSync(DEFAULT_PHOTOS) ? DEFAULT_PHOTOS : undefined);
const KINDS = ['rotate', 'crop', 'scale', 'jpeg', 'brightness', 'flip', 'aspect', 'exact'] as const;
const TARGET_SECONDS = 300;

async function edited(bytes: Buffer, kind: (typeof KINDS)[number], rng: () => number): Promise<Buffer> {
  switch (kind) {
    case 'flip':
      return sharp(bytes).rotate().flop().jpeg({ quality: 90 }).toBuffer();
    case 'aspect': {
      const m = await sharp(bytes).rotate().metadata();
      const { width = 64, height = 64 } = m.autoOrient;
      return sharp(bytes).rotate().resize(Math.round(width * randomBetween(rng, 0.7, 1.4)), height, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
    }
    case 'exact':
      return bytes;
    case 'rotate':
    case 'crop':
    case 'scale':
    case 'jpeg':
    case 'brightness':
      return makeDuplicate(bytes, kind, rng);
  }
}

/** originals/ + edits/ in the cache; truth maps each edit to its original's key. */
async function buildSet(): Promise<{ dir: string; keys: string[]; truth: Map<string, string>; origin: string }> {
  let originDir = PHOTOS;
  let origin = PHOTOS ? `photos from ${PHOTOS}` : 'generated collages (256 px)';
  if (!originDir) {
    originDir = path.join(CACHE_ROOT, 'collages-256-s7');
    if (!existsSync(path.join(originDir, 'collage-0999.png'))) await generateCollageDataset(originDir, { count: 1000, size: 256, seed: 7 });
    origin = `1,000 ${origin}`;
  }
  const photos = (await readdir(originDir)).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort();
  const originals = photos.slice(0, Math.min(photos.length, Math.ceil(IMAGES / 2)));
  const edits = IMAGES - originals.length;
  const dir = path.join(CACHE_ROOT, `duplicates-v1-${path.basename(originDir)}-${IMAGES}`);
  const keys: string[] = originals.map((f) => `originals/${f}`);
  const truth = new Map<string, string>();
  const rng = createRng(13);
  const queue = shuffleInPlace([...originals], rng);
  const plan: Array<{ key: string; from: string; kind: (typeof KINDS)[number] }> = [];
  for (let i = 0; i < edits; i++) {
    const from = queue[i % queue.length] as string;
    const kind = KINDS[Math.floor(i / queue.length + i) % KINDS.length] as (typeof KINDS)[number];
    const key = `edits/${path.parse(from).name}-${i}-${kind}.jpg`;
    plan.push({ key, from, kind });
    keys.push(key);
    truth.set(key, `originals/${from}`);
  }
  const done = path.join(dir, '.complete');
  if (!existsSync(done)) {
    await mkdir(path.join(dir, 'originals'), { recursive: true });
    await mkdir(path.join(dir, 'edits'), { recursive: true });
    for (const f of originals) await copyFile(path.join(originDir, f), path.join(dir, 'originals', f));
    for (const p of plan) {
      const bytes = await edited(await readFile(path.join(originDir, p.from)), p.kind, rng);
      const tmp = path.join(dir, `${p.key}.tmp`);
      await writeFile(tmp, bytes);
      await rename(tmp, path.join(dir, p.key));
    }
    await writeFile(done, '');
  }
  return { dir, keys, truth, origin: `${originals.length} ${origin} + ${edits} edited copies` };
}

function asOrbFeatures(f: Fingerprint): OrbFeatures {
  const n = f.orb.points.length / 2;
  return {
    width: f.orb.workingSize,
    height: f.orb.workingSize,
    keypoints: Array.from({ length: n }, (_, i) => ({ x: f.orb.points[2 * i] as number, y: f.orb.points[2 * i + 1] as number, size: 31, angle: 0, response: 0, octave: 0 })),
    descriptors: new Uint8Array(f.orb.descriptors.buffer, f.orb.descriptors.byteOffset, f.orb.descriptors.byteLength),
  };
}

const set = await buildSet();
console.log(`bench:duplicates — ${set.origin}; ${machineLine()}`);
const settings = { thresholds: DEFAULT_THRESHOLDS, minTier: 'verified' as const, candidates: 5, workingSize: DUPLICATE_WORKING_SIZE, nfeatures: DUPLICATE_NFEATURES, maxPixels: 1e8, concurrency: 4 };
const images = set.keys.map((key) => ({ key, load: () => readFile(path.join(set.dir, key)) }));
const started = performance.now();
const report = await findDuplicates(images, settings);
const seconds = (performance.now() - started) / 1000;

const family = (k: string): string => set.truth.get(k) ?? k;
const groupOf = new Map<string, number>();
report.groups.forEach((g, i) => g.members.forEach((m) => groupOf.set(m.key, i)));
const families = new Map<string, number>();
for (const k of set.keys) families.set(family(k), (families.get(family(k)) ?? 0) + 1);
const truePairs = [...families.values()].reduce((s, n) => s + (n * (n - 1)) / 2, 0);
let tp = 0;
let predicted = 0;
let distinctOriginals = 0;
for (const g of report.groups) {
  for (let i = 0; i < g.members.length; i++) {
    for (let j = i + 1; j < g.members.length; j++) {
      predicted++;
      const a = (g.members[i] as { key: string }).key;
      const b = (g.members[j] as { key: string }).key;
      if (family(a) === family(b)) tp++;
      else if (!set.truth.has(a) && !set.truth.has(b)) distinctOriginals++;
    }
  }
}
console.log(
  table([
    ['images', 'failed', 'groups', 'pair precision', 'pair recall', 'originals paired', 'fingerprint s', 'pairs s', 'total s', 's / 1,000 images', 'peak RSS MiB', 'vs 300 s target'],
    [
      String(report.images),
      String(report.failed.length),
      String(report.groups.length),
      predicted ? (tp / predicted).toFixed(4) : '—',
      truePairs ? (tp / truePairs).toFixed(4) : '—',
      String(distinctOriginals),
      report.seconds.fingerprint.toFixed(1),
      report.seconds.pairs.toFixed(1),
      seconds.toFixed(1),
      ((seconds * 1000) / report.images).toFixed(1),
      peakRssMiB().toFixed(0),
      `${(seconds / TARGET_SECONDS).toFixed(2)}×`,
    ],
  ]),
);

// Verification matcher vs the baseline on the same pairs.
const cv = await loadOpenCv();
const rng = createRng(5);
const edits = set.keys.filter((k) => set.truth.has(k) && !k.endsWith('-flip.jpg'));
const sampleTrue = shuffleInPlace([...edits], rng).slice(0, SAMPLE).map((k) => [k, set.truth.get(k) as string] as const);
const originals = set.keys.filter((k) => !set.truth.has(k));
const sampleFalse = Array.from({ length: SAMPLE }, () => [originals[Math.floor(rng() * originals.length)] as string, originals[Math.floor(rng() * originals.length)] as string] as const).filter(([a, b]) => a !== b);
const needed = [...new Set([...sampleTrue, ...sampleFalse].flat())];
const { fingerprints } = await fingerprintImages(
  needed.map((key) => ({ key, load: () => readFile(path.join(set.dir, key)) })),
  settings,
);
const fp = new Map(fingerprints.map((f) => [f.key, f]));
const bf = new Map(fingerprints.map((f) => [f.key, asOrbFeatures(f)]));
function timeIt(fn: (a: string, b: string) => boolean, pairs: ReadonlyArray<readonly [string, string]>): { ms: number; yes: number } {
  const t = performance.now();
  let yes = 0;
  for (const [a, b] of pairs) if (fp.has(a) && fp.has(b) && fn(a, b)) yes++;
  return { ms: (performance.now() - t) / pairs.length, yes };
}
const words = (a: string, b: string): boolean => verifyPair(cv, fp.get(a) as Fingerprint, fp.get(b) as Fingerprint, DEFAULT_THRESHOLDS) !== undefined;
const brute = (a: string, b: string): boolean => matchFeatures(cv, bf.get(a) as OrbFeatures, bf.get(b) as OrbFeatures).inliers >= DEFAULT_THRESHOLDS.inliers;
const wt = timeIt(words, sampleTrue);
const wf = timeIt(words, sampleFalse);
const bt = timeIt(brute, sampleTrue);
const bff = timeIt(brute, sampleFalse);
console.log(
  table([
    ['matcher (1,000 keypoints)', 'ms / true pair', 'ms / unrelated pair', 'true pairs confirmed', 'unrelated confirmed'],
    ['word-guided + affine RANSAC (duplicates)', wt.ms.toFixed(2), wf.ms.toFixed(2), `${wt.yes}/${sampleTrue.length}`, `${wf.yes}/${sampleFalse.length}`],
    ['BFMatcher + homography RANSAC (baseline: features)', bt.ms.toFixed(2), bff.ms.toFixed(2), `${bt.yes}/${sampleTrue.length}`, `${bff.yes}/${sampleFalse.length}`],
    ['ratio baseline / duplicates', (bt.ms / wt.ms).toFixed(1) + '×', (bff.ms / wf.ms).toFixed(1) + '×', '', ''],
  ]),
);
