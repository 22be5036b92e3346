// Bull Board in a real browser: headless Chromium (Debian's package, driven by
// playwright-core) opens /admin/queues through the server with basic auth, sees the six
// imgsim queues, and reads the reason of a job a real stage worker failed (an invalid
// payload). Skipped, saying why, where Chromium is not installed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';
import { STAGES } from '../../shared/jobs/contracts.js';
import { silentLogger } from '../../shared/logger.js';
import { connectRedis, createRedis } from '../../shared/queue/connection.js';
import { startStageWorker } from '../../shared/queue/stage-worker.js';
import { BASIC, eventually, startStack, type Stack } from '../integration/server/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : 'Chromium not installed (apt-get install chromium)';
if (skip) {
  process.stderr.write(`test/e2e/bull-board.test.ts: skipped: ${skip}\n`);
  test('Bull Board in headless Chromium', { skip }, () => undefined);
} else {
  describe('Bull Board in headless Chromium', browserTests);
}

function browserTests(): void {
  let stack: Stack;
  let browser: Browser;
  let worker: Worker;
  let workerConnection: Redis;
  const failedJobId = 'bad-payload-1';

  before(async () => {
    stack = await startStack();
    // A real embed worker fails a job whose payload is invalid (permanently, no retry).
    workerConnection = createRedis(stack.config.redisUrl, { forWorker: true });
    await connectRedis(workerConnection, stack.config.redisUrl);
    worker = startStageWorker('embed', () => Promise.resolve(undefined), {
      connection: workerConnection,
      prefix: stack.config.queuePrefix,
      concurrency: 1,
      lockDuration: 30_000,
      logger: silentLogger,
    });
    await stack.services.scheduler.queues.embed.add('embed', { runId: 'NOT A RUN', batch: -1 }, { jobId: failedJobId });
    await eventually(async () => (await stack.services.scheduler.queues.embed.getJobState(failedJobId)) === 'failed', 15_000, 'the job failed');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  after(async () => {
    await browser?.close();
    await worker?.close();
    workerConnection?.disconnect();
    await stack?.close();
  });

  test('without credentials the board is refused', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // Chromium answers a basic-auth challenge it cannot meet with a navigation error.
      const outcome = await page.goto(`${stack.url}/admin/queues`).then(
        (response) => `status ${response?.status()}`,
        (error: unknown) => String(error),
      );
      assert.match(outcome, /status 401|ERR_INVALID_AUTH_CREDENTIALS/);
      const refused = await context.request.get(`${stack.url}/admin/queues`);
      assert.equal(refused.status(), 401);
    } finally {
      await context.close();
    }
  });

  test('with basic auth it lists the six queues and shows the failed job\'s reason', async () => {
    const [username, password] = BASIC.split(':') as [string, string];
    const context = await browser.newContext({ httpCredentials: { username, password } });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${stack.url}/admin/queues`);
      assert.equal(response?.status(), 200);
      for (const stage of STAGES) await page.getByText(stage, { exact: true }).first().waitFor({ timeout: 15_000 });
      const text = await page.locator('body').innerText();
      for (const stage of STAGES) assert.match(text, new RegExp(`\\b${stage}\\b`), `queue ${stage} shown`);

      await page.goto(`${stack.url}/admin/queues/queue/embed?status=failed`);
      await page.getByText('Invalid embed job payload', { exact: false }).first().waitFor({ timeout: 15_000 });
      const failed = await page.locator('body').innerText();
      assert.match(failed, /Invalid embed job payload: runId: expected a run id/);
      assert.match(failed, new RegExp(failedJobId));
    } finally {
      await context.close();
    }
  });

  test('the failure reached /metrics through the queue events', async () => {
    await eventually(async () => /imgsim_jobs_failed_total\{queue="embed"\} 1/.test(await (await stack.api('/metrics')).text()), 10_000, 'failure counted');
    const text = await (await stack.api('/metrics')).text();
    assert.match(text, /imgsim_job_duration_seconds_count\{queue="embed",status="failed"\} 1/);
  });
}
