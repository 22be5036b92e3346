// The web app's server side (issue 14) on the real stack (Redis, S3 server, Qdrant
// emulator): the built app at / and /assets/ behind the API's authentication, a 503 saying
// to build it when it is missing, and thumbnails of a dataset's images
// (GET /v1/datasets/{name}/thumbnail): WebP within size, ETag → 304, 404 for keys not in
// the dataset or gone from the source, 400 for keys leaving the source, 415 for an object
// that is not an image, 413 over the pixel limit; GET /v1/app, GET /v1/schedules and
// POST …/features with JSON {key}; `imgsim serve` with only a bearer token warns that a
// browser cannot open the app, and its listening line names the app's URL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Schedules } from '../../../shared/queue/schedules.js';
import type { Storage } from '../../../shared/storage/types.js';
import { loadConfig } from '../../../shared/config/index.js';
import { browserAuthWarning } from '../../../workers/server/auth.js';
import { buildServer } from '../../../workers/server/app.js';
import { ROOT } from '../../support/cli.js';
import { killChild, trackChild } from '../../support/server-processes.js';
import { basicHeader, bearerHeader, seedDataset, startStack, TOKEN, type SeededDataset, type Stack } from './helpers.js';

interface ErrorBody {
  statusCode: number;
  message: string;
  issues?: Array<{ field: string; message: string }>;
}

const INDEX_HTML = '<!doctype html><html><head><title>imgsim</title><script type="module" src="./assets/main-AB12CD.js"></script></head><body></body></html>\n';
const ASSET = 'console.log("imgsim");\n';

describe('web app and thumbnails', () => {
  let stack: Stack;
  let ds: SeededDataset;
  let webDir = '';
  let source: Storage;
  const BIG = 'big/photo.jpg';
  const thumb = (key: string, extra = '', name = 'photos'): Promise<Response> =>
    stack.api(`/v1/datasets/${name}/thumbnail?key=${encodeURIComponent(key)}${extra}`);

  before(async () => {
    const root = await mkdtemp(join(tmpdir(), 'imgsim-web-'));
    webDir = join(root, 'web');
    await mkdir(join(webDir, 'assets', 'sub'), { recursive: true });
    await writeFile(join(webDir, 'index.html'), INDEX_HTML);
    await writeFile(join(webDir, 'assets', 'main-AB12CD.js'), ASSET);
    await writeFile(join(webDir, 'assets', 'sub', 'x.css'), 'body{}');
    await writeFile(join(webDir, 'assets', '.hidden'), 'secret');
    await writeFile(join(root, 'outside.txt'), 'outside the app');
    stack = await startStack({}, { webDir });
    ds = await seedDataset(stack.services, 'photos');
    // The source the dataset record names, with its images and one larger photo indexed too.
    await stack.s3.createBucket('imgsim-src');
    source = await stack.services.openSource('s3://imgsim-src/photos/');
    for (const [key, bytes] of ds.images) await source.put(key, bytes);
    const record = await stack.services.runs.getDataset('photos');
    assert.ok(record);
    await source.put(BIG, await sharp({ create: { width: 300, height: 200, channels: 3, background: '#2060c0' } }).jpeg().toBuffer());
    await stack.services.qdrant.upsert(record.collection, [
      { dataset: 'photos', key: BIG, vector: ds.vectors.get(ds.keys[0] as string) as Float32Array, payload: { etag: 'big-1', modelId: record.modelId, width: 300, height: 200 } },
    ]);
  });
  after(async () => {
    await stack.close();
    await rm(join(webDir, '..'), { recursive: true, force: true });
    assert.deepEqual(stack.emulator.errors, [], 'every Qdrant request conformed to the API schema');
  });

  describe('the app at / and /assets/', () => {
    test('GET / is index.html, revalidated on every load (no-cache, ETag → 304)', async () => {
      const r = await stack.api('/');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(r.headers.get('cache-control'), 'no-cache');
      assert.equal(await r.text(), INDEX_HTML);
      const etag = r.headers.get('etag') ?? '';
      assert.ok(etag.length > 2);
      const again = await stack.api('/', { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
      // A browser sends basic credentials.
      const browser = await fetch(`${stack.url}/`, { headers: { authorization: basicHeader } });
      assert.equal(browser.status, 200);
    });

    test('hashed assets are cached for a year as immutable; no listing, no dot files, nothing outside', async () => {
      const r = await stack.api('/assets/main-AB12CD.js');
      assert.equal(r.status, 200);
      assert.equal(await r.text(), ASSET);
      assert.match(r.headers.get('content-type') ?? '', /javascript/);
      const cc = r.headers.get('cache-control') ?? '';
      assert.match(cc, /max-age=31536000/);
      assert.match(cc, /immutable/);
      assert.equal((await stack.api('/assets/sub/x.css')).status, 200);
      for (const path of ['/assets/', '/assets/sub/', '/assets/sub', '/assets/.hidden', '/assets/missing.js', '/index.html']) {
        const res = await stack.api(path);
        assert.ok(res.status === 404 || res.status === 403, `${path}: ${res.status}`);
        assert.doesNotMatch(await res.text(), /secret|main-AB12CD/, path);
      }
      // fetch() normalises "..": send raw paths through inject.
      for (const url of ['/assets/../outside.txt', '/assets/%2e%2e/outside.txt', '/assets/..%2f..%2foutside.txt', '/assets/%2e%2e%2findex.html', '/assets//etc/passwd']) {
        const res = await stack.app.inject({ method: 'GET', url, headers: { authorization: basicHeader } });
        assert.ok(res.statusCode === 404 || res.statusCode === 403 || res.statusCode === 400, `${url}: ${res.statusCode}`);
        assert.doesNotMatch(res.body, /outside the app|root:|<title>/, url);
      }
    });

    test('/, an asset and a thumbnail are 401 without credentials, with a Basic challenge (a browser prompts)', async () => {
      for (const path of ['/', '/assets/main-AB12CD.js', '/assets/missing.js', `/v1/datasets/photos/thumbnail?key=${encodeURIComponent(ds.keys[0] as string)}`]) {
        const r = await fetch(`${stack.url}${path}`);
        assert.equal(r.status, 401, path);
        assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm="imgsim"/, path);
        assert.doesNotMatch(await r.text(), /imgsim"\);|<title>/, path);
      }
    });

    test('without a build, GET / is 503 saying to run npm run build', async () => {
      const app = await buildServer(stack.services, { webDir: join(webDir, '..', 'not-built') });
      try {
        const r = await app.inject({ method: 'GET', url: '/', headers: { authorization: basicHeader } });
        assert.equal(r.statusCode, 503);
        const body = r.json<ErrorBody>();
        assert.match(body.message, /not built.*run `npm run build`/);
        assert.doesNotMatch(body.message, /\n/);
        assert.equal((await app.inject({ method: 'GET', url: '/assets/main-AB12CD.js', headers: { authorization: basicHeader } })).statusCode, 404);
      } finally {
        await app.close();
      }
    });
  });

  describe('thumbnails', () => {
    test('an indexed key: a WebP fitting inside size × size, private cache, ETag → 304', async () => {
      const r = await thumb(BIG, '&size=64');
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'image/webp');
      assert.equal(r.headers.get('cache-control'), 'private, max-age=300');
      const bytes = Buffer.from(await r.arrayBuffer());
      const meta = await sharp(bytes).metadata();
      assert.equal(meta.format, 'webp');
      assert.deepEqual([meta.width, meta.height], [64, 43]);
      const etag = r.headers.get('etag') ?? '';
      assert.match(etag, /^"[^"]+"$/);

      const cached = await thumb(BIG, '&size=64');
      assert.equal(cached.status, 200);
      assert.equal(cached.headers.get('etag'), etag);
      assert.deepEqual(Buffer.from(await cached.arrayBuffer()), bytes);

      const revalidated = await stack.api(`/v1/datasets/photos/thumbnail?key=${encodeURIComponent(BIG)}&size=64`, { headers: { 'if-none-match': `W/${etag}, "other"` } });
      assert.equal(revalidated.status, 304);
      assert.equal(revalidated.headers.get('etag'), etag);
      assert.equal((await revalidated.arrayBuffer()).byteLength, 0);

      // Default size 160: the 300×200 photo at 160×107; a 16×16 image is not enlarged.
      const dflt = await thumb(BIG);
      const m160 = await sharp(Buffer.from(await dflt.arrayBuffer())).metadata();
      assert.deepEqual([m160.width, m160.height], [160, 107]);
      assert.notEqual(dflt.headers.get('etag'), etag, 'another size, another ETag');
      const small = await thumb(ds.keys[1] as string, '&size=512');
      assert.equal(small.status, 200);
      const ms = await sharp(Buffer.from(await small.arrayBuffer())).metadata();
      assert.deepEqual([ms.format, ms.width, ms.height], ['webp', 16, 16]);
    });

    test('keys not in the dataset and unknown datasets are 404', async () => {
      await source.put('not-indexed.png', ds.images.get(ds.keys[0] as string) as Buffer);
      for (const key of ['nope.png', 'not-indexed.png']) {
        const r = await thumb(key);
        assert.equal(r.status, 404, key);
        assert.match((await r.json() as ErrorBody).message, new RegExp(`query\\.key: "${key.replace('.', '\\.')}" is not an image of dataset "photos"`));
      }
      const unknown = await thumb(ds.keys[0] as string, '', 'nope');
      assert.equal(unknown.status, 404);
      assert.match((await unknown.json() as ErrorBody).message, /Dataset "nope" not found/);
    });

    test('keys leaving the source are 400 naming query.key, before any lookup; size outside 32..512 is 400 naming query.size', async () => {
      for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a\\b', 'a\0b', 'C:/Windows/win.ini', '']) {
        for (const dataset of ['photos', 'nope']) {
          const r = await thumb(key, '', dataset);
          assert.equal(r.status, 400, `${JSON.stringify(key)} in ${dataset}`);
          const body = (await r.json()) as ErrorBody;
          assert.match(body.message, /^query\.key: /, body.message);
          assert.deepEqual(body.issues?.map((i) => i.field), ['query.key']);
          assert.doesNotMatch(body.message, /\n/);
        }
      }
      for (const size of ['16', '513', 'abc', '100.5']) {
        const r = await thumb(ds.keys[0] as string, `&size=${size}`);
        assert.equal(r.status, 400, size);
        assert.match(((await r.json()) as ErrorBody).message, /^query\.size: /);
      }
      const missing = await stack.api('/v1/datasets/photos/thumbnail');
      assert.equal(missing.status, 400);
      assert.match(((await missing.json()) as ErrorBody).message, /query\.key/);
      const extra = await thumb(ds.keys[0] as string, '&width=3');
      assert.equal(extra.status, 400);
    });

    test('an indexed key whose object is not an image is 415 naming it; one gone from the source is 404', async () => {
      const key = ds.keys[4] as string;
      await source.put(key, 'just some text, not a PNG\n');
      const r = await thumb(key);
      assert.equal(r.status, 415);
      const message = ((await r.json()) as ErrorBody).message;
      assert.match(message, new RegExp(`"${key.replace('.', '\\.')}"`));
      assert.match(message, /not an image/);

      const gone = ds.keys[5] as string;
      await source.delete(gone);
      const g = await thumb(gone);
      assert.equal(g.status, 404);
      assert.match(((await g.json()) as ErrorBody).message, /gone from its source s3:\/\/imgsim-src\/photos/);
    });

    test('an image over IMGSIM_MAX_PIXELS is 413', async () => {
      const app = await buildServer({ ...stack.services, config: { ...stack.config, maxPixels: 10_000 } });
      try {
        const r = await app.inject({ method: 'GET', url: `/v1/datasets/photos/thumbnail?key=${encodeURIComponent(BIG)}`, headers: { authorization: basicHeader } });
        assert.equal(r.statusCode, 413);
        assert.match(r.json<ErrorBody>().message, /big\/photo\.jpg.*pixel/);
        const ok = await app.inject({ method: 'GET', url: `/v1/datasets/photos/thumbnail?key=${encodeURIComponent(ds.keys[0] as string)}`, headers: { authorization: basicHeader } });
        assert.equal(ok.statusCode, 200, '16×16 is under the limit');
      } finally {
        await app.close();
      }
    });
  });

  describe('app info, schedules, features by key', () => {
    const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const features = (body: unknown, name = 'photos'): Promise<Response> => stack.api(`/v1/datasets/${name}/features`, json(body));

    test('GET /v1/app: queued mode, every page, the thumbnail sizes; 401 without credentials', async () => {
      const r = await stack.api('/v1/app');
      assert.equal(r.status, 200);
      const body = (await r.json()) as Record<string, unknown>;
      assert.deepEqual(body, { mode: 'queued', version: body.version, pages: ['datasets', 'runs', 'search', 'map', 'duplicates'], thumbnailSizes: { default: 160, max: 512 } });
      assert.match(String(body.version), /^\d+\.\d+\.\d+/);
      const anonymous = await fetch(`${stack.url}/v1/app`);
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic /);
    });

    test('GET /v1/schedules lists the schedules with their next fire time', async () => {
      assert.deepEqual(await (await stack.api('/v1/schedules')).json(), { schedules: [] });
      const schedules = new Schedules(stack.services.redis, stack.config.queuePrefix);
      try {
        await schedules.upsert({ schedule: 'nightly-photos', dataset: 'photos', source: 's3://imgsim-src/photos/', mode: 'missing', cron: '0 3 * * *', tz: 'Europe/Paris' });
      } finally {
        await schedules.close();
      }
      const r = await stack.api('/v1/schedules');
      assert.equal(r.status, 200);
      const body = (await r.json()) as { schedules: Array<Record<string, unknown>> };
      assert.equal(body.schedules.length, 1);
      const [s] = body.schedules;
      assert.deepEqual({ ...s, next: undefined }, { schedule: 'nightly-photos', dataset: 'photos', source: 's3://imgsim-src/photos/', mode: 'missing', cron: '0 3 * * *', tz: 'Europe/Paris', iterations: 0, next: undefined });
      assert.ok(Date.parse(String(s?.next)) > Date.now(), `next: ${String(s?.next)}`);
    });

    test('POST …/features with JSON {key}: the indexed image is the query, left out of its neighbours', async () => {
      const key = ds.keys[2] as string;
      const r = await features({ key, k: 3, candidates: 8 });
      assert.equal(r.status, 200);
      const body = (await r.json()) as { dataset: string; method: string; queryKeypoints: number; neighbors: Array<{ rank: number; key: string; score: number }> };
      assert.equal(body.dataset, 'photos');
      assert.equal(body.method, 'match');
      assert.ok(body.queryKeypoints > 0);
      assert.equal(body.neighbors.length, 3);
      assert.ok(body.neighbors.every((n) => n.key !== key), 'the query key is left out');
      assert.deepEqual(body.neighbors.map((n) => n.rank), [1, 2, 3]);
      const ref = await features({ key, method: 'reference', k: 2 });
      assert.equal(ref.status, 200);
      assert.equal(((await ref.json()) as { neighbors: unknown[] }).neighbors.length, 2);
    });

    test('features by key: 404 not indexed or gone, 400 naming body.key or another field, 415 not an image, 415 neither JSON nor multipart', async () => {
      const notIndexed = await features({ key: 'not-indexed.png' });
      assert.equal(notIndexed.status, 404);
      assert.match(((await notIndexed.json()) as ErrorBody).message, /^body\.key: "not-indexed\.png" is not an image of dataset "photos"/);
      const gone = await features({ key: ds.keys[5] as string });
      assert.equal(gone.status, 404);
      assert.match(((await gone.json()) as ErrorBody).message, /gone from its source/);
      const text = await features({ key: ds.keys[4] as string });
      assert.equal(text.status, 415);
      assert.match(((await text.json()) as ErrorBody).message, /^body\.key: /);
      for (const [body, field] of [
        [{ key: '../etc/passwd' }, 'body.key'],
        [{ key: '/etc/passwd' }, 'body.key'],
        [{}, 'body.key'],
        [{ key: ds.keys[0], k: 0 }, 'body.k'],
        [{ key: ds.keys[0], method: 'sift' }, 'body.method'],
        [{ key: ds.keys[0], vector: [1] }, 'body'],
      ] as const) {
        const r = await features(body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(((await r.json()) as ErrorBody).message, new RegExp(`^${field.replace('.', '\\.')}`), JSON.stringify(body));
      }
      assert.equal((await features({ key: ds.keys[0] }, 'nope')).status, 404);
      const plain = await stack.api('/v1/datasets/photos/features', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
      assert.equal(plain.status, 415);
    });
  });

  describe('imgsim serve start-up', () => {
    test('only IMGSIM_API_TOKEN: one warning that a browser needs IMGSIM_BASIC_AUTH; the listening line names the app URL', async () => {
      assert.equal(browserAuthWarning(loadConfig({ IMGSIM_API_TOKEN: TOKEN, IMGSIM_BASIC_AUTH: 'a:b' })), undefined);
      assert.equal(browserAuthWarning(loadConfig({ IMGSIM_BASIC_AUTH: 'a:b' })), undefined);
      const c = stack.config;
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('IMGSIM_') && v !== undefined) env[k] = v;
      Object.assign(env, {
        IMGSIM_REDIS_URL: c.redisUrl,
        IMGSIM_QDRANT_URL: c.qdrantUrl,
        IMGSIM_ARTIFACTS: c.artifacts,
        IMGSIM_S3_ENDPOINT: c.s3Endpoint,
        IMGSIM_S3_ACCESS_KEY_ID: stack.s3.accessKeyId,
        IMGSIM_S3_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
        IMGSIM_API_TOKEN: TOKEN,
        IMGSIM_LOG_LEVEL: 'info',
        IMGSIM_LOG_FORMAT: 'json',
      });
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'imgsim.js'), 'serve', '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      trackChild(child);
      try {
        let stderr = '';
        const lines = (): Array<{ level: number; msg: string; app?: string; url?: string }> =>
          stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; app?: string; url?: string });
        const listening = await new Promise<{ msg: string; app?: string; url?: string }>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no listening line in 90 s:\n${stderr}`)), 90_000);
          child.stderr.on('data', (d: Buffer) => {
            stderr += d.toString();
            const line = lines().find((l) => /listening on/.test(l.msg));
            if (line) {
              clearTimeout(timer);
              resolve(line);
            }
          });
          child.once('exit', (code) => reject(new Error(`imgsim serve exited (${code}):\n${stderr}`)));
        });
        const warnings = lines().filter((l) => l.level === 40 && /browser/.test(l.msg));
        assert.equal(warnings.length, 1, stderr);
        assert.match(warnings[0]?.msg ?? '', /IMGSIM_BASIC_AUTH=user:password/);
        assert.match(warnings[0]?.msg ?? '', /web app at \//);
        const url = listening.url ?? '';
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(listening.app, `${url}/`);
        assert.ok(listening.msg.includes(`${url}/`), listening.msg);
        const app = await fetch(`${url}/v1/app`, { headers: { authorization: bearerHeader } });
        assert.equal(app.status, 200);
        assert.equal(((await app.json()) as { mode: string }).mode, 'queued');
      } finally {
        await killChild(child);
      }
    });
  });
});
