// `imgsim eval-duplicates` end to end through the real command line on 20 generated
// collages (256 px): the edited copies and their families on disk, the JSON report (stdout
// and duplicates-eval.json) with sane figures, the same copies again for the same seed,
// the learned tier from an index built on <out>/data, and refusals.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateCollageDataset } from '../../shared/images/collage.js';
import type { DuplicatesEvalReport } from '../../pipelines/duplicates-eval.js';
import { jsonOf, runCli } from '../support/cli.js';

const KINDS = ['crop', 'rotate', 'scale', 'jpeg', 'brightness', 'flip', 'aspect', 'exact'];
const TIERS = ['exact', 'perceptual', 'verified', 'learned'];

describe('imgsim eval-duplicates on generated collages', () => {
  let dir: string;
  let folder: string;
  let out: string;
  let report: DuplicatesEvalReport;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-deval-'));
    folder = path.join(dir, 'collages');
    out = path.join(dir, 'eval');
    await generateCollageDataset(folder, { count: 20, size: 256, seed: 5 });
    const r = await runCli(['eval-duplicates', folder, '--out', out, '--queries', '4', '--json']);
    assert.equal(r.code, 0, r.stderr);
    report = jsonOf<DuplicatesEvalReport>(r);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('writes every original, one copy of each kind of 4 of them, the families and the report', async () => {
    assert.equal((await readdir(path.join(out, 'data', 'originals'))).length, 20);
    const edits = (await readdir(path.join(out, 'data', 'edits'))).sort();
    assert.equal(edits.length, 4 * KINDS.length);
    for (const kind of KINDS) assert.equal(edits.filter((e) => e.endsWith(`-${kind}${kind === 'exact' ? '.png' : '.jpg'}`)).length, 4, kind);
    const families = JSON.parse(await readFile(path.join(out, 'edits.json'), 'utf8')) as Array<{ original: string; edits: Array<{ key: string; kind: string }> }>;
    assert.equal(families.length, 4);
    for (const f of families) {
      assert.match(f.original, /^originals\/collage-\d{4}\.png$/);
      assert.deepEqual(
        f.edits.map((e) => e.kind),
        KINDS,
      );
      const exact = f.edits.find((e) => e.kind === 'exact');
      assert.ok((await readFile(path.join(out, 'data', exact?.key ?? ''))).equals(await readFile(path.join(out, 'data', f.original))), 'exact is a byte copy');
    }
    assert.deepEqual(JSON.parse(await readFile(path.join(out, 'duplicates-eval.json'), 'utf8')), report);
  });

  test('the report: its shape and sane figures at the default thresholds', () => {
    assert.equal(report.originals, 20);
    assert.equal(report.queries, 4);
    assert.equal(report.copies, 32);
    assert.equal(report.images, 52);
    assert.deepEqual(report.failed, []);
    assert.deepEqual(report.kinds, KINDS);
    assert.equal(report.minTier, 'verified');
    assert.equal(report.learned.used, false);
    assert.equal(report.pairs.truePairs, 4 * 36);
    assert.ok((report.pairs.precision ?? 0) >= 0.95, `precision ${report.pairs.precision}`);
    assert.ok((report.pairs.recall ?? 0) >= 0.8, `recall ${report.pairs.recall}`);
    assert.equal(report.distinctOriginalsGrouped, 0);
    assert.equal(report.distinctOriginalsPaired, 0);
    assert.deepEqual(Object.keys(report.tiers), TIERS);
    assert.equal(report.tiers.learned.pairs, 0, 'no learned pairs without --index');
    assert.equal(report.tiers.exact.pairs, 4, 'one exact pair per family');
    assert.equal(report.tiers.exact.precision, 1);
    assert.deepEqual(report.tiers.verified.cumulative, report.pairs, 'the default min tier is verified');
    assert.deepEqual(Object.keys(report.byKind), KINDS);
    const exact = report.byKind.exact;
    assert.deepEqual([exact.copies, exact.recall, exact.directRate, exact.directTiers.exact], [4, 1, 1, 4]);
    for (const kind of KINDS) {
      const k = report.byKind[kind as 'crop'];
      assert.equal(k.copies, 4, kind);
      assert.equal(k.missed.length, 4 - k.grouped, `${kind}: the copies not grouped are listed`);
      for (const v of [k.recall, k.directRate, k.retrieval, k.retrievalWithoutSiblings]) assert.ok(v !== null && v >= 0 && v <= 1, `${kind}: ${v}`);
    }
    assert.equal(report.retrieval.k, 5);
    assert.ok((report.retrieval.recall ?? 0) >= 0.6, `retrieval ${report.retrieval.recall}`);
    assert.ok(report.seconds.duplicates > 0 && report.seconds.fingerprint > 0 && report.perThousandImages.total > 0);
    assert.ok(report.cpuSeconds.duplicates > 0 && report.cpuSeconds.retrieval > 0 && report.load.cores >= 1 && report.load.before >= 0);
  });

  test('the human table names every tier and kind and says the learned tier is skipped', async () => {
    const r = await runCli(['eval-duplicates', folder, '--out', out, '--queries', '4']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /learned tier: skipped \(no --index/);
    assert.match(r.stdout, /precision 1\.000|precision 0\.9\d\d/);
    for (const word of [...TIERS, ...KINDS]) assert.match(r.stdout, new RegExp(`^  ${word} `, 'm'), word);
    assert.match(r.stdout, /unedited distinct originals grouped: 0 pair/);
    assert.match(r.stdout, /per 1,000 images: fingerprint/);
    const again = JSON.parse(await readFile(path.join(out, 'duplicates-eval.json'), 'utf8')) as DuplicatesEvalReport;
    assert.deepEqual(again.pairs, report.pairs, 'the same seed makes the same copies and the same groups');
  });

  test('--index: the embeddings of an index built on <out>/data give the learned tier; one lacking images is refused', async () => {
    const index = path.join(dir, 'index');
    const built = await runCli(['run', path.join(out, 'data'), '--out', index, '--size', '32', '--filters', '8,16,32', '--epochs', '2', '--batch', '16', '--tsne-iterations', '250', '--json']);
    assert.equal(built.code, 0, built.stderr);
    const r = await runCli(['eval-duplicates', folder, '--out', out, '--queries', '4', '--index', index, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = jsonOf<DuplicatesEvalReport>(r);
    assert.equal(j.learned.used, true);
    assert.equal(j.distinctOriginalsGrouped, 0, 'learned pairs are not grouped at the default min tier');
    assert.ok((j.pairs.recall ?? 0) >= (report.pairs.recall ?? 0) - 1e-9, 'embedding candidates only add pairs');
    const lacking = await runCli(['eval-duplicates', folder, '--out', out, '--queries', '5', '--index', index]);
    assert.equal(lacking.code, 2);
    assert.match(lacking.stderr, /lacks 8 of the 60 images/);
  });

  test('refuses an --out inside the folder, and a folder that does not exist', async () => {
    const inside = await runCli(['eval-duplicates', folder, '--out', path.join(folder, 'eval')]);
    assert.equal(inside.code, 2);
    assert.match(inside.stderr, /is inside the folder/);
    const missing = await runCli(['eval-duplicates', path.join(dir, 'nope'), '--out', out]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Source folder not found/);
  });
});
