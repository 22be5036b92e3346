// The web app in headless Chromium against `imgsim serve` on the queued pipeline: a real
// Redis, S3 server process and the Qdrant emulator, every stage's worker process, a
// bucket of generated collages with edited copies and one file that is not an image. The
// browser watches a run's progress move while the workers process it, reads the failed
// file's reason on the run page and retries it, searches from a thumbnail, opens the map
// once the cluster job has written it, and starts a duplicates pass from the Duplicates
// page, then marks a pair "not a duplicate" (gone after a reload). Screenshots of each
// page (support/browser.ts: IMGSIM_SCREENSHOTS=docs/images) are the README's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../shared/config/index.js';
import { renderCollage } from '../../shared/images/collage.js';
import { makeDuplicate } from '../../shared/images/edits.js';
import { STAGES } from '../../shared/jobs/contracts.js';
import { silentLogger } from '../../shared/logger.js';
import { createRng } from '../../shared/random.js';
import { connectServices, type Services } from '../../shared/services.js';
import { openS3Storage } from '../../shared/storage/s3/index.js';
import { buildServer } from '../../workers/server/app.js';
import { jsonOf, runCli } from '../support/cli.js';
import { startPipelineStack, type PipelineStack } from '../support/pipeline-stack.js';
import { startWorkers, type WorkerPool } from '../support/workers.js';
import { browserSkip, imagesDecoded, launchBrowser, requireWebBuild, screenshot } from './support/browser.js';

const USER = 'operator';
const PASSWORD = 'queued-pass-123';
const DATASET = 'collages';

// The page's globals, as the browser evaluates them (tests are type-checked without the DOM library).
declare const window: { __imgsimMap?: { points: number; keyOf(i: number): string | undefined; screenPosition(i: number): [number, number] | undefined } };
declare const location: { hash: string };
declare const document: { querySelector(selector: string): { getAttribute(name: string): string | null; textContent: string | null } | null };

const skip = browserSkip();
if (skip) {
  process.stderr.write(`test/e2e/web-app-queued.test.ts: skipped: ${skip}\n`);
  test('web app (queued datasets) in headless Chromium', { skip }, () => undefined);
} else {
  describe('web app (imgsim serve, queued pipeline) in headless Chromium', browserTests);
}

function browserTests(): void {
  const cleanups: Array<() => Promise<unknown>> = [];
  let stack: PipelineStack;
  let workers: WorkerPool;
  let services: Services;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let page: Page;
  let runId: string;
  const errors: string[] = [];

  before(async () => {
    requireWebBuild();
    stack = await startPipelineStack({ IMGSIM_JOB_BATCH_SIZE: '8', IMGSIM_TRAIN_SAMPLE: '64' });
    cleanups.push(() => stack.stop());
    const src = await openS3Storage('s3://imgsim-src/photos/', stack.s3cfg);
    const rng = createRng(21);
    const originals = await Promise.all(Array.from({ length: 100 }, (_, i) => renderCollage(256, 900 + i)));
    for (const [i, bytes] of originals.entries()) await src.put(`c${String(i).padStart(2, '0')}.png`, bytes);
    for (const [i, kind] of [[1, 'rotate'], [2, 'crop'], [3, 'exact'], [4, 'brightness']] as const) {
      await src.put(`edits/c${String(i).padStart(2, '0')}-${kind}.jpg`, await makeDuplicate(originals[i] as Buffer, kind, rng));
    }
    await src.put('broken/notes.jpg', Buffer.from('this is not an image'));
    const config = loadConfig({ ...stack.env, IMGSIM_BASIC_AUTH: `${USER}:${PASSWORD}`, IMGSIM_LOG_LEVEL: 'silent' });
    services = await connectServices(config, silentLogger);
    cleanups.push(() => services.close());
    app = await buildServer(services);
    cleanups.push(() => app.close());
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD }, viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  test('runs: a run\'s progress moves while the workers process it; the failed file\'s reason; retry failed', async () => {
    const enq = await runCli(['enqueue', 's3://imgsim-src/photos', '--dataset', DATASET, '--train', '--json'], stack.env);
    assert.equal(enq.code, 0, enq.stderr);
    runId = jsonOf<{ id: string }>(enq).id;
    await page.goto(`${url}/#/runs`);
    await page.getByTestId('run-row').first().waitFor();
    const progress = page.locator(`[data-testid=run-row][data-run="${runId}"] [data-testid=run-progress]`);
    // The workers start now. On this machine the whole run can take less than the page's 2 s
    // polling interval, so once the API shows part of it done every worker is frozen
    // (SIGSTOP) until the page has shown that partial count, then resumed (SIGCONT).
    const seen = new Set<number>();
    const see = async (): Promise<void> => {
      const done = Number((await progress.getAttribute('data-done')) ?? 'NaN');
      if (Number.isFinite(done)) seen.add(done);
    };
    await see();
    workers = startWorkers(stack.env, STAGES);
    cleanups.push(() => workers.stop());
    const signalAll = (signal: NodeJS.Signals): void => {
      for (const stage of STAGES) {
        const pid = workers.pid(stage);
        if (pid !== undefined) process.kill(pid, signal);
      }
    };
    const auth = { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };
    let frozen: { done: number; failed: number; total: number } | undefined;
    for (const deadline = Date.now() + 180_000; !frozen && Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
      const { run } = (await (await fetch(`${url}/v1/runs/${runId}?failuresLimit=1`, { headers: auth })).json()) as { run: { done: number; failed: number; total: number } };
      if (run.done > 0 && run.done + run.failed < run.total) {
        signalAll('SIGSTOP');
        frozen = run;
      }
    }
    assert.ok(frozen, `the run never showed partial progress\n${workers.logs().slice(-2000)}`);
    try {
      await page.waitForFunction((sel) => Number(document.querySelector(sel)?.getAttribute('data-done')) > 0, `[data-testid=run-row][data-run="${runId}"] [data-testid=run-progress]`, { timeout: 15_000 });
      await see();
      await screenshot(page, 'web-runs'); // a run under way
    } finally {
      signalAll('SIGCONT');
    }
    for (const deadline = Date.now() + 240_000; Date.now() < deadline; await page.waitForTimeout(250)) {
      await see();
      const status = await page.locator(`[data-testid=run-row][data-run="${runId}"] [data-testid=run-status]`).innerText();
      if (/completed|failed/.test(status)) break;
    }
    assert.ok(seen.size >= 2, `the progress moved: ${[...seen].join(' → ')}\n${workers.logs().slice(-2000)}`);
    assert.match(await page.locator(`[data-testid=run-row][data-run="${runId}"] [data-testid=run-status]`).innerText(), /completed/);
    assert.equal(Number(await progress.getAttribute('data-failed')), 1);

    await page.goto(`${url}/#/runs/${runId}`);
    await page.getByTestId('failure-row').first().waitFor();
    assert.match(await page.getByTestId('failure-row').first().innerText(), /broken\/notes\.jpg/);
    assert.match(await page.getByTestId('failure-reason').first().innerText(), /unsupported-format/);
    await screenshot(page, 'web-run');
    await page.getByTestId('retry-failed').click();
    await page.getByTestId('retry-result').waitFor();
    assert.match(await page.getByTestId('retry-result').innerText(), /1/);
  });

  test('search from a thumbnail of the datasets page, then from a result', async () => {
    await page.goto(`${url}/#/datasets`);
    await page.locator(`[data-testid=dataset-row][data-dataset=${DATASET}]`).waitFor();
    const points = page.locator(`[data-testid=dataset-row][data-dataset=${DATASET}] [data-testid=dataset-points]`);
    await page.waitForFunction((sel) => /^\d/.test(document.querySelector(sel)?.textContent ?? ''), `[data-testid=dataset-row][data-dataset=${DATASET}] [data-testid=dataset-points]`);
    assert.equal(await points.innerText(), '104', 'the 104 images (the text file failed)');
    await screenshot(page, 'web-datasets');
    await page.goto(`${url}/#/search/${DATASET}?key=c01.png`);
    await page.getByTestId('result-item').first().waitFor();
    assert.ok((await imagesDecoded(page, '[data-testid=result-item] img')) >= 5);
    await page.getByTestId('rerank-toggle').check();
    await page.getByTestId('result-inliers').first().waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('result-item').first().getAttribute('data-key'), 'edits/c01-rotate.jpg', 'local features put the rotated copy first');
    await imagesDecoded(page, '[data-testid=result-item] img');
    await screenshot(page, 'web-search');
    const next = page.getByTestId('result-item').nth(2);
    const key = (await next.getAttribute('data-key')) ?? '';
    await next.getByTestId('thumb-link').click();
    await page.waitForFunction((k) => decodeURIComponent(location.hash).includes(`key=${k}`), key);
    await page.waitForFunction((k) => document.querySelector('[data-testid=result-item]')?.getAttribute('data-key') !== k, key);
  });

  test('map: the cluster job\'s map, hover and click a point', async () => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = await app.inject({ method: 'GET', url: `/v1/datasets/${DATASET}/clusters`, headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` } });
      if (r.statusCode === 200) break;
      if (Date.now() > deadline) throw new Error(`no map: ${r.body}\n${workers.logs().slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await page.goto(`${url}/#/map/${DATASET}`);
    await page.waitForFunction(() => (window.__imgsimMap?.points ?? 0) > 0, undefined, { timeout: 30_000 }).catch(async (error: unknown) => {
      throw new Error(`the map did not draw: ${(await page.innerText('body')).slice(0, 600)}`, { cause: error });
    });
    assert.equal(await page.evaluate(() => window.__imgsimMap?.points), 104, 'every indexed image on the map');
    const box = await page.getByTestId('map-canvas').boundingBox();
    const at = await page.evaluate(() => ({ pos: window.__imgsimMap?.screenPosition(5), key: window.__imgsimMap?.keyOf(5) }));
    assert.ok(box && at.pos && at.key);
    await page.mouse.move(box.x + at.pos[0], box.y + at.pos[1]);
    await page.getByTestId('map-tooltip').locator('img').waitFor();
    await imagesDecoded(page, '[data-testid=map-tooltip] img');
    await screenshot(page, 'web-map');
    await page.mouse.click(box.x + at.pos[0], box.y + at.pos[1]);
    // The point under the cursor (another may lie on top of point 5 on a crowded map).
    await page.waitForFunction(() => location.hash.startsWith('#/search/') && location.hash.includes('key='));
    await page.getByTestId('result-item').first().waitFor();
  });

  test('duplicates: a pass started from the page; groups with keepers; "not a duplicate" stays gone', async () => {
    await page.goto(`${url}/#/duplicates/${DATASET}`);
    await page.getByTestId('find-duplicates').click();
    await page.getByTestId('duplicate-group').first().waitFor({ timeout: 180_000 });
    const groups = await page.getByTestId('duplicate-group').count();
    assert.equal(groups, 4, 'each original with its copy');
    await imagesDecoded(page, '[data-testid=group-member] img');
    await screenshot(page, 'web-duplicates');
    const pair = page.getByTestId('pair-row').first();
    const [a, b] = [await pair.getAttribute('data-a'), await pair.getAttribute('data-b')];
    await pair.getByTestId('dismiss').click();
    const row = `[data-testid=pair-row][data-a="${a}"][data-b="${b}"]`;
    await page.waitForFunction((sel) => document.querySelector(sel) === null, row);
    await page.reload();
    await page.getByTestId('duplicate-group').first().waitFor();
    assert.equal(await page.locator(row).count(), 0, 'dismissed for good');
    assert.equal(await page.getByTestId('duplicate-group').count(), 3);
    assert.deepEqual(errors, [], 'no page errors');
    assert.equal(stack.qdrantErrors(), 0);
  });
}
