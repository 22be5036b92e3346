// `imgsim serve --index <dir>`: the web app's API over one local index folder, with no
// Redis, S3 or Qdrant. A real index (generated collages and a rotated, cropped JPEG copy of
// one, trained and embedded by `imgsim run`), its duplicates report (`imgsim duplicates
// --index`), then the server's routes in the queued server's shapes: datasets, clusters,
// search by key / upload / vector, features by key, thumbnails (and what they refuse),
// duplicates with "not a duplicate" kept in the store the CLI reads, auth, the app at /.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { loadConfig } from '../../../shared/config/index.js';
import { DISMISSALS_FILE, DismissalStore } from '../../../shared/duplicates/dismissals.js';
import { generateCollageDataset } from '../../../shared/images/collage.js';
import { silentLogger } from '../../../shared/logger.js';
import { initBackend } from '../../../shared/model/backend.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import { buildLocalServer } from '../../../workers/server/local/local-app.js';
import { localDatasetName, openLocalDataset, type LocalDataset } from '../../../workers/server/local/local-dataset.js';
import { runCli } from '../../support/cli.js';
import { BASIC, basicHeader } from './helpers.js';

const SMALL = ['--size', '32', '--filters', '8,16,32', '--epochs', '2', '--batch', '16', '--tsne-iterations', '250'];
const ORIGINAL = 'collages/collage-0000.png';
const COPY = 'dups/rotated.jpg';

interface Neighbour {
  rank: number;
  key: string;
  score: number;
  inliers?: number;
}

describe('imgsim serve --index: the API over a local index folder', () => {
  let dir: string;
  let index: string;
  let ds: LocalDataset;
  let app: FastifyInstance;
  let webDir: string;
  const config = loadConfig({});

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-local-server-'));
    const data = path.join(dir, 'data');
    index = path.join(dir, 'My Index');
    await generateCollageDataset(path.join(data, 'collages'), { count: 12, size: 160, seed: 3 });
    const original = await readFile(path.join(data, ORIGINAL));
    await mkdir(path.join(data, 'dups'), { recursive: true });
    await writeFile(
      path.join(data, COPY),
      await sharp(original).rotate(25, { background: '#fff' }).extract({ left: 20, top: 20, width: 170, height: 160 }).jpeg({ quality: 60 }).toBuffer(),
    );
    const run = await runCli(['run', data, '--out', index, ...SMALL, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const dup = await runCli(['duplicates', '--index', index, '--json']);
    assert.equal(dup.code, 0, dup.stderr);
    webDir = path.join(dir, 'web');
    await mkdir(webDir, { recursive: true });
    await writeFile(path.join(webDir, 'index.html'), '<!doctype html><title>imgsim</title>');
    await initBackend(config.backend, silentLogger);
    ds = await openLocalDataset(index, silentLogger);
    app = await buildLocalServer(ds, config, silentLogger, { insecure: true, webDir, warmFeatures: false });
  });

  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const url = (rest: string): string => `/v1/datasets/${ds.name}${rest}`;
  const json = (method: 'GET' | 'POST', u: string, body?: unknown) =>
    app.inject({ method, url: u, ...(body !== undefined ? { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });

  test('the dataset is the folder, named after it; /v1/app says local and lists no runs', async () => {
    assert.equal(ds.name, 'my-index');
    assert.equal(localDatasetName('/x/My Photos (2024)'), 'my-photos-2024');
    const info = (await json('GET', '/v1/app')).json<{ mode: string; pages: string[] }>();
    assert.equal(info.mode, 'local');
    assert.deepEqual(info.pages, ['datasets', 'search', 'map', 'duplicates']);
    const list = (await json('GET', '/v1/datasets')).json<{ datasets: Array<{ name: string; collection: string }> }>();
    assert.deepEqual(list.datasets.map((d) => d.name), ['my-index']);
    assert.equal((await json('GET', url(''))).json<{ points: number }>().points, 13);
    const clusters = (await json('GET', url('/clusters'))).json<{ points: Record<string, unknown> }>();
    assert.equal(Object.keys(clusters.points).length, 13);
    assert.equal((await json('GET', '/v1/datasets/other')).statusCode, 404);
    assert.equal((await json('GET', '/v1/runs')).statusCode, 404);
  });

  test('search by key, by upload and by vector, and what each refuses', async () => {
    const byKey = await json('POST', url('/search'), { key: ORIGINAL, k: 3 });
    assert.equal(byKey.statusCode, 200, byKey.body);
    const hits = byKey.json<{ neighbors: Neighbour[] }>().neighbors;
    assert.equal(hits.length, 3);
    assert.ok(!hits.some((h) => h.key === ORIGINAL), 'the query key is left out');
    assert.equal((await json('POST', url('/search'), { key: 'nope.png' })).statusCode, 404);
    const wrongDim = await json('POST', url('/search'), { vector: [1, 2, 3] });
    assert.equal(wrongDim.statusCode, 400);
    assert.match(wrongDim.json<{ message: string }>().message, /^body\.vector: expected \d+ numbers/);

    const form = new FormData();
    form.append('image', new Blob([await readFile(path.join(dir, 'data', ORIGINAL))]), 'query.png');
    form.append('k', '2');
    const upload = await app.inject({ method: 'POST', url: url('/search'), payload: form });
    assert.equal(upload.statusCode, 200, upload.body);
    assert.equal(upload.json<{ neighbors: Neighbour[] }>().neighbors[0]?.key, ORIGINAL, 'the image itself first');
    const text = new FormData();
    text.append('image', new Blob([Buffer.from('not an image')]), 'notes.txt');
    assert.equal((await app.inject({ method: 'POST', url: url('/search'), payload: text })).statusCode, 415);
  });

  test('features by key finds the rotated copy through the visual-word index', async () => {
    const r = await json('POST', url('/features'), { key: ORIGINAL, k: 2 });
    assert.equal(r.statusCode, 200, r.body);
    const first = r.json<{ neighbors: Neighbour[] }>().neighbors[0];
    assert.equal(first?.key, COPY);
    assert.ok((first?.inliers ?? 0) >= 20, `${first?.inliers} inliers`);
  });

  test('thumbnails of indexed images only: webp, traversal 400, unknown 404', async () => {
    const ok = await json('GET', url(`/thumbnail?key=${encodeURIComponent(COPY)}&size=64`));
    assert.equal(ok.statusCode, 200);
    const meta = await sharp(ok.rawPayload).metadata();
    assert.equal(meta.format, 'webp');
    assert.ok(Math.max(meta.width ?? 0, meta.height ?? 0) <= 64);
    for (const key of ['../data/collages/collage-0001.png', '/etc/passwd']) {
      const bad = await json('GET', url(`/thumbnail?key=${encodeURIComponent(key)}`));
      assert.equal(bad.statusCode, 400, key);
      assert.match(bad.json<{ message: string }>().message, /^query\.key: /);
    }
    assert.equal((await json('GET', url('/thumbnail?key=collages%2Fmissing.png'))).statusCode, 404);
  });

  test('duplicates: the report grouped; "not a duplicate" kept where the CLI reads it; a pass is the CLI\'s (409)', async () => {
    interface Page {
      total: number;
      report?: { images: number };
      groups: Array<{ keeper: string; members: Array<{ key: string }>; pairs: Array<{ a: string; b: string }> }>;
    }
    const page = (await json('GET', url('/duplicates'))).json<Page>();
    assert.equal(page.report?.images, 13);
    const group = page.groups.find((g) => g.members.some((m) => m.key === COPY));
    assert.ok(group, JSON.stringify(page));
    assert.ok(group.members.some((m) => m.key === ORIGINAL));
    assert.equal((await json('POST', url('/duplicates/dismiss'), { a: ORIGINAL, b: 'nope.png' })).statusCode, 404);
    assert.equal((await json('POST', url('/duplicates/dismiss'), { a: ORIGINAL, b: ORIGINAL })).statusCode, 400);
    assert.equal((await json('POST', url('/duplicates/dismiss'), { a: COPY, b: ORIGINAL })).statusCode, 201);
    assert.equal((await json('POST', url('/duplicates/dismiss'), { a: ORIGINAL, b: COPY })).statusCode, 200, 'already marked');
    const after = (await json('GET', url('/duplicates'))).json<Page>();
    assert.ok(!after.groups.some((g) => g.pairs.some((p) => [p.a, p.b].includes(COPY) && [p.a, p.b].includes(ORIGINAL))), 'the pair is gone');
    const stored = await new DismissalStore(new LocalStorage(index), DISMISSALS_FILE).list();
    assert.equal(stored.length, 1, 'in the index folder\'s store, which imgsim duplicates --index honours');
    // A second server on the same folder does not report it either.
    const again = await buildLocalServer(await openLocalDataset(index, silentLogger), config, silentLogger, { insecure: true, webDir, warmFeatures: false });
    try {
      const second = (await again.inject({ method: 'GET', url: url('/duplicates') })).json<Page>();
      assert.deepEqual(second.groups, after.groups);
    } finally {
      await again.close();
    }
    const pass = await json('POST', url('/duplicates'), {});
    assert.equal(pass.statusCode, 409);
    assert.match(pass.json<{ message: string }>().message, /imgsim duplicates --index /);
  });

  test('the app at /, and 401 with a basic-auth challenge when credentials are set', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<title>imgsim<\/title>/);
    const secured = await buildLocalServer(ds, loadConfig({ IMGSIM_BASIC_AUTH: BASIC }), silentLogger, { webDir, warmFeatures: false });
    try {
      for (const u of ['/', '/v1/app', url(`/thumbnail?key=${encodeURIComponent(COPY)}`)]) {
        const r = await secured.inject({ method: 'GET', url: u });
        assert.equal(r.statusCode, 401, u);
        assert.match(String(r.headers['www-authenticate']), /^Basic /);
      }
      assert.equal((await secured.inject({ method: 'GET', url: '/v1/app', headers: { authorization: basicHeader } })).statusCode, 200);
    } finally {
      await secured.close();
    }
  });

  test('the command: a missing folder and a service flag are refused in one line (exit 2)', async () => {
    const missing = await runCli(['serve', '--index', path.join(dir, 'nope'), '--insecure']);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /No index at .*nope/);
    const redis = await runCli(['serve', '--index', index, '--redis', 'redis://127.0.0.1:1', '--insecure']);
    assert.equal(redis.code, 2);
    assert.match(redis.stderr, /--redis applies to imgsim serve without --index/);
  });
});
