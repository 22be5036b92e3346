// The web app in headless Chromium against `imgsim serve --index` (the local server): a
// real index (generated collages and edited copies, trained and embedded by `imgsim run`,
// its duplicates found by `imgsim duplicates --index`), served with basic auth as a user
// would run it. The browser is refused without credentials; with them it loads each page,
// searches by upload and by clicking a result, re-ranks by local features, zooms the map,
// hovers and clicks a point, lists a cluster, marks a pair "not a duplicate" (gone after a
// reload), and the thumbnail endpoint refuses traversal and a non-image. A second map of
// 50,000 points prints its frame time and click latency. Screenshots: support/browser.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { loadConfig } from '../../shared/config/index.js';
import { generateCollageDataset } from '../../shared/images/collage.js';
import { silentLogger } from '../../shared/logger.js';
import { initBackend } from '../../shared/model/backend.js';
import { buildLocalServer } from '../../workers/server/local/local-app.js';
import { openLocalDataset } from '../../workers/server/local/local-dataset.js';
import { runCli } from '../support/cli.js';
import { browserSkip, imagesDecoded, launchBrowser, requireWebBuild, screenshot } from './support/browser.js';

const USER = 'viewer';
const PASSWORD = 'local-pass-123';
const SMALL = ['--size', '32', '--filters', '8,16,32', '--epochs', '2', '--batch', '16', '--tsne-iterations', '250'];

// The page's globals, as the browser evaluates them (tests are type-checked without the DOM library).
declare const window: { __imgsimMap?: { points: number; keyOf(i: number): string | undefined; screenPosition(i: number): [number, number] | undefined; measureFrames(n?: number): Promise<{ msPerFrame: number; p95: number; max: number; webgl: string }> } };
declare const location: { hash: string };
declare const document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };

const skip = browserSkip();
if (skip) {
  process.stderr.write(`test/e2e/web-app-local.test.ts: skipped: ${skip}\n`);
  test('web app (local index) in headless Chromium', { skip }, () => undefined);
} else {
  describe('web app (imgsim serve --index) in headless Chromium', browserTests);
}

async function serve(index: string): Promise<{ app: FastifyInstance; url: string; dataset: string }> {
  const config = loadConfig({ IMGSIM_BASIC_AUTH: `${USER}:${PASSWORD}`, IMGSIM_SERVER_PORT: '0' });
  const ds = await openLocalDataset(index, silentLogger);
  const app = await buildLocalServer(ds, config, silentLogger);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: address, dataset: ds.name };
}

function browserTests(): void {
  let dir: string;
  let index: string;
  let server: { app: FastifyInstance; url: string; dataset: string };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    requireWebBuild();
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-web-local-'));
    const data = path.join(dir, 'photos');
    index = path.join(dir, 'photos-run');
    await generateCollageDataset(path.join(data, 'collages'), { count: 24, size: 200, seed: 11 });
    await mkdir(path.join(data, 'copies'), { recursive: true });
    for (const i of [0, 5, 9]) {
      const name = `collage-${String(i).padStart(4, '0')}`;
      const original = await readFile(path.join(data, 'collages', `${name}.png`));
      await writeFile(path.join(data, 'copies', `${name}-rotated.jpg`), await sharp(original).rotate(20, { background: '#fff' }).jpeg({ quality: 70 }).toBuffer());
      await writeFile(path.join(data, 'copies', `${name}-small.jpg`), await sharp(original).resize(120).jpeg({ quality: 40 }).toBuffer());
    }
    const run = await runCli(['run', data, '--out', index, ...SMALL, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const dup = await runCli(['duplicates', '--index', index, '--json']);
    assert.equal(dup.code, 0, dup.stderr);
    await initBackend(loadConfig({}).backend, silentLogger);
    server = await serve(index);
    browser = await launchBrowser();
    context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD }, viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
  });

  after(async () => {
    await browser?.close();
    await server?.app.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a browser without credentials gets 401 (and a basic-auth challenge)', async () => {
    const anonymous = await browser.newContext();
    try {
      // Chromium answers a basic-auth challenge it cannot meet with a navigation error.
      const outcome = await (await anonymous.newPage()).goto(`${server.url}/`).then(
        (response) => `status ${response?.status()}`,
        (error: unknown) => String(error),
      );
      assert.match(outcome, /status 401|ERR_INVALID_AUTH_CREDENTIALS/);
      for (const url of ['/', '/v1/app', `/v1/datasets/${server.dataset}/thumbnail?key=collages%2Fcollage-0000.png`]) {
        const refused = await anonymous.request.get(server.url + url);
        assert.equal(refused.status(), 401, url);
        assert.match(refused.headers()['www-authenticate'] ?? '', /^Basic /);
      }
    } finally {
      await anonymous.close();
    }
  });

  test('datasets: the index folder as one dataset, no runs page in local mode', async () => {
    await page.goto(`${server.url}/#/datasets`);
    await page.getByTestId('page-datasets').waitFor();
    assert.equal(await page.getByTestId('mode').getAttribute('data-mode'), 'local');
    await page.getByTestId('dataset-facts').waitFor();
    assert.equal(await page.getByTestId('dataset-points').innerText(), '30', 'the 30 indexed images');
    assert.equal(await page.getByTestId('nav-runs').count(), 0);
  });

  test('search by upload, then by clicking a result; re-rank by local features', async () => {
    await page.goto(`${server.url}/#/search/${server.dataset}`);
    await page.getByTestId('file-input').setInputFiles(path.join(dir, 'photos', 'collages', 'collage-0005.png'));
    await page.getByTestId('result-item').first().waitFor();
    const first = await page.getByTestId('result-item').first().getAttribute('data-key');
    assert.equal(first, 'collages/collage-0005.png', 'the uploaded image itself first');
    assert.ok((await imagesDecoded(page, '[data-testid=result-item] img')) >= 5);
    assert.match(await page.getByTestId('result-score').first().innerText(), /\d/);
    // Click another result: the search runs from that key.
    const second = page.getByTestId('result-item').nth(1);
    const key = (await second.getAttribute('data-key')) ?? '';
    await second.getByTestId('thumb-link').click();
    await page.waitForFunction((k) => decodeURIComponent(location.hash).includes(`key=${k}`), key);
    await page.getByTestId('query-image').waitFor();
    await page.waitForFunction((k) => document.querySelector('[data-testid=result-item]')?.getAttribute('data-key') !== k, key);
    // From the original: the rotated copy ranks first by local features.
    await page.goto(`${server.url}/#/search/${server.dataset}?key=${encodeURIComponent('collages/collage-0000.png')}`);
    await page.getByTestId('result-item').first().waitFor();
    await page.getByTestId('rerank-toggle').check();
    await page.getByTestId('result-inliers').first().waitFor({ timeout: 60_000 });
    const top = await page.getByTestId('result-item').first().getAttribute('data-key');
    assert.match(top ?? '', /^copies\/collage-0000-/, `re-ranked first: ${top}`);
    await imagesDecoded(page, '[data-testid=result-item] img');
  });

  test('map: zoom, hover shows a thumbnail, click opens the neighbours, a legend entry lists a cluster', async () => {
    await page.goto(`${server.url}/#/map/${server.dataset}`);
    await page.getByTestId('map-canvas').waitFor();
    await page.waitForFunction(() => (window.__imgsimMap?.points ?? 0) > 0);
    const canvas = page.getByTestId('map-canvas');
    const box = await canvas.boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -300); // zoom in
    await page.waitForTimeout(300);
    await page.mouse.wheel(0, 300);
    await page.waitForTimeout(300);
    await page.getByTestId('legend-entry').first().click();
    await page.getByTestId('selection-item').first().waitFor();
    assert.match(await page.getByTestId('selection-count').innerText(), /\d/);
    // Hover a point, as a person does before clicking it: its thumbnail shows; then click it
    // where it is now (read after the zoom and the selection have settled).
    const at = await page.evaluate(() => ({ pos: window.__imgsimMap?.screenPosition(3), key: window.__imgsimMap?.keyOf(3) }));
    assert.ok(at.pos && at.key, 'point 3 is on screen');
    await page.mouse.move(box.x + at.pos[0], box.y + at.pos[1]);
    await page.waitForFunction((k) => document.querySelector('[data-testid=map-tooltip]')?.getAttribute('data-key') === k, at.key, { polling: 100 });
    await imagesDecoded(page, '[data-testid=map-tooltip] img');
    await page.mouse.down();
    await page.mouse.up();
    await page
      .waitForFunction((k) => location.hash.startsWith('#/search/') && decodeURIComponent(location.hash).includes(`key=${k}`), at.key, { polling: 100, timeout: 15_000 })
      .catch(async (error: unknown) => {
        const state = await page.evaluate(() => ({ hash: location.hash, tooltip: document.querySelector('[data-testid=map-tooltip]')?.getAttribute('data-key'), now: window.__imgsimMap?.screenPosition(3) }));
        throw new Error(`a click on point 3 (${at.key}) at ${at.pos?.join(', ')} did not open its neighbours: ${JSON.stringify(state)}`, { cause: error });
      });
    await page.getByTestId('result-item').first().waitFor();
  });

  test('duplicates: groups with their keeper; "not a duplicate" stays gone after a reload', async () => {
    await page.goto(`${server.url}/#/duplicates/${server.dataset}`);
    await page.getByTestId('duplicate-group').first().waitFor();
    assert.ok((await page.getByTestId('duplicate-group').count()) >= 3, 'the three families');
    assert.equal(await page.locator('[data-testid=group-member][data-keeper=true]').count(), await page.getByTestId('duplicate-group').count(), 'one keeper a group');
    await imagesDecoded(page, '[data-testid=group-member] img');
    const pair = page.getByTestId('pair-row').first();
    const [a, b] = [await pair.getAttribute('data-a'), await pair.getAttribute('data-b')];
    await pair.getByTestId('dismiss').click();
    const row = `[data-testid=pair-row][data-a="${a}"][data-b="${b}"]`;
    await page.waitForFunction((sel) => document.querySelector(sel) === null, row);
    await page.reload();
    await page.getByTestId('duplicate-group').first().waitFor();
    assert.equal(await page.locator(row).count(), 0, 'dismissed for good');
  });

  test('the thumbnail endpoint refuses traversal and a non-image', async () => {
    const base = `${server.url}/v1/datasets/${server.dataset}/thumbnail?key=`;
    const traversal = await context.request.get(base + encodeURIComponent('../photos-run/index.json'));
    assert.equal(traversal.status(), 400);
    assert.match(((await traversal.json()) as { message: string }).message, /^query\.key: /);
    // An indexed key whose file is now text.
    await writeFile(path.join(dir, 'photos', 'collages', 'collage-0023.png'), 'not an image any more');
    const text = await context.request.get(base + encodeURIComponent('collages/collage-0023.png'));
    assert.equal(text.status(), 415);
    assert.deepEqual(errors, [], 'no page errors');
  });

  test('a map of 50,000 points stays responsive (prints frame time and click latency)', async () => {
    // The same index folder with a clusters.json of 50,000 points (the map reads only it).
    const big = path.join(dir, 'big-map');
    await cp(index, big, { recursive: true });
    const points: Record<string, { x: number; y: number; label: number }> = {};
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 50_000; i++) {
      const c = i % 40;
      points[`synthetic/${i}.jpg`] = { x: Math.cos(c) * 30 + (rand() - 0.5) * 8, y: Math.sin(c * 1.7) * 30 + (rand() - 0.5) * 8, label: c };
    }
    const clusters = JSON.parse(await readFile(path.join(index, 'clusters.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(big, 'clusters.json'), JSON.stringify({ ...clusters, k: 40, count: 50_000, points }));
    const bigServer = await serve(big);
    try {
      const t0 = Date.now();
      await page.goto(`${bigServer.url}/#/map/${bigServer.dataset}`);
      await page.waitForFunction(() => (window.__imgsimMap?.points ?? 0) === 50_000, undefined, { timeout: 60_000 });
      const loadMs = Date.now() - t0;
      await screenshot(page, 'web-map-50k');
      const frames = await page.evaluate(() => window.__imgsimMap?.measureFrames(30));
      assert.ok(frames);
      const box = await page.getByTestId('map-canvas').boundingBox();
      const pos = await page.evaluate(() => window.__imgsimMap?.screenPosition(12_345));
      assert.ok(box && pos);
      const t1 = Date.now();
      await page.mouse.click(box.x + pos[0], box.y + pos[1]);
      await page.waitForFunction(() => location.hash.startsWith('#/search/'));
      const clickMs = Date.now() - t1;
      process.stdout.write(
        `map of 50,000 points: loaded in ${loadMs} ms; ${frames.msPerFrame.toFixed(1)} ms a frame while zooming (p95 ${frames.p95.toFixed(1)}, max ${frames.max.toFixed(1)}; ${frames.webgl}); click → neighbours page ${clickMs} ms\n`,
      );
      assert.ok(frames.msPerFrame < 2000, `${frames.msPerFrame} ms a frame: the map hangs`);
    } finally {
      await bigServer.app.close();
    }
  });
}
