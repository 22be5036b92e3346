// Limits with reasons (issue 15, deliverable 4), through the real command line on real
// images: -k above the collection is capped with a warning and the contact sheet keeps a
// sensible size; --clusters above √N warns; a garbled JPEG query is searched with a
// warning naming it; flags that do not apply to the task or optimizer are refused (one
// line, exit 2) and such variables warned about; a denoise model worse than its noisy
// input warns and says so in meta.json; a reconstruct model's summary shows no ∞; symbolic
// links escaping the input folder are listed in failures.json as outside-root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { contactSheetLayout } from '../../shared/images/contact-sheet.js';
import { generateShapesDataset } from '../../shared/images/synthetic.js';
import { jsonOf, runCli } from '../support/cli.js';

const TRAIN = ['--size', '16', '--filters', '8,16', '--epochs', '1', '--batch', '8', '--backend', 'wasm'];
const TINY = [...TRAIN, '--tsne-iterations', '250'];

/** Lines of a log (stderr) at warn level. */
const warnings = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('warn'));

describe('limits with reasons', () => {
  let dir: string;
  let data: string;
  let run: string;
  let runStderr: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-limits-'));
    data = path.join(dir, 'data');
    await generateShapesDataset(data, { perClass: 5, size: 16, seed: 4 }); // 45 images
    // Links escaping the folder: a file and a folder outside it; and one inside it (followed).
    const outside = path.join(dir, 'outside');
    await mkdir(outside);
    await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }).png().toFile(path.join(outside, 'secret.png'));
    await symlink(path.join(outside, 'secret.png'), path.join(data, 'escaping.png'));
    await symlink(outside, path.join(data, 'escaping-folder'));
    run = path.join(dir, 'run');
    const r = await runCli(['run', data, '--out', run, ...TINY, '--clusters', '9']);
    assert.equal(r.code, 0, r.stderr);
    runStderr = r.stderr;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('symbolic links escaping the input folder are listed in failures.json as outside-root (never read)', async () => {
    const failures = JSON.parse(await readFile(path.join(run, 'failures.json'), 'utf8')) as Array<{ key: string; reason: string; message: string }>;
    const outside = failures.filter((f) => f.reason === 'outside-root');
    assert.deepEqual(outside.map((f) => f.key), ['escaping-folder', 'escaping.png']);
    assert.match(outside[0]?.message ?? '', /symbolic link to .*outside, outside the folder/);
    const ids = JSON.parse(await readFile(path.join(run, 'ids.json'), 'utf8')) as string[];
    assert.equal(ids.length, 45, 'the 45 images inside are indexed, nothing from outside');
  });

  test('--clusters above √N warns once, naming √N and auto', () => {
    const lines = warnings(runStderr).filter((l) => l.includes('--clusters'));
    assert.equal(lines.length, 1, runStderr);
    assert.match(lines[0] ?? '', /--clusters 9 is above √N = 6\.7 for 45 images: about 5\.0 images per cluster; --clusters auto picks a k/);
  });

  test('-k above the collection: capped at it with one warning line; the contact sheet shows the first 35 and says so', async () => {
    const query = path.join(data, 'red-circle', '0000.png');
    const sheet = path.join(dir, 'sheet.png');
    const r = await runCli(['search', query, '--index', run, '-k', '1000000', '--sheet', sheet, '--json'], { IMGSIM_LOG_LEVEL: 'info' });
    assert.equal(r.code, 0, r.stderr);
    const result = jsonOf<{ neighbors: unknown[]; sheet: string }>(r);
    assert.equal(result.neighbors.length, 45, 'every indexed image, once');
    const capped = warnings(r.stderr);
    assert.equal(capped.length, 1, r.stderr);
    assert.match(capped[0] ?? '', /^warn\s+-k 1000000 is more than the 45 indexed images: searching for 45/);
    assert.match(r.stderr, /contact sheets show the first 35 of 45 neighbours \(the list in the JSON has all 45\)/);
    const meta = await sharp(sheet).metadata();
    const sixBySix = contactSheetLayout(36);
    assert.deepEqual([meta.width, meta.height], [sixBySix.width, sixBySix.height], 'the query and 35 neighbours, 6 × 6');
    const within = await runCli(['search', query, '--index', run, '-k', '5', '--no-sheet', '--json']);
    assert.equal(within.code, 0, within.stderr);
    assert.deepEqual(warnings(within.stderr), [], 'k within the collection: no warning');
  });

  test('a garbled JPEG query is searched, with one warning line naming it; a good query gets none', async () => {
    const side = 128;
    const raw = Buffer.from(Array.from({ length: side * side * 3 }, (_, i) => (i * 7919) % 251));
    const jpeg = await sharp(raw, { raw: { width: side, height: side, channels: 3 } }).jpeg().toBuffer();
    const good = path.join(dir, 'good.jpg');
    await writeFile(good, jpeg);
    for (let i = Math.floor(jpeg.length * 0.3); i < Math.floor(jpeg.length * 0.6); i++) jpeg[i] = ((jpeg[i] as number) * 31 + 17) & 0xff;
    const garbled = path.join(dir, 'garbled.jpg');
    await writeFile(garbled, jpeg);
    const r = await runCli(['search', garbled, good, '--index', run, '-k', '3', '--no-sheet', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const results = jsonOf<Array<{ query: string; neighbors?: unknown[] }>>(r);
    assert.deepEqual(results.map((q) => q.neighbors?.length), [3, 3], 'both searched');
    const lines = warnings(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    // The decoder's own words when libvips passes them on (its one error buffer is shared by concurrent decodes).
    assert.match(lines[0] ?? '', /query image .*garbled\.jpg decoded with corruption warnings \((Corrupt JPEG data: |the decoder reported damaged data)/);
    assert.doesNotMatch(lines[0] ?? '', /failOn/);
    assert.doesNotMatch(r.stderr, /good\.jpg/);
    // imgsim features embeds its query the same way: the same warning.
    const f = await runCli(['features', garbled, '--index', run, '-k', '2', '--json']);
    assert.equal(f.code, 0, f.stderr);
    assert.equal(jsonOf<{ neighbors: unknown[] }>(f).neighbors.length, 2);
    assert.match(warnings(f.stderr).join('\n'), /query image .*garbled\.jpg decoded with corruption warnings/);
  });

  test('flags that do not apply to the task or optimizer are refused: one line, exit 2, nothing written', async () => {
    const out = path.join(dir, 'never');
    const cases: Array<[string[], string]> = [
      [['train', data, '--out', out, '--noise-sigma', '0.3'], '--noise-sigma applies to --task denoise only (the task is reconstruct) — see imgsim train --help'],
      [['train', data, '--out', out, '--task', 'denoise', '--noise', 'crosshair', '--noise-sigma', '0.2'], '--noise-sigma applies to gaussian noise only (--noise is crosshair; add gaussian to it) — see imgsim train --help'],
      [['train', data, '--out', out, '--task', 'denoise', '--scale', '4'], '--scale applies to --task superres only (the task is denoise) — see imgsim train --help'],
      [['run', data, '--out', out, '--optimizer', 'adam', '--weight-decay', '0.01'], '--weight-decay applies to --optimizer adamw only (the optimizer is adam, which has no decoupled weight decay) — see imgsim run --help'],
      [['demo', '--out', out, '--erase-fill', 'constant'], '--erase-fill applies to --task denoise only (the task is reconstruct) — see imgsim demo --help'],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    cases.forEach(([args, line], i) => {
      const res = results[i];
      assert.equal(res?.code, 2, `${args.join(' ')}: ${res?.stderr}`);
      assert.equal(res?.stderr, `imgsim: ${line}\n`, args.join(' '));
    });
    await assert.rejects(readFile(path.join(out, 'failures.json')), 'nothing written');
  });

  test('reconstruct: a variable that does not apply is warned about; the summary says "no baseline", never ∞', async () => {
    const r = await runCli(['train', data, '--out', path.join(dir, 'rec'), ...TRAIN], { IMGSIM_NOISE_SIGMA: '0.3' });
    assert.equal(r.code, 0, r.stderr);
    const ignored = warnings(r.stderr);
    assert.equal(ignored.length, 1, r.stderr);
    assert.match(ignored[0] ?? '', /^warn\s+ignored: IMGSIM_NOISE_SIGMA \(applies to --task denoise only \(the task is reconstruct\)\)/);
    assert.match(r.stdout, /reconstruct on \d+ validation images: output PSNR \d+\.\d\d dB SSIM \d\.\d{3}; baseline: input = target \(no baseline\)/);
    assert.doesNotMatch(r.stdout + r.stderr, /∞|Infinity|NaN/);
    const json = await runCli(['train', data, '--out', path.join(dir, 'rec-json'), ...TRAIN, '--json']);
    const meta = jsonOf<{ metrics: { baseline: { psnr: number | null } }; quality?: unknown }>(json);
    assert.equal(meta.metrics.baseline.psnr, null, 'JSON keeps a valid number: null');
    assert.equal(meta.quality, undefined, 'reconstruct has no baseline to be worse than');
  });

  test('a denoise model worse than its noisy input: one warning line with both figures, and meta.json says so', async () => {
    const out = path.join(dir, 'dn');
    // Barely noisy input (sigma 0.01, ~40 dB) and one epoch: the model's output is far worse than its input.
    const r = await runCli(['train', data, '--out', out, ...TRAIN, '--task', 'denoise', '--noise-sigma', '0.01', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = warnings(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? '', /the denoise model makes images worse than its baseline: PSNR \d+\.\d dB vs \d+\.\d dB for the input itself/);
    const meta = JSON.parse(await readFile(path.join(out, 'model', 'meta.json'), 'utf8')) as { quality: { psnr: number; baselinePsnr: number; worseThanBaseline: boolean } };
    assert.equal(meta.quality.worseThanBaseline, true);
    assert.ok(meta.quality.psnr < meta.quality.baselinePsnr, JSON.stringify(meta.quality));
    assert.deepEqual(jsonOf<{ quality: unknown }>(r).quality, meta.quality);
  });
});
