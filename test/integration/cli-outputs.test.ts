// No output of a command replaces another (issue 15, deliverable 1), through the real
// command line on real images: apply keeps each input's relative path, contact sheets of
// same-named queries stay apart within a call and across calls, cluster --out leaves the
// index's map alone, and an --out holding another kind of output (or an existing file) is
// refused with one line, exit 2, before any work and without writing anything.
import { before, describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { generateShapesDataset } from '../../shared/images/synthetic.js';
import { jsonOf, runCli } from '../support/cli.js';

const TRAIN = ['--size', '16', '--filters', '8,16', '--epochs', '1', '--batch', '8', '--backend', 'wasm'];
const TINY = [...TRAIN, '--tsne-iterations', '250'];

interface ApplySummary {
  outputs: Array<{ key: string; file: string }>;
  failures: Array<{ key: string; reason: string }>;
  preview: string;
  out: string;
}

/** Every file under `dir` ('/'-separated, sorted). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

/** Every file under `dir` with its size and modification time: equal snapshots = nothing written. */
async function snapshot(dir: string): Promise<string[]> {
  return Promise.all((await filesUnder(dir)).map(async (f) => {
    const s = await stat(path.join(dir, f));
    return `${f} ${s.size} ${s.mtimeMs}`;
  }));
}

describe('outputs never overwrite each other', () => {
  let dir: string;
  let big: string;
  let run: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-outputs-'));
    big = path.join(dir, 'big');
    await generateShapesDataset(big, { perClass: 80, size: 16, seed: 3 });
    const small = path.join(dir, 'small');
    await generateShapesDataset(small, { perClass: 3, size: 16, seed: 2 });
    run = path.join(dir, 'run');
    const r = await runCli(['run', small, '--out', run, ...TINY, '--clusters', '3']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('apply on two folders holding the same file names: 160 inputs, 160 output files at their relative paths', async () => {
    const out = path.join(dir, 'applied');
    const r = await runCli(['apply', '--model', run, path.join(big, 'red-circle'), path.join(big, 'blue-circle'), '--out', out, '--backend', 'wasm', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = jsonOf<ApplySummary>(r);
    assert.equal(s.outputs.length, 160);
    assert.equal(new Set(s.outputs.map((o) => o.file)).size, 160);
    assert.deepEqual(s.outputs[0], { key: 'red-circle/0000.png', file: 'red-circle/0000.png' });
    const pngs = (await filesUnder(out)).filter((f) => f !== s.preview && f.endsWith('.png'));
    assert.equal(pngs.length, 160, 'one file per input on disk');
    assert.ok(pngs.includes('blue-circle/0000.png') && pngs.includes('red-circle/0000.png'));
    const record = JSON.parse(await readFile(path.join(out, 'apply.json'), 'utf8')) as { complete: boolean; outputs: unknown[] };
    assert.equal(record.complete, true);
    assert.equal(record.outputs.length, 160);
    // Applying again into the same folder is a re-run of the same command: accepted.
    const again = await runCli(['apply', '--model', run, path.join(big, 'red-circle'), '--out', out, '--backend', 'wasm', '--json']);
    assert.equal(again.code, 0, again.stderr);
  });

  test('apply: one folder keeps its own paths; a.png beside a.jpg, an input called preview.png and a file named twice do not collide', async () => {
    const mixed = path.join(dir, 'mixed');
    await mkdir(mixed);
    await copyFile(path.join(big, 'red-circle', '0000.png'), path.join(mixed, 'a.png'));
    await sharp(path.join(big, 'blue-circle', '0000.png')).jpeg().toFile(path.join(mixed, 'a.jpg'));
    await copyFile(path.join(big, 'red-square', '0000.png'), path.join(mixed, 'preview.png'));
    const out = path.join(dir, 'applied-mixed');
    const r = await runCli(['apply', '--model', run, mixed, path.join(mixed, 'a.png'), '--out', out, '--backend', 'wasm', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = jsonOf<ApplySummary>(r);
    assert.deepEqual(s.outputs.map((o) => o.key), ['a.jpg', 'a.png', 'preview.png'], 'keys within the folder; the file named twice is applied once');
    const files = s.outputs.map((o) => o.file);
    assert.equal(files[0], 'a.png');
    assert.match(files[1] ?? '', /^a-[0-9a-f]{8}\.png$/);
    assert.match(files[2] ?? '', /^preview-[0-9a-f]{8}\.png$/);
    assert.deepEqual(await filesUnder(out), ['apply.json', ...files, 'preview.png'].sort());
    const grid = await sharp(path.join(out, 'preview.png')).metadata();
    assert.ok((grid.width ?? 0) > 16, 'preview.png is the grid, not an output image');
  });

  test('search: same-named queries get their own contact sheets, in one call and in two calls', async () => {
    const a = path.join(big, 'red-circle', '0000.png');
    const b = path.join(big, 'blue-circle', '0000.png');
    const both = await runCli(['search', a, b, '--index', run, '-k', '2', '--json']);
    assert.equal(both.code, 0, both.stderr);
    const sheets = jsonOf<Array<{ sheet: string }>>(both).map((x) => x.sheet);
    assert.equal(new Set(sheets).size, 2, sheets.join(', '));

    const first = jsonOf<{ sheet: string }>(await runCli(['search', a, '--index', run, '-k', '2', '--json'])).sheet;
    const bytes = await readFile(first);
    const second = jsonOf<{ sheet: string }>(await runCli(['search', b, '--index', run, '-k', '3', '--json'])).sheet;
    assert.notEqual(second, first);
    assert.deepEqual(await readFile(first), bytes, "the second call left the first query's sheet alone");
    assert.equal(first, sheets[0], 'a query keeps its sheet name from call to call');
    assert.match(path.basename(first), /^0000-[0-9a-f]{8}\.png$/, 'outside the indexed folder: name and hash');
  });

  test('cluster --out writes clusters.json|png there and leaves the index folder alone; without it the log says what it replaced', async () => {
    const before = await Promise.all(['clusters.json', 'clusters.png'].map((f) => readFile(path.join(run, f))));
    const out = path.join(dir, 'k4');
    const r = await runCli(['cluster', '--index', run, '--clusters', '4', '--tsne-iterations', '250', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonOf<{ k: number; out: string }>(r).out, out);
    assert.deepEqual(await filesUnder(out), ['clusters.json', 'clusters.png']);
    assert.equal((JSON.parse(await readFile(path.join(out, 'clusters.json'), 'utf8')) as { k: number }).k, 4);
    assert.deepEqual(await Promise.all(['clusters.json', 'clusters.png'].map((f) => readFile(path.join(run, f)))), before);

    const inPlace = await runCli(['cluster', '--index', run, '--clusters', '3', '--tsne-iterations', '250'], { IMGSIM_LOG_LEVEL: 'info' });
    assert.equal(inPlace.code, 0, inPlace.stderr);
    assert.equal(inPlace.stderr.match(/replacing clusters\.json and clusters\.png in .*\(--out <dir> writes them elsewhere\)/g)?.length, 1, inPlace.stderr);
  });

  test('an --out holding another kind of output, or images, or an existing file: one line, exit 2, nothing written, nothing loaded', async () => {
    const applied = path.join(dir, 'applied-once');
    const ok = await runCli(['apply', '--model', run, path.join(big, 'green-circle', '0000.png'), '--out', applied, '--backend', 'wasm']);
    assert.equal(ok.code, 0, ok.stderr);
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'not a folder');
    const images = path.join(big, 'red-square');
    const cases: Array<[string[], string, RegExp]> = [
      [['apply', '--model', run, images, '--out', run], run, /^imgsim: --out \S+ already holds an imgsim index \(embeddings\.npy\); choose an empty folder or one written by imgsim apply$/],
      [['apply', '--model', run, images, '--out', big], big, /^imgsim: --out \S+ already holds images \(blue-circle\/0000\.png\), not imgsim outputs; choose an empty folder or one written by imgsim apply$/],
      [['run', images, '--out', applied, ...TINY], applied, /^imgsim: --out \S+ already holds imgsim apply outputs \(apply\.json\); choose an empty folder or one written by imgsim run, train, embed or eval$/],
      [['train', images, '--out', images, ...TRAIN], images, /^imgsim: --out \S+ already holds images \(0000\.png\)/],
      [['embed', images, '--model', path.join(run, 'model'), '--out', applied], applied, /already holds imgsim apply outputs/],
      [['cluster', '--index', run, '--out', images], images, /^imgsim: --out \S+ already holds images \(0000\.png\), not imgsim outputs; choose an empty folder or one written by imgsim cluster$/],
      [['cluster', '--index', run, '--out', path.join(dir, 'small')], path.join(dir, 'small'), /already holds images/],
      [['apply', '--model', run, images, '--out', file], dir, /^imgsim: --out \S+ is an existing file; choose a folder \(it is created if missing\)$/],
      [['run', images, '--out', file, ...TINY], dir, /is an existing file/],
      [['cluster', '--index', run, '--out', file], dir, /is an existing file/],
      [['apply', '--model', run, images, '--out', path.join(file, 'sub')], dir, /^imgsim: --out \S+ cannot be created: \S+ is a file$/],
    ];
    for (const [args, watched, expected] of cases) {
      const was = await snapshot(watched);
      const r = await runCli(args, { IMGSIM_LOG_LEVEL: 'info' });
      const what = args.map((a) => (a.startsWith(dir) ? path.relative(dir, a) : a)).join(' ');
      assert.equal(r.code, 2, `${what}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${what}: one line, no work logged:\n${r.stderr}`);
      assert.match(lines[0] ?? '', expected, what);
      assert.equal(r.stdout, '');
      assert.deepEqual(await snapshot(watched), was, `${what}: nothing written`);
    }
    assert.equal(await readFile(file, 'utf8'), 'not a folder');
  });

  test('one --model convention (issue 15, deliverable 6): embed and apply take the run folder or its model/ folder alike', async () => {
    const small = path.join(dir, 'small');
    const viaRun = path.join(dir, 'embed-run');
    const viaModel = path.join(dir, 'embed-model');
    for (const [model, out] of [[run, viaRun], [path.join(run, 'model'), viaModel]] as const) {
      const r = await runCli(['embed', small, '--model', model, '--out', out, '--backend', 'wasm', '--json']);
      assert.equal(r.code, 0, `embed --model ${model}: ${r.stderr}`);
      assert.equal(jsonOf<{ images: number }>(r).images, 27);
    }
    assert.deepEqual(await readFile(path.join(viaRun, 'embeddings.npy')), await readFile(path.join(viaModel, 'embeddings.npy')), 'the same model either way');
    const index = JSON.parse(await readFile(path.join(viaRun, 'index.json'), 'utf8')) as { model: string };
    assert.equal(path.resolve(viaRun, index.model), path.join(run, 'model'), 'index.json names the model folder itself');
    const one = path.join(small, 'red-circle', '0000.png');
    for (const [i, model] of [run, path.join(run, 'model')].entries()) {
      const r = await runCli(['apply', one, '--model', model, '--out', path.join(dir, `apply-model-${i}`), '--backend', 'wasm', '--json']);
      assert.equal(r.code, 0, `apply --model ${model}: ${r.stderr}`);
    }
    const batch = await runCli(['apply', one, '--model', run, '--out', path.join(dir, 'apply-batch'), '--batch', '4']);
    assert.equal(batch.code, 2);
    assert.match(batch.stderr, /^imgsim: --batch is the training batch .*--embed-batch/);
  });
});
