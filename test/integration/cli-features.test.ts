// `imgsim features` and `imgsim eval-features` end to end through the real command
// line: a small index built by `imgsim run` on textured images plus a near-duplicate,
// both methods with --json and --out PNGs, the visual-word index (built once beside the
// index, reused, rebuilt when the index changes; it finds a rotated copy the autoencoder
// does not propose), the flat-colour fallback and bad input.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { generateCollageDataset } from '../../shared/images/collage.js';
import { jsonOf, runCli } from '../support/cli.js';

const SMALL = ['--size', '32', '--filters', '8,16,32', '--epochs', '2', '--batch', '16', '--tsne-iterations', '250'];

interface FeaturesJson {
  method: string;
  fallback?: string;
  nfeatures: number;
  orbSize: number;
  wordIndex?: { images: number; withoutKeypoints: number };
  queryKeypoints: number;
  neighbors: Array<{ rank: number; key: string; score: number; aeScore?: number; wordScore?: number; goodMatches?: number; inliers?: number; homography?: boolean; path?: string; png?: string }>;
}

describe('imgsim features on a small local index', () => {
  let dir: string;
  let data: string;
  let out: string;
  let flat: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-features-'));
    data = path.join(dir, 'data');
    out = path.join(dir, 'out');
    await generateCollageDataset(path.join(data, 'collages'), { count: 12, size: 160, seed: 3 });
    const original = await readFile(path.join(data, 'collages', 'collage-0000.png'));
    await mkdir(path.join(data, 'dups'), { recursive: true });
    await writeFile(
      path.join(data, 'dups', 'rotated.jpg'),
      await sharp(original).rotate(25, { background: '#fff' }).extract({ left: 20, top: 20, width: 170, height: 160 }).jpeg({ quality: 60 }).toBuffer(),
    );
    flat = path.join(dir, 'flat.png');
    await sharp({ create: { width: 120, height: 90, channels: 3, background: '#4a8' } }).png().toFile(flat);
    const r = await runCli(['run', data, '--out', out, ...SMALL, '--json']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('--method match ranks the near-duplicate first, with inliers, and writes readable PNGs', async () => {
    const query = path.join(data, 'collages', 'collage-0000.png');
    const pngDir = path.join(dir, 'matches');
    const r = await runCli(['features', query, '--index', out, '-k', '3', '--exclude-self', '--out', pngDir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = jsonOf<FeaturesJson>(r);
    assert.equal(j.method, 'match');
    assert.equal(j.fallback, undefined);
    assert.equal(j.nfeatures, 1000, 'the visual-word index settings: 1,000 keypoints at 384 px');
    assert.equal(j.orbSize, 384);
    assert.deepEqual(j.wordIndex, { images: 13, withoutKeypoints: 0 }, 'every indexed image');
    assert.ok(j.queryKeypoints > 50, `${j.queryKeypoints} keypoints`);
    assert.equal(j.neighbors.length, 3);
    const [first, second] = j.neighbors;
    assert.equal(first?.key, 'dups/rotated.jpg');
    assert.equal(first?.homography, true);
    assert.ok((first?.inliers ?? 0) >= 20, `${first?.inliers} inliers`);
    assert.ok((first?.score ?? 0) > (second?.score ?? 0) * 2, 'the duplicate stands out');
    assert.ok(!j.neighbors.some((n) => n.key === 'collages/collage-0000.png'), 'self excluded');
    for (const n of j.neighbors) {
      assert.equal(typeof n.aeScore, 'number');
      assert.ok(n.png, 'png path');
      const meta = await sharp(n.png).metadata();
      assert.equal(meta.format, 'png');
      assert.ok((meta.width ?? 0) > (meta.height ?? 0), 'side by side');
    }
    // Another query of the same file name, in another call, into the same folder: nothing is overwritten.
    const twin = path.join(dir, 'elsewhere', 'collage-0000.png');
    await mkdir(path.dirname(twin), { recursive: true });
    await copyFile(path.join(data, 'collages', 'collage-0001.png'), twin);
    const again = await runCli(['features', twin, '--index', out, '-k', '1', '--out', pngDir, '--json']);
    assert.equal(again.code, 0, again.stderr);
    const twinPng = jsonOf<FeaturesJson>(again).neighbors[0]?.png;
    assert.ok(twinPng && !j.neighbors.some((n) => n.png === twinPng), `${twinPng} is a name of its own`);
    assert.equal((await readdir(pngDir)).length, 4);
  });

  test('match: the visual-word index finds a rotated copy the autoencoder does not propose; built once, reused, rebuilt for a rebuilt index', async (t) => {
    const query = path.join(data, 'collages', 'collage-0000.png');
    const store = path.join(out, 'orb-words.bin');
    // The autoencoder's own ranking: the rotated copy (white corners, turned content) is not among its nearest.
    const search = await runCli(['search', query, '--index', out, '-k', '12', '--exclude-self', '--no-sheet', '--json']);
    assert.equal(search.code, 0, search.stderr);
    const aeRank = jsonOf<{ neighbors: Array<{ key: string }> }>(search).neighbors.findIndex((n) => n.key === 'dups/rotated.jpg') + 1;
    assert.notEqual(aeRank, 1, 'the AE ranks the rotated copy first: this index cannot show what the words add');
    const n = aeRank === 0 ? 12 : aeRank - 1; // AE candidates that leave the rotated copy out
    t.diagnostic(`AE rank of the rotated copy: ${aeRank || '> 12'}; --candidates ${n}`);
    const info = { IMGSIM_LOG_LEVEL: 'info' };
    const r = await runCli(['features', query, '--index', out, '-k', '3', '--candidates', String(n), '--exclude-self', '--json'], info);
    assert.equal(r.code, 0, r.stderr);
    const first = jsonOf<FeaturesJson>(r).neighbors[0];
    assert.equal(first?.key, 'dups/rotated.jpg', `with ${n} AE candidates (AE rank ${aeRank}), found by its visual words`);
    assert.ok((first?.wordScore ?? 0) > 0 && first?.homography === true && (first.inliers ?? 0) >= 20, JSON.stringify(first));

    // Stored beside the index by the first match query (this one or an earlier one), then reused.
    const built = await stat(store);
    const reused = await runCli(['features', query, '--index', out, '-k', '1', '--exclude-self'], info);
    assert.equal(reused.code, 0, reused.stderr);
    assert.match(reused.stderr, /^info /m, 'info lines are shown (the check below is not vacuous)');
    assert.doesNotMatch(reused.stderr, /building the visual-word index/, 'the stored index is reused');
    assert.equal((await stat(store)).mtimeMs, built.mtimeMs, 'and not rewritten');

    // A rebuilt index (another build in index.json) rebuilds the word index, once.
    const manifestFile = path.join(out, 'index.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { createdAt: string };
    await writeFile(manifestFile, JSON.stringify({ ...manifest, createdAt: new Date(Date.parse(manifest.createdAt) + 1000).toISOString() }));
    const rebuilt = await runCli(['features', query, '--index', out, '-k', '1', '--exclude-self'], info);
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(rebuilt.stderr, /building the visual-word index of the 13 indexed images/);
    assert.ok((await stat(store)).mtimeMs > built.mtimeMs, 'rewritten');
    const again = await runCli(['features', query, '--index', out, '-k', '1', '--exclude-self'], info);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /building the visual-word index/);
  });

  test('--method reference: ORB vector (30 × 32) against PCA-reduced embeddings', async () => {
    const query = path.join(data, 'collages', 'collage-0003.png');
    const r = await runCli(['features', query, '--index', out, '-k', '4', '--method', 'reference', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = jsonOf<FeaturesJson>(r);
    assert.equal(j.method, 'reference');
    assert.equal(j.nfeatures, 30);
    assert.ok(j.queryKeypoints > 0 && j.queryKeypoints <= 30);
    assert.equal(j.neighbors.length, 4);
    for (const n of j.neighbors) {
      assert.ok(n.score >= -1 && n.score <= 1);
      assert.equal(n.goodMatches, undefined);
      assert.equal(n.path, path.join(data, ...n.key.split('/')), 'the neighbour shape of search --json: path is the file of key');
    }
  });

  test('a flat-colour query warns and falls back to autoencoder search', async () => {
    const r = await runCli(['features', flat, '--index', out, '-k', '3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes(`no ORB keypoints found in ${flat} (flat or tiny image); falling back to autoencoder search`), r.stderr);
    const j = jsonOf<FeaturesJson>(r);
    assert.equal(j.fallback, 'autoencoder');
    assert.equal(j.queryKeypoints, 0);
    assert.equal(j.neighbors.length, 3);
    assert.ok(j.neighbors.every((n) => n.score === n.aeScore));
  });

  test('an unreadable query, an undecodable one and a bad flag: one line, exit 2', async () => {
    const missing = await runCli(['features', path.join(dir, 'nope.png'), '--index', out]);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, `imgsim: Query image not found: ${path.join(dir, 'nope.png')}\n`);
    assert.equal(missing.stderr.trim().split('\n').length, 1);
    const junk = path.join(dir, 'junk.jpg');
    await writeFile(junk, 'not an image');
    const bad = await runCli(['features', junk, '--index', out]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Cannot decode the query image .*junk\.jpg/);
    const method = await runCli(['features', flat, '--index', out, '--method', 'sift']);
    assert.equal(method.code, 2);
    assert.equal(method.stderr, 'imgsim: --method must be one of match, reference, got "sift" — see imgsim features --help\n');
  });
});

describe('imgsim eval-features', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-feval-'));
    await generateCollageDataset(path.join(dir, 'originals'), { count: 8, size: 128, seed: 5 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('recall@k of the three methods, side by side and as JSON', async () => {
    const out = path.join(dir, 'ev');
    const r = await runCli(['eval-features', path.join(dir, 'originals'), '--out', out, '--queries', '4', '--per-image', '3', '-k', '3', ...SMALL.slice(0, 8), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = jsonOf<{ queries: number; indexed: number; recallAtK: Record<string, number>; recallByKind: Record<string, unknown> }>(r);
    assert.equal(j.queries, 4);
    assert.equal(j.indexed, 8 + 4 * 3);
    for (const m of ['autoencoder', 'reference', 'match']) assert.ok((j.recallAtK[m] ?? -1) >= 0 && (j.recallAtK[m] ?? 2) <= 1, m);
    assert.ok((j.recallAtK.match ?? 0) >= 0.9, `match recall ${j.recallAtK.match}`);
    assert.deepEqual(Object.keys(j.recallByKind), ['crop', 'rotate', 'scale', 'jpeg', 'brightness']);
    const saved = JSON.parse(await readFile(path.join(out, 'features-eval.json'), 'utf8')) as { recallAtK: unknown };
    assert.deepEqual(saved.recallAtK, j.recallAtK);
    // reuse the index: no training, same figures
    const again = await runCli(['eval-features', path.join(dir, 'originals'), '--out', out, '--queries', '4', '--per-image', '3', '-k', '3', '--index', path.join(out, 'index')]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /all\s+[\d.]+\s+[\d.]+\s+1\.000/);
  });
});
