// `imgsim run` end to end on generated images mixed with every kind of bad input,
// then search, cluster and the error paths, through the real command line.
import { before, describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { generateShapesDataset } from '../../shared/images/synthetic.js';
import { modelMetaSchema } from '../../shared/model/meta.js';
import { decodeNpy } from '../../shared/npy.js';
import { writeBadInputFixtures } from '../support/image-fixtures.js';
import { jsonOf, runCli } from '../support/cli.js';

const SMALL = ['--size', '32', '--filters', '8,16,32', '--epochs', '2', '--batch', '16', '--tsne-iterations', '250'];
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

describe('imgsim run on a folder with good and bad images', () => {
  let dir: string;
  let data: string;
  let out: string;
  let fixtures: Awaited<ReturnType<typeof writeBadInputFixtures>>;
  let summary: { images: number; failed: number; embeddingDim: number; clusters: number };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-run-'));
    data = path.join(dir, 'data');
    out = path.join(dir, 'out');
    await generateShapesDataset(path.join(data, 'shapes'), { perClass: 4, seed: 1 });
    await mkdir(path.join(data, 'mixed'), { recursive: true });
    fixtures = await writeBadInputFixtures(path.join(data, 'mixed'));
    const r = await runCli(['run', data, '--out', out, ...SMALL, '--json']);
    assert.equal(r.code, 0, r.stderr);
    summary = jsonOf(r);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('every bad file is in failures.json with its reason, and the run completed', async () => {
    const failures = JSON.parse(await readFile(path.join(out, 'failures.json'), 'utf8')) as Array<{ key: string; reason: string; message: string }>;
    const byKey = new Map(failures.map((f) => [f.key, f]));
    for (const [file, reason] of Object.entries(fixtures.bad)) {
      const f = byKey.get(`mixed/${file}`);
      assert.ok(f, `${file} missing from failures.json`);
      assert.equal(f.reason, reason, `${file}: ${f.message}`);
      assert.ok(f.message.length > 10);
    }
    assert.equal(summary.failed, failures.length);
  });

  test('good images, including odd formats, are embedded: embeddings.npy and ids.json agree, no dummy row', async () => {
    const ids = JSON.parse(await readFile(path.join(out, 'ids.json'), 'utf8')) as string[];
    const npy = decodeNpy(await readFile(path.join(out, 'embeddings.npy')));
    for (const good of fixtures.good) assert.ok(ids.includes(`mixed/${good}`), `${good} not embedded`);
    assert.equal(ids.length, 9 * 4 + fixtures.good.length);
    assert.equal(npy.rows, ids.length);
    assert.equal(npy.cols, summary.embeddingDim);
    assert.equal(npy.cols, 4 * 4 * 32); // 32 px through 3 pooling stages → 4×4×32
    assert.ok(npy.data.some((v) => v !== 0), 'embeddings are not all zero');
    assert.equal(new Set(ids).size, ids.length);
  });

  test('numpy.load reads the embeddings', { skip: hasNumpy ? false : 'python3 with numpy is not installed' }, () => {
    const py = spawnSync('python3', ['-c', `import numpy as np; a=np.load(${JSON.stringify(path.join(out, 'embeddings.npy'))}); print(a.dtype, a.shape)`], { encoding: 'utf8' });
    assert.equal(py.stdout.trim(), `float32 (${summary.images}, ${summary.embeddingDim})`);
  });

  test('the model folder holds encoder, decoder, meta.json and a preview', async () => {
    const meta = modelMetaSchema.parse(JSON.parse(await readFile(path.join(out, 'model', 'meta.json'), 'utf8')));
    assert.equal(meta.inputSize, 32);
    assert.equal(meta.losses.length, meta.training.epochsRun);
    assert.equal(meta.backend, 'wasm');
    for (const f of ['encoder/model.json', 'encoder/weights.bin', 'decoder/model.json', 'decoder/weights.bin']) {
      assert.ok((await stat(path.join(out, 'model', f))).size > 0, f);
    }
    const preview = await sharp(path.join(out, 'model', 'preview.png')).metadata();
    assert.equal(preview.format, 'png');
    assert.ok((preview.height ?? 0) > (preview.width ?? 0) / 8, 'two rows of tiles');
  });

  test('clusters.json labels every embedded image, clusters.png is a picture', async () => {
    const clusters = JSON.parse(await readFile(path.join(out, 'clusters.json'), 'utf8')) as { k: number; points: Record<string, { x: number; y: number; label: number }> };
    const ids = JSON.parse(await readFile(path.join(out, 'ids.json'), 'utf8')) as string[];
    assert.deepEqual(Object.keys(clusters.points).sort(), [...ids].sort());
    for (const p of Object.values(clusters.points)) {
      assert.ok(Number.isFinite(p.x) && Number.isFinite(p.y));
      assert.ok(p.label >= 0 && p.label < clusters.k);
    }
    assert.equal(clusters.k, summary.clusters);
    assert.equal((await sharp(path.join(out, 'clusters.png')).metadata()).format, 'png');
  });

  test('search finds the query itself first, --exclude-self leaves it out, the contact sheet is written', async () => {
    const ids = JSON.parse(await readFile(path.join(out, 'ids.json'), 'utf8')) as string[];
    const key = ids.find((k) => k.startsWith('shapes/')) as string;
    const file = path.join(data, key);
    const r = await runCli(['search', file, '--index', out, '-k', '3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const res = jsonOf<{ neighbors: Array<{ rank: number; key: string; path?: string; score: number }>; sheet: string }>(r);
    assert.equal(res.neighbors.length, 3);
    // The neighbour shape features --json shares (bin/neighbours.ts): rank, key, path, score.
    assert.deepEqual(res.neighbors.map((n) => n.rank), [1, 2, 3]);
    for (const n of res.neighbors) assert.equal(n.path, path.join(data, ...n.key.split('/')));
    assert.equal(res.neighbors[0]?.key, key);
    assert.ok((res.neighbors[0]?.score ?? 0) > 0.999);
    assert.ok(res.neighbors.every((n, i) => i === 0 || n.score <= (res.neighbors[i - 1]?.score ?? 1)));
    assert.equal((await sharp(res.sheet).metadata()).format, 'png');
    const ex = jsonOf<{ neighbors: Array<{ key: string }> }>(await runCli(['search', file, '--index', out, '-k', '3', '--exclude-self', '--json']));
    assert.ok(!ex.neighbors.some((n) => n.key === key));
  });

  test('several query images in one call (a folder and a file): a JSON array, each finds itself, one contact sheet each', async () => {
    const folder = path.join(data, 'shapes', 'red-circle');
    const file = path.join(data, 'shapes', 'blue-circle', '0000.png');
    const r = await runCli(['search', folder, file, '--index', out, '-k', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const results = jsonOf<Array<{ query: string; neighbors: Array<{ key: string; score: number }>; sheet: string }>>(r);
    assert.deepEqual(
      results.map((x) => x.query),
      [...['0000', '0001', '0002', '0003'].map((n) => path.join(folder, `${n}.png`)), file],
    );
    for (const x of results) {
      assert.equal(x.neighbors.length, 2);
      assert.equal(x.neighbors[0]?.key, path.relative(data, x.query).split(path.sep).join('/'), 'each query finds itself first');
    }
    assert.equal(new Set(results.map((x) => x.sheet)).size, results.length, 'no sheet overwrites another');
    assert.equal(results[0]?.sheet, path.join(out, 'searches', 'shapes', 'red-circle', '0000.png'), "an image of the index's source: its key there");
    for (const x of results) assert.equal((await sharp(x.sheet).metadata()).format, 'png');
    // Human output: each query's neighbours under its name.
    const human = await runCli(['search', folder, '--index', out, '-k', '1', '--no-sheet']);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout.match(/^query: /gm)?.length, 4);
    assert.doesNotMatch(human.stdout, /contact sheet/);
  });

  test('several queries: one that does not decode is reported, the others are searched, exit 1; --sheet wants one query', async () => {
    const bad = Object.keys(fixtures.bad).find((f) => fixtures.bad[f] === 'unsupported-format') as string;
    const good = path.join(data, 'shapes', 'red-circle', '0001.png');
    const r = await runCli(['search', path.join(data, 'mixed', bad), good, '--index', out, '-k', '1', '--no-sheet', '--json']);
    assert.equal(r.code, 1, r.stderr);
    const results = jsonOf<Array<{ query: string; error?: string; neighbors?: unknown[]; sheet?: string }>>(r);
    assert.match(results[0]?.error ?? '', /Cannot decode the query image .*unsupported-format/);
    assert.equal(results[1]?.neighbors?.length, 1);
    assert.equal(results[1]?.sheet, undefined, '--no-sheet');
    assert.match(r.stderr, /1 of 2 query images could not be searched/);
    const sheet = await runCli(['search', good, good, '--index', out, '--sheet', path.join(dir, 'one.png')]);
    assert.equal(sheet.code, 2);
    assert.match(sheet.stderr, /--sheet names the contact sheet of one query image/);
    const missing = await runCli(['search', good, path.join(dir, 'nope.png'), '--index', out]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Query image not found: .*nope\.png/);
  });

  test('cluster alone re-clusters an index folder with a chosen k', async () => {
    const r = await runCli(['cluster', '--index', out, '--clusters', '3', '--tsne-iterations', '250', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonOf<{ k: number }>(r).k, 3);
  });

  test('a query that cannot be decoded: one clear line, exit 2, no stack', async () => {
    const bad = Object.keys(fixtures.bad).find((f) => fixtures.bad[f] === 'unsupported-format') as string;
    const r = await runCli(['search', path.join(data, 'mixed', bad), '--index', out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr.trim(), /^imgsim: Cannot decode the query image .*unsupported-format/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});

describe('imgsim errors on bad invocations', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-errors-'));
    await mkdir(path.join(dir, 'empty'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const oneLine = (stderr: string) => {
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.ok(!/\n\s+at /.test(stderr), 'no stack trace');
    return lines[0] as string;
  };

  test("commander's usage errors: one line, exit 2, a suggestion where one fits, the help to read named", async () => {
    const cases: Array<[string[], RegExp]> = [
      [['serch', 'x.jpg'], /^imgsim: unknown command 'serch' \(Did you mean search\?\) — see imgsim --help$/],
      [['--bogus'], /^imgsim: unknown option '--bogus' — see imgsim --help$/],
      [['search'], /^imgsim: missing required argument 'images' — see imgsim search --help$/],
      [['run', path.join(dir, 'empty')], /^imgsim: required option '-o, --out <dir>' not specified — see imgsim run --help$/],
      [['search', 'x.jpg', '--index', dir, '--nope'], /^imgsim: unknown option '--nope' — see imgsim search --help$/],
    ];
    for (const [args, expected] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(oneLine(r.stderr), expected);
      assert.equal(r.stdout, '');
    }
    const help = await runCli(['search', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: imgsim search/);
  });

  test('missing folder', async () => {
    const r = await runCli(['run', path.join(dir, 'nope'), '--out', path.join(dir, 'o')]);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /Source folder not found: .*nope/);
  });

  test('empty folder', async () => {
    const r = await runCli(['run', path.join(dir, 'empty'), '--out', path.join(dir, 'o')]);
    assert.equal(r.code, 2);
    assert.equal(oneLine(r.stderr), `imgsim: No images found in ${path.join(dir, 'empty')}: the folder is empty`);
  });

  test('unreadable index', async () => {
    const r = await runCli(['search', path.join(dir, 'x.jpg'), '--index', path.join(dir, 'empty')]);
    assert.equal(r.code, 2);
    assert.equal(oneLine(r.stderr), `imgsim: ${path.join(dir, 'empty')} is not an index folder: it has no index.json (imgsim run or imgsim embed writes one)`);
  });

  test('invalid flag value names the flag, what it must be and the received value', async () => {
    const r = await runCli(['run', path.join(dir, 'empty'), '--out', path.join(dir, 'o'), '--epochs', 'ten']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'imgsim: --epochs must be a whole number from 1 to 10000, got "ten" — see imgsim run --help\n');
  });

  test('a worker refuses invalid config, naming the variable and the expectation', async () => {
    const r = await runCli(['worker', 'embed'], { IMGSIM_REDIS_URL: 'localhost:6379', IMGSIM_WORKER_CONCURRENCY: '0' });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'imgsim: IMGSIM_REDIS_URL must be a redis:// or rediss:// URL, got "localhost:6379"; IMGSIM_WORKER_CONCURRENCY must be a whole number from 1 to 64, got "0" — see imgsim worker --help\n',
    );
    const stage = await runCli(['worker', 'resize']);
    assert.equal(stage.code, 2);
    assert.match(oneLine(stage.stderr), /Unknown worker "resize": expected one of ingest, train, embed, index, publish, cluster/);
  });

  test('an unreachable Redis is named with its address', async () => {
    const r = await runCli(['runs'], { IMGSIM_REDIS_URL: 'redis://:hunter2@127.0.0.1:1' });
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 is unreachable: .*ECONNREFUSED/);
    assert.ok(!r.stderr.includes('hunter2'), 'password not printed');
  });

  test('--verbose adds the stack trace', async () => {
    const r = await runCli(['run', path.join(dir, 'nope'), '--out', path.join(dir, 'o'), '--verbose']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\n\s+at /);
  });
});
