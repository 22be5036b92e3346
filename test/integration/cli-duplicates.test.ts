// `imgsim duplicates` end to end through the real command line, on real decoded images:
// textured collages and edited copies made with sharp (an exact copy, a 20° rotation, a
// 70 % crop, a mirror image, JPEG quality 20), a file that is not an image and one that
// does not decode. Checks the tiers, that distinct images stay apart, duplicates.json and
// the sheets, --json, --min-tier, --dismiss across re-runs, --index, and bad input.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { generateCollageDataset } from '../../shared/images/collage.js';
import { jsonOf, runCli } from '../support/cli.js';

interface Member {
  key: string;
  path?: string;
  width: number;
  height: number;
  keeper: boolean;
  tier: string;
}
interface Group {
  tier: string;
  keeper: string;
  members: Member[];
  pairs: Array<{ a: string; b: string; tier: string; identical?: string; distance?: number; inliers?: number; cosine?: number }>;
  sheet?: string;
}
interface Report {
  version: number;
  source: string;
  index?: string;
  images: number;
  embedded: number;
  failed: Array<{ key: string; reason: string }>;
  minTier: string;
  thresholds: { cosine: number; hashDistance: number; inliers: number };
  fraction?: number;
  pairsByTier: Record<string, number>;
  dismissed: number;
  groups: Group[];
  seconds: { total: number };
  out?: string;
}

/** The edited copies, by file, and the original each was made from. */
const EDITS: Record<string, { original: string; tiers: readonly string[] }> = {
  'edits/copy.png': { original: 'orig/collage-0000.png', tiers: ['exact'] },
  'edits/rotated.jpg': { original: 'orig/collage-0001.png', tiers: ['verified'] },
  'edits/cropped.png': { original: 'orig/collage-0002.png', tiers: ['verified'] },
  'edits/mirrored.png': { original: 'orig/collage-0003.png', tiers: ['perceptual', 'verified'] },
  'edits/q20.jpg': { original: 'orig/collage-0004.png', tiers: ['perceptual'] },
};

/** The edited copy in a group, and its tier there. */
function editOf(g: Group): [string, string] | undefined {
  const m = g.members.find((x) => x.key in EDITS);
  return m ? [m.key, m.tier] : undefined;
}

describe('imgsim duplicates on a folder of real images', () => {
  let dir: string;
  let data: string;
  let out: string;
  let first: Report;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-duplicates-'));
    data = path.join(dir, 'data');
    out = path.join(dir, 'out');
    await generateCollageDataset(path.join(data, 'orig'), { count: 8, size: 320, seed: 11 });
    const original = (i: number): Promise<Buffer> => readFile(path.join(data, 'orig', `collage-000${i}.png`));
    await mkdir(path.join(data, 'edits'));
    const edit = async (name: string, bytes: Buffer): Promise<void> => writeFile(path.join(data, 'edits', name), bytes);
    await edit('copy.png', await original(0));
    await edit('rotated.jpg', await sharp(await original(1)).rotate(20, { background: '#ffffff' }).jpeg({ quality: 90 }).toBuffer());
    await edit('cropped.png', await sharp(await original(2)).extract({ left: 40, top: 56, width: 224, height: 224 }).png().toBuffer());
    await edit('mirrored.png', await sharp(await original(3)).flop().png().toBuffer());
    await edit('q20.jpg', await sharp(await original(4)).jpeg({ quality: 20 }).toBuffer());
    await writeFile(path.join(data, 'notes.txt'), 'not an image');
    await writeFile(path.join(data, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5]));
    const r = await runCli(['duplicates', data, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    first = jsonOf<Report>(r);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('each edited copy is grouped with its original at the right tier; distinct images stay apart', () => {
    assert.equal(first.images, 13, 'eight originals and five copies fingerprinted');
    assert.deepEqual(
      first.failed.map((f) => [f.key, f.reason]),
      [
        ['broken.jpg', first.failed[0]?.reason],
        ['notes.txt', 'not-an-image'],
      ],
    );
    assert.equal(first.groups.length, 5, JSON.stringify(first.groups.map((g) => g.members.map((m) => m.key))));
    for (const g of first.groups) {
      assert.equal(g.members.length, 2, `one original and its copy: ${g.members.map((m) => m.key).join(', ')}`);
      const [edited, tier] = editOf(g) ?? assert.fail(`a group without an edited copy: ${g.members.map((m) => m.key).join(', ')}`);
      const want = EDITS[edited] as (typeof EDITS)[string];
      assert.ok(
        g.members.some((m) => m.key === want.original),
        `${edited} is grouped with ${want.original}`,
      );
      assert.ok(want.tiers.includes(tier), `${edited}: tier ${tier}, expected ${want.tiers.join(' or ')}`);
      assert.equal(g.members.filter((m) => m.keeper).length, 1);
      assert.ok(g.members.some((m) => m.key === g.keeper && m.keeper));
      for (const m of g.members) assert.equal(m.path, path.join(data, ...m.key.split('/')));
    }
    const copy = first.groups.find((g) => editOf(g)?.[0] === 'edits/copy.png');
    assert.equal(copy?.pairs[0]?.identical, 'bytes');
    assert.ok((first.groups.find((g) => editOf(g)?.[0] === 'edits/rotated.jpg')?.pairs[0]?.inliers ?? 0) >= 20, 'the rotation is verified by its inliers');
    assert.deepEqual(
      first.groups.map((g) => g.tier),
      first.groups.map((g) => editOf(g)?.[1]),
    );
  });

  test('duplicates.json holds the report printed by --json; one readable sheet per group', async () => {
    const { out: printedOut, ...printed } = first;
    assert.equal(printedOut, out);
    const onDisk = JSON.parse(await readFile(path.join(out, 'duplicates.json'), 'utf8')) as Report;
    assert.deepEqual(onDisk, printed);
    assert.equal(onDisk.version, 1);
    assert.equal(onDisk.source, `file://${data}`);
    assert.equal(onDisk.minTier, 'verified');
    assert.equal(onDisk.embedded, 0);
    assert.equal(onDisk.index, undefined);
    assert.deepEqual(
      first.groups.map((g) => g.sheet),
      ['groups/0001.png', 'groups/0002.png', 'groups/0003.png', 'groups/0004.png', 'groups/0005.png'],
    );
    assert.deepEqual((await readdir(path.join(out, 'groups'))).sort(), ['0001.png', '0002.png', '0003.png', '0004.png', '0005.png']);
    const meta = await sharp(path.join(out, 'groups', '0001.png')).metadata();
    assert.equal(meta.format, 'png');
    assert.ok((meta.width ?? 0) > 2 * 224 && (meta.width ?? 0) < 700, `${meta.width} px wide: two large tiles`);
  });

  test('--min-tier exact: the exact group only, a human summary, sheets of the earlier pass removed', async () => {
    const r = await runCli(['duplicates', data, '--out', out, '--min-tier', 'exact']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^13 images fingerprinted, 2 skipped \(.*not-an-image 1.*\)$/m);
    assert.match(r.stdout, /^1 group of duplicates \(2 images\), by strongest tier: exact 1 \(--min-tier exact\)$/m);
    assert.match(r.stdout, /^pairs found: exact 1, perceptual \d+, verified \d+, learned 0$/m);
    assert.match(r.stdout, /per 1,000 images/);
    assert.match(r.stdout, new RegExp(`report: ${path.join(out, 'duplicates.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    const report = JSON.parse(await readFile(path.join(out, 'duplicates.json'), 'utf8')) as Report;
    assert.deepEqual(
      report.groups.map((g) => [g.tier, editOf(g)?.[0]]),
      [['exact', 'edits/copy.png']],
    );
    assert.deepEqual(await readdir(path.join(out, 'groups')), ['0001.png']);
  });

  test('--dismiss stores the pair in --out; a re-run never reports it; --undismiss takes it back', async () => {
    const store = path.join(out, 'dismissed-duplicates.json');
    // One image by key, the other by its file path.
    const d = await runCli(['duplicates', data, '--out', out, '--dismiss', 'edits/rotated.jpg', path.join(data, 'orig', 'collage-0001.png')]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /edits\/rotated\.jpg ↔ orig\/collage-0001\.png: marked "not a duplicate"/);
    const stored = JSON.parse(await readFile(store, 'utf8')) as { pairs: Array<{ a: string; b: string }> };
    assert.deepEqual(
      stored.pairs.map((p) => [p.a, p.b]),
      [['edits/rotated.jpg', 'orig/collage-0001.png']],
    );
    const again = await runCli(['duplicates', data, '--out', out, '--json', '--no-sheets']);
    assert.equal(again.code, 0, again.stderr);
    const report = jsonOf<Report>(again);
    assert.equal(report.dismissed, 1);
    assert.equal(report.groups.length, 4);
    assert.ok(!report.groups.some((g) => g.members.some((m) => m.key === 'edits/rotated.jpg')), 'the dismissed pair is not reported');
    assert.ok(report.groups.every((g) => g.sheet === undefined));
    assert.equal((await readdir(path.join(out, 'groups'))).length, 0, '--no-sheets leaves no sheet that does not match the report');
    const undo = await runCli(['duplicates', data, '--out', out, '--undismiss', 'orig/collage-0001.png', 'edits/rotated.jpg', '--json']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.deepEqual(jsonOf<{ changed: boolean; pairs: number }>(undo), { a: 'orig/collage-0001.png', b: 'edits/rotated.jpg', dismissed: false, changed: true, store, pairs: 0 });
  });

  test('bad input: one line, exit 2, nothing written', async () => {
    const elsewhere = path.join(dir, 'elsewhere');
    const cases: Array<[string[], RegExp]> = [
      [['duplicates', path.join(dir, 'missing')], /^imgsim: Source folder not found: /],
      [['duplicates'], /needs exactly one of <folder>, --index <dir> or --dataset <name>/],
      [['duplicates', data, '--out', elsewhere, '--min-tier', 'fuzzy'], /--min-tier must be one of exact, perceptual, verified, learned, got "fuzzy"/],
      [['duplicates', '--index', out, '--fraction', '0'], /--fraction must be a number above 0 and at most 1, got "0"/],
      [['duplicates', data, '--out', elsewhere, '--fraction', '0.1'], /--fraction applies to the learned tier, which needs embeddings/],
      [['duplicates', '--index', data], /is not an index folder/],
      [['duplicates', data, '--out', path.join(data, 'orig')], /--out .* already holds images \(collage-0000\.png\)/],
      [['duplicates', data, '--out', elsewhere, '--dismiss', 'edits/copy.png', 'edits/nope.png'], /--dismiss: "edits\/nope\.png" is not an image of /],
      [['duplicates', '--dataset', 'photos', '--hash-distance', '4', '--no-sheets'], /^imgsim: --hash-distance, --no-sheets apply to a <folder> or --index: a dataset's pass runs on the workers at the default settings/],
      [['duplicates', '--dataset', 'photos', '--max-pixels', '1000000'], /^imgsim: --max-pixels applies to a <folder> or --index: a dataset's pass runs on the workers/],
      [['duplicates', '--dataset', 'photos', '--dismiss', 'a.jpg', 'a.jpg'], /^imgsim: --dismiss takes two different images, got "a\.jpg" twice/],
      // The learned threshold travels with a queued pass; the other flags do not.
      [['duplicates', '--dataset', 'photos', '--cosine', '0.9', '--inliers', '30'], /^imgsim: --inliers applies to a <folder> or --index: a dataset's pass runs on the workers at the default settings, but for the learned tier's --cosine or --fraction/],
      [['duplicates', '--dataset', 'photos', '--cosine', '1.5'], /^imgsim: --cosine must be a number above 0 and at most 1, got "1\.5"/],
      [['dataset', 'duplicates', 'photos', '--cosine', '0.9', '--fraction', '0.1'], /^imgsim: give --cosine or --fraction, not both/],
      [['dataset', 'duplicates', 'photos', '--show', '--fraction', '0.1'], /^imgsim: --fraction sets the threshold of a pass it starts; --show starts none/],
      [['dataset', 'duplicates', 'photos', '--dismiss', 'a.jpg', 'b.jpg', '--cosine', '0.9'], /^imgsim: --cosine sets the threshold of a pass it starts; --dismiss starts none/],
      [['dataset', 'duplicates', 'photos', '--fraction', '0'], /^imgsim: --fraction must be a number above 0 and at most 1, got "0"/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i] as [string[], RegExp];
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    });
    await assert.rejects(stat(elsewhere), 'nothing written');
  });
});

describe('imgsim duplicates --index: the index folder\'s images and embeddings', () => {
  let dir: string;
  let run: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-duplicates-index-'));
    const data = path.join(dir, 'data');
    run = path.join(dir, 'run');
    await generateCollageDataset(data, { count: 10, size: 256, seed: 5 });
    await writeFile(path.join(data, 'copy.jpg'), await sharp(await readFile(path.join(data, 'collage-0003.png'))).rotate(15, { background: '#ffffff' }).jpeg({ quality: 80 }).toBuffer());
    const r = await runCli(['run', data, '--out', run, '--size', '32', '--filters', '8,16', '--epochs', '1', '--batch', '16', '--tsne-iterations', '250', '--json']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('--fraction sets the learned threshold and is reported back; output in <index>/duplicates; dismissals stored with the index', async () => {
    const r = await runCli(['duplicates', '--index', run, '--min-tier', 'learned', '--fraction', '0.5', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = jsonOf<Report>(r);
    assert.equal(report.index, run);
    assert.equal(report.images, 11);
    assert.equal(report.embedded, 11);
    assert.equal(report.fraction, 0.5);
    assert.ok(report.thresholds.cosine > 0 && report.thresholds.cosine <= 1, `cosine ${report.thresholds.cosine}`);
    assert.equal(report.out, path.join(run, 'duplicates'));
    await stat(path.join(run, 'duplicates', 'duplicates.json'));
    const copy = report.groups.find((g) => g.members.some((m) => m.key === 'copy.jpg'));
    assert.ok(copy?.members.some((m) => m.key === 'collage-0003.png'), 'the rotated copy is found');
    assert.equal(copy?.members.find((m) => m.key === 'copy.jpg')?.tier, 'verified');

    const d = await runCli(['duplicates', '--index', run, '--dismiss', 'copy.jpg', 'collage-0003.png']);
    assert.equal(d.code, 0, d.stderr);
    await stat(path.join(run, 'dismissed-duplicates.json'));
    const again = jsonOf<Report>(await runCli(['duplicates', '--index', run, '--json', '--no-sheets']));
    assert.equal(again.dismissed, 1);
    assert.ok(!again.groups.some((g) => g.members.some((m) => m.key === 'copy.jpg') && g.members.some((m) => m.key === 'collage-0003.png')));
  });

  test('--model embeds a folder with the model for the learned tier', async () => {
    const out = path.join(dir, 'with-model');
    const r = await runCli(['duplicates', path.join(dir, 'data'), '--model', run, '--out', out, '--min-tier', 'learned', '--cosine', '0.5', '--no-sheets', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = jsonOf<Report>(r);
    assert.equal(report.embedded, 11);
    assert.equal(report.thresholds.cosine, 0.5);
    assert.equal(report.index, undefined);
    assert.ok((report.pairsByTier.learned ?? 0) > 0, 'a low cosine threshold finds learned pairs');
    assert.ok(report.groups.some((g) => g.members.some((m) => m.key === 'copy.jpg' && m.tier === 'verified')));
  });
});
