// A step's loop watch (shared/loop-watch.ts watchStep) never outlives its step: stop() is
// safe to call twice, the timer holds no process open, and the duplicates pass's steps stop
// it when they throw (a retried job used to leave one 10 ms timer running per attempt).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { watchStep } from '../../shared/loop-watch.js';
import { LocalStorage } from '../../shared/storage/local.js';
import { verifyStep } from '../../pipelines/distributed/duplicates-verify.js';
import type { DuplicateDeps } from '../../pipelines/distributed/duplicates-plan.js';
import type { JobHandle } from '../../shared/jobs/handlers.js';

const refTimeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** Runs `fn`, counting the intervals it starts and the ones it clears. */
async function countIntervals(fn: () => Promise<unknown>): Promise<{ started: number; cleared: number }> {
  const made = new Set<unknown>();
  let cleared = 0;
  const { setInterval: set, clearInterval: clear } = globalThis;
  globalThis.setInterval = (...args: Parameters<typeof set>) => {
    const t = set(...args);
    made.add(t);
    return t;
  };
  globalThis.clearInterval = (t: Parameters<typeof clear>[0]) => {
    if (made.has(t)) cleared++;
    clear(t);
  };
  try {
    await fn().catch(() => undefined);
  } finally {
    globalThis.setInterval = set;
    globalThis.clearInterval = clear;
  }
  return { started: made.size, cleared };
}

test('watchStep: stop() twice gives the same block; the timer holds no process open', async () => {
  const before = refTimeouts();
  const watch = watchStep('a');
  assert.equal(refTimeouts(), before, 'the watch timer is unref’d');
  await new Promise((r) => setTimeout(r, 30));
  const first = watch.stop();
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(watch.stop(), first);
  assert.equal(first.during, 'a');
});

test('a verify step that throws stops its loop watch', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-loopwatch-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // No chunk in the store: the step throws ("verify chunk 0 is missing").
  const deps = { artifacts: new LocalStorage(dir) } as unknown as DuplicateDeps;
  let error: unknown;
  const counted = await countIntervals(async () => {
    try {
      await verifyStep({ step: 'verify', dataset: 'ds', passId: 'p1', chunk: 0 }, deps, {} as JobHandle);
    } catch (e) {
      error = e;
    }
  });
  assert.match(String(error), /verify chunk 0 is missing/);
  assert.equal(counted.started, 1, 'the step watched its loop');
  assert.equal(counted.cleared, counted.started, 'and stopped the watch when it threw');
});
