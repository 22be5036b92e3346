// `imgsim serve --index <dir>`: the web app's API over one local index folder, with no
// Redis, S3 or Qdrant. A real index (generated collages and a rotated, cropped JPEG copy of
// one, trained and embedded by `imgsim run`), its duplicates report (`imgsim duplicates
// --index`), then the server's routes, each answer checked against the queued server's
// response schema (workers/server/schemas.ts): datasets, clusters, search by key / upload /
// vector, features by key / upload (with and before the visual-word index), thumbnails (and
// what they refuse), duplicates with "not a duplicate" kept in the store the CLI reads,
// auth, the app at /; then the real command: listening on port 0, SIGTERM, what it refuses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import sharp from 'sharp';
import type { z } from 'zod';
import { loadConfig } from '../../../shared/config/index.js';
import { DISMISSALS_FILE, DismissalStore } from '../../../shared/duplicates/dismissals.js';
import { generateCollageDataset } from '../../../shared/images/collage.js';
import { silentLogger } from '../../../shared/logger.js';
import { initBackend } from '../../../shared/model/backend.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import { buildLocalServer } from '../../../workers/server/local/local-app.js';
import { localDatasetName, openLocalDataset, type LocalDataset } from '../../../workers/server/local/local-dataset.js';
import {
  appInfoResponse,
  clustersResponse,
  datasetResponse,
  dismissResponse,
  duplicatesResponse,
  errorResponse,
  featuresResponse,
  listDatasetsResponse,
  searchResponse,
} from '../../../workers/server/schemas.js';
import { jsonOf, ROOT, runCli } from '../../support/cli.js';
import { killChild, trackChild } from '../../support/server-processes.js';
import { BASIC, basicHeader, TOKEN } from './helpers.js';

const SMALL = ['--size', '32', '--filters', '8,16,32', '--epochs', '2', '--batch', '16', '--tsne-iterations', '250'];
const ORIGINAL = 'collages/collage-0000.png';
const COPY = 'dups/rotated.jpg';

type Neighbour = z.infer<typeof featuresResponse>['neighbors'][number];

/** The body parsed by the queued server's response schema (a missing or mistyped field fails the test). */
function shaped<T extends z.ZodType>(schema: T, r: LightMyRequestResponse, status = 200): z.infer<T> {
  assert.equal(r.statusCode, status, r.body);
  const parsed = schema.safeParse(r.json());
  assert.ok(parsed.success, `${r.body.slice(0, 500)}\n${parsed.error?.message ?? ''}`);
  return parsed.data;
}

/** An error answer: its status, the API's error shape, and its message. */
function refused(r: LightMyRequestResponse, status: number): string {
  return shaped(errorResponse, r, status).message;
}

describe('imgsim serve --index: the API over a local index folder', () => {
  let dir: string;
  let data: string;
  let index: string;
  let ds: LocalDataset;
  let app: FastifyInstance;
  let webDir: string;
  const config = loadConfig({});

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-local-server-'));
    data = path.join(dir, 'data');
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
    app = await buildLocalServer(ds, config, silentLogger, { insecure: true, webDir, wordIndex: 'wait' });
  });

  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const url = (rest: string): string => `/v1/datasets/${ds.name}${rest}`;
  const json = (method: 'GET' | 'POST', u: string, body?: unknown, on = app) =>
    on.inject({ method, url: u, ...(body !== undefined ? { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const upload = async (file: string, name: string, fields: Record<string, string> = {}): Promise<FormData> => {
    const form = new FormData();
    form.append('image', new Blob([await readFile(file)]), name);
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return form;
  };

  test('the dataset is the folder, named after it; /v1/app says local and lists no runs', async () => {
    assert.equal(ds.name, 'my-index');
    assert.equal(localDatasetName('/x/My Photos (2024)'), 'my-photos-2024');
    assert.equal(localDatasetName('imgsim-demo/run'), 'run');
    const info = shaped(appInfoResponse, await json('GET', '/v1/app'));
    assert.equal(info.mode, 'local');
    assert.deepEqual(info.pages, ['datasets', 'search', 'map', 'duplicates']);
    const list = shaped(listDatasetsResponse, await json('GET', '/v1/datasets'));
    assert.deepEqual(
      list.datasets.map((d) => [d.name, d.collection]),
      [['my-index', index]],
    );
    assert.equal(shaped(datasetResponse, await json('GET', url(''))).points, 13);
    const clusters = shaped(clustersResponse, await json('GET', url('/clusters')));
    assert.equal(Object.keys(clusters.points).length, 13);
    assert.match(refused(await json('GET', '/v1/datasets/other'), 404), /Dataset "other" not found: this server serves the index folder .* as dataset "my-index"/);
    assert.match(refused(await json('GET', '/v1/datasets/Bad Name'), 400), /^params\.name/);
    for (const u of ['/v1/runs', '/v1/schedules', '/admin/queues']) refused(await json('GET', u), 404);
  });

  test('search by key, by upload and by vector, and what each refuses', async () => {
    const hits = shaped(searchResponse, await json('POST', url('/search'), { key: ORIGINAL, k: 3 })).neighbors;
    assert.equal(hits.length, 3);
    assert.ok(!hits.some((h) => h.key === ORIGINAL), 'the query key is left out');
    assert.ok(hits.every((h) => h.cluster !== undefined), 'each hit has its cluster (clusters.json)');
    assert.match(refused(await json('POST', url('/search'), { key: 'nope.png' }), 404), /^body\.key: "nope\.png" is not an image of dataset "my-index"/);
    assert.match(refused(await json('POST', url('/search'), { vector: [1, 2, 3] }), 400), /^body\.vector: expected \d+ numbers/);
    const dim = (await ds.opened.index.vectorOf(ORIGINAL))?.length ?? 0;
    const byVector = shaped(searchResponse, await json('POST', url('/search'), { vector: Array.from({ length: dim }, (_, i) => (i % 7) / 7), k: 2 }));
    assert.equal(byVector.neighbors.length, 2);
    const filtered = shaped(searchResponse, await json('POST', url('/search'), { key: ORIGINAL, k: 20, filters: { keyPrefix: 'dups/' } }));
    assert.deepEqual(
      filtered.neighbors.map((h) => h.key),
      [COPY],
    );

    const byUpload = shaped(searchResponse, await app.inject({ method: 'POST', url: url('/search'), payload: await upload(path.join(data, ORIGINAL), 'query.png', { k: '2' }) }));
    assert.equal(byUpload.neighbors[0]?.key, ORIGINAL, 'the image itself first');
    const text = new FormData();
    text.append('image', new Blob([Buffer.from('not an image')]), 'notes.txt');
    assert.match(refused(await app.inject({ method: 'POST', url: url('/search'), payload: text }), 415), /^form\.image: "notes\.txt" is not an image/);
    refused(await app.inject({ method: 'POST', url: url('/search'), payload: 'key=x', headers: { 'content-type': 'text/plain' } }), 415);
  });

  test('features by key and by upload find the rotated copy through the visual-word index', async () => {
    const byKey = shaped(featuresResponse, await json('POST', url('/features'), { key: ORIGINAL, k: 2 }));
    assert.equal(byKey.warning, undefined);
    assert.ok(!byKey.neighbors.some((h: Neighbour) => h.key === ORIGINAL), 'the query key is left out');
    assert.equal(byKey.neighbors[0]?.key, COPY);
    assert.ok((byKey.neighbors[0]?.inliers ?? 0) >= 20, `${byKey.neighbors[0]?.inliers} inliers`);
    const byUpload = shaped(featuresResponse, await app.inject({ method: 'POST', url: url('/features'), payload: await upload(path.join(data, COPY), 'copy.jpg', { k: '3' }) }));
    assert.deepEqual(
      byUpload.neighbors.slice(0, 2).map((h) => h.key),
      [COPY, ORIGINAL],
      'the uploaded file itself, then the original it was cut from',
    );
    assert.match(refused(await json('POST', url('/features'), { key: 'nope.png' }), 404), /^body\.key: "nope\.png" is not an image/);
    const text = new FormData();
    text.append('image', new Blob([Buffer.from('not an image')]), 'notes.txt');
    assert.match(refused(await app.inject({ method: 'POST', url: url('/features'), payload: text }), 415), /^form\.image: /);
    // An indexed image gone from the source folder: 404 naming it.
    const gone = path.join(data, 'collages/collage-0005.png');
    await rename(gone, `${gone}.away`);
    try {
      assert.match(refused(await json('POST', url('/features'), { key: 'collages/collage-0005.png' }), 404), /gone from its source folder/);
    } finally {
      await rename(`${gone}.away`, gone);
    }
  });

  test('features before the visual-word index is ready: answered at once from the AE candidates, with a warning', async () => {
    // 'lazy': the first match request starts opening the store and does not wait for it.
    const lazy = await buildLocalServer(await openLocalDataset(index, silentLogger), config, silentLogger, { insecure: true, webDir, wordIndex: 'lazy' });
    try {
      const first = shaped(featuresResponse, await json('POST', url('/features'), { key: ORIGINAL, k: 3 }, lazy));
      assert.match(first.warning ?? '', /visual-word index .* is not ready yet/);
      assert.ok(first.neighbors.length > 0);
      let later = first;
      for (let i = 0; i < 100 && later.warning !== undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        later = shaped(featuresResponse, await json('POST', url('/features'), { key: ORIGINAL, k: 3 }, lazy));
      }
      assert.equal(later.warning, undefined, 'a later request uses the index');
      assert.equal(later.neighbors[0]?.key, COPY);
    } finally {
      await lazy.close();
    }
  });

  test('thumbnails of indexed images only: webp, traversal 400, unknown 404', async () => {
    const ok = await json('GET', url(`/thumbnail?key=${encodeURIComponent(COPY)}&size=64`));
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['content-type'], 'image/webp');
    const meta = await sharp(ok.rawPayload).metadata();
    assert.equal(meta.format, 'webp');
    assert.ok(Math.max(meta.width ?? 0, meta.height ?? 0) <= 64);
    for (const key of ['../data/collages/collage-0001.png', '/etc/passwd', 'collages/../../My Index/index.json']) {
      assert.match(refused(await json('GET', url(`/thumbnail?key=${encodeURIComponent(key)}`)), 400), /^query\.key: /, key);
    }
    assert.match(refused(await json('GET', url('/thumbnail?key=collages%2Fmissing.png')), 404), /^query\.key: /);
    refused(await json('GET', `/v1/datasets/other/thumbnail?key=${encodeURIComponent(COPY)}`), 404);
  });

  test('the source folder missing: search and the map still answer; thumbnails and feature search 503 (not a 404 naming a key)', async () => {
    const away = `${data}.away`;
    await rename(data, away);
    try {
      shaped(searchResponse, await json('POST', url('/search'), { key: ORIGINAL, k: 2 }));
      shaped(clustersResponse, await json('GET', url('/clusters')));
      const missing = /the source folder of dataset "my-index" \(.*data\) is missing$/;
      assert.match(refused(await json('GET', url(`/thumbnail?key=${encodeURIComponent(ORIGINAL)}&size=48`)), 503), missing);
      assert.match(refused(await json('POST', url('/features'), { key: ORIGINAL, k: 2 }), 503), missing);
      assert.match(refused(await app.inject({ method: 'POST', url: url('/features'), payload: await upload(path.join(away, COPY), 'copy.jpg') }), 503), missing);
      // Keys that are not indexed are still a 404 (nothing about the folder is told for them).
      assert.match(refused(await json('GET', url('/thumbnail?key=collages%2Fmissing.png')), 404), /^query\.key: /);
    } finally {
      await rename(away, data);
    }
    assert.equal((await json('GET', url(`/thumbnail?key=${encodeURIComponent(ORIGINAL)}&size=48`))).statusCode, 200, 'back once the folder is');
  });

  test('a write from another site\'s page is a 403 (CSRF); no framing; --insecure answers only loopback Host names', async () => {
    const start = (headers: Record<string, string>) => app.inject({ method: 'POST', url: url('/duplicates'), headers });
    assert.match(refused(await start({ 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }), 403), /^Refused: a POST from another site's page/);
    assert.match(refused(await start({ origin: 'https://evil.example' }), 403), /^Refused: a POST from a page of https:\/\/evil\.example/);
    refused(await start({ 'sec-fetch-site': 'same-origin', origin: 'http://localhost' }), 409); // the web app: reaches the route
    refused(await start({}), 409); // curl
    const dismiss = await app.inject({ method: 'POST', url: url('/duplicates/dismiss'), payload: { a: COPY, b: ORIGINAL }, headers: { 'sec-fetch-site': 'same-site' } });
    refused(dismiss, 403);
    const home = await app.inject({ method: 'GET', url: '/' });
    assert.equal(home.headers['x-frame-options'], 'DENY');
    assert.equal(home.headers['content-security-policy'], "frame-ancestors 'none'");
    // DNS rebinding: a page of rebind.example whose name now resolves to 127.0.0.1.
    refused(await app.inject({ method: 'GET', url: '/v1/datasets', headers: { host: 'rebind.example:8080' } }), 403);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/datasets', headers: { host: '127.0.0.1:8080' } })).statusCode, 200);
  });

  test('duplicates: the report grouped; "not a duplicate" kept where the CLI reads it; a pass is the CLI\'s (409)', async () => {
    const page = shaped(duplicatesResponse, await json('GET', url('/duplicates')));
    assert.equal(page.report?.images, 13);
    assert.equal(page.report?.collection, index);
    const group = page.groups.find((g) => g.members.some((m) => m.key === COPY));
    assert.ok(group, JSON.stringify(page));
    assert.ok(group.members.some((m) => m.key === ORIGINAL));
    assert.match(refused(await json('GET', url('/duplicates?tier=nope')), 400), /^query\.tier/);
    assert.equal(shaped(duplicatesResponse, await json('GET', url('/duplicates?limit=1&offset=0'))).groups.length, Math.min(1, page.total));

    assert.match(refused(await json('POST', url('/duplicates/dismiss'), { a: ORIGINAL, b: 'nope.png' }), 404), /^body\.b: "nope\.png" is not an image/);
    assert.match(refused(await json('POST', url('/duplicates/dismiss'), { a: '../x.png', b: ORIGINAL }), 404), /^body\.a: /);
    refused(await json('POST', url('/duplicates/dismiss'), { a: ORIGINAL, b: ORIGINAL }), 400);
    assert.deepEqual(shaped(dismissResponse, await json('POST', url('/duplicates/dismiss'), { a: COPY, b: ORIGINAL }), 201), { dataset: 'my-index', a: COPY, b: ORIGINAL, dismissed: true });
    assert.equal(shaped(dismissResponse, await json('POST', url('/duplicates/dismiss'), { a: ORIGINAL, b: COPY })).dismissed, false, 'already marked');
    const isThePair = (p: { a: string; b: string }): boolean => [p.a, p.b].includes(COPY) && [p.a, p.b].includes(ORIGINAL);
    const after = shaped(duplicatesResponse, await json('GET', url('/duplicates')));
    assert.ok(!after.groups.some((g) => g.pairs.some(isThePair)), 'the pair is gone');
    assert.equal(after.report?.dismissed, 1);

    // In the index folder's store, the one `imgsim duplicates --index` reads …
    const stored = await new DismissalStore(new LocalStorage(index), DISMISSALS_FILE).list();
    assert.equal(stored.length, 1);
    // … so a new server on the same folder leaves it out too …
    const again = await buildLocalServer(await openLocalDataset(index, silentLogger), config, silentLogger, { insecure: true, webDir, wordIndex: 'lazy' });
    try {
      assert.deepEqual(shaped(duplicatesResponse, await json('GET', url('/duplicates'), undefined, again)).groups, after.groups);
    } finally {
      await again.close();
    }
    // … and so does the command's next pass, whose report this server then reads.
    const pass = await runCli(['duplicates', '--index', index, '--json']);
    assert.equal(pass.code, 0, pass.stderr);
    const report = jsonOf<{ dismissed: number; groups: Array<{ pairs: Array<{ a: string; b: string }> }> }>(pass);
    assert.equal(report.dismissed, 1);
    assert.ok(!report.groups.some((g) => g.pairs.some(isThePair)));
    const reread = shaped(duplicatesResponse, await json('GET', url('/duplicates')));
    assert.ok(!reread.groups.some((g) => g.pairs.some(isThePair)));

    assert.match(refused(await json('POST', url('/duplicates'), {}), 409), /run imgsim duplicates --index .*My Index/);
  });

  test('duplicates before any report: no groups, no report', async () => {
    const bare = path.join(dir, 'bare');
    await cp(index, bare, { recursive: true });
    await rm(path.join(bare, 'duplicates'), { recursive: true });
    await rm(path.join(bare, DISMISSALS_FILE), { force: true });
    const server = await buildLocalServer(await openLocalDataset(bare, silentLogger), config, silentLogger, { insecure: true, webDir, wordIndex: 'lazy' });
    try {
      const page = shaped(duplicatesResponse, await json('GET', '/v1/datasets/bare/duplicates', undefined, server));
      assert.equal(page.report, undefined);
      assert.deepEqual(page.groups, []);
      assert.equal(page.total, 0);
    } finally {
      await server.close();
    }
  });

  test('the app at /, and 401 with a basic-auth challenge when credentials are set', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<title>imgsim<\/title>/);
    const secured = await buildLocalServer(ds, loadConfig({ IMGSIM_BASIC_AUTH: BASIC, IMGSIM_API_TOKEN: TOKEN }), silentLogger, { webDir, wordIndex: 'lazy' });
    try {
      for (const u of ['/', '/v1/app', url(`/thumbnail?key=${encodeURIComponent(COPY)}`)]) {
        const r = await secured.inject({ method: 'GET', url: u });
        assert.equal(r.statusCode, 401, u);
        assert.match(String(r.headers['www-authenticate']), /^Basic /);
      }
      refused(await secured.inject({ method: 'POST', url: url('/duplicates/dismiss'), payload: { a: COPY, b: ORIGINAL } }), 401);
      assert.equal((await secured.inject({ method: 'GET', url: '/v1/app', headers: { authorization: basicHeader } })).statusCode, 200);
      assert.equal((await secured.inject({ method: 'GET', url: '/v1/app', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200);
      assert.equal((await secured.inject({ method: 'GET', url: '/', headers: { authorization: basicHeader } })).statusCode, 200);
    } finally {
      await secured.close();
    }
    // Without credentials and not --insecure: refused before anything is served.
    await assert.rejects(buildLocalServer(ds, config, silentLogger, { webDir, wordIndex: 'lazy' }), /IMGSIM_API_TOKEN|IMGSIM_BASIC_AUTH/);
  });

  test('the command: listens on port 0 and serves the app, the API and the built web app; stops on SIGTERM', async () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('IMGSIM_') && v !== undefined) env[k] = v;
    Object.assign(env, { IMGSIM_LOG_LEVEL: 'info', IMGSIM_LOG_FORMAT: 'json', IMGSIM_BASIC_AUTH: BASIC });
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'imgsim.js'), 'serve', '--index', index, '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    let stderr = '';
    try {
      type Line = { level: number; msg: string; url?: string; app?: string; dataset?: string; points?: number };
      const lines = (): Line[] =>
        stderr
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Line);
      const listening = await new Promise<Line>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line in 90 s:\n${stderr}`)), 90_000);
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          const line = lines().find((l) => l.msg.startsWith('imgsim web app on '));
          if (line) {
            clearTimeout(timer);
            resolve(line);
          }
        });
        child.once('exit', (code) => reject(new Error(`imgsim serve --index exited (${code}):\n${stderr}`)));
      });
      const base = listening.url ?? '';
      assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(listening.app, `${base}/`);
      assert.equal(listening.dataset, 'my-index');
      assert.equal(listening.points, 13);
      assert.match(listening.msg, /^imgsim web app on http:\/\/127\.0\.0\.1:\d+\/ \(dataset "my-index": 13 images of .*My Index\)$/);
      const headers = { authorization: basicHeader };
      assert.equal((await fetch(`${base}/v1/app`)).status, 401);
      const info = (await (await fetch(`${base}/v1/app`, { headers })).json()) as { mode: string };
      assert.equal(info.mode, 'local');
      const search = await fetch(`${base}/v1/datasets/my-index/search`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ key: ORIGINAL, k: 2 }) });
      assert.equal(search.status, 200);
      // The built app (npm run build writes dist/web/; without it / answers 503 saying so).
      const built = await stat(path.join(ROOT, 'dist', 'web', 'index.html')).then(
        () => true,
        () => false,
      );
      const home = await fetch(`${base}/`, { headers });
      assert.equal(home.status, built ? 200 : 503);
      if (built) assert.match(home.headers.get('content-type') ?? '', /^text\/html/);
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c))));
      assert.equal(code, 0, stderr);
    } finally {
      await killChild(child);
    }
  });

  test('the command refuses a missing or damaged folder and the services\' flags in one line (exit 2)', async () => {
    const oneLine = (r: { code: number | null; stderr: string }, pattern: RegExp): void => {
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, pattern);
    };
    oneLine(await runCli(['serve', '--index', path.join(dir, 'nope'), '--insecure']), /No index at .*nope/);
    oneLine(await runCli(['serve', '--index', data, '--insecure']), /is not an index folder: it has no index\.json/);
    const damaged = path.join(dir, 'damaged');
    await mkdir(damaged);
    await writeFile(path.join(damaged, 'index.json'), '{"version": 1, "source": ');
    oneLine(await runCli(['serve', '--index', damaged, '--insecure']), /Cannot read index\.json in .*damaged: it is not valid JSON/);
    oneLine(await runCli(['serve', '--index', index, '--redis', 'redis://127.0.0.1:1', '--insecure']), /^imgsim: --redis applies to imgsim serve without --index/);
    oneLine(await runCli(['serve', '--index', index, '--qdrant', 'http://127.0.0.1:1', '--artifacts', 'file:///tmp/x', '--insecure']), /--qdrant, --artifacts apply to imgsim serve without --index/);
    // Exposed without credentials: refused before anything loads.
    oneLine(await runCli(['serve', '--index', index, '--host', '0.0.0.0']), /IMGSIM_BASIC_AUTH|IMGSIM_API_TOKEN/);
  });
});
