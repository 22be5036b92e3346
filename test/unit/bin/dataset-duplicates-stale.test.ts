// imgsim dataset duplicates --wait: when the pass has not moved for 90 s, the hint names the
// queue it waits on — the fingerprint queue while batches are left, the duplicates queue
// once every batch is counted (the status says fingerprinting until the pairs step starts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeClock, staleHint } from '../../../bin/commands/dataset-duplicates.js';
import type { DuplicatePass } from '../../../shared/runs/duplicate-passes.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const pass = (fields: Partial<DuplicatePass>): DuplicatePass => ({
  passId: 'p1',
  dataset: 'photos',
  mode: 'missing',
  status: 'fingerprinting',
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:08:00Z',
  ...fields,
});

test('no hint before 90 s without a change', async () => {
  assert.equal(await staleHint(pass({ updatedAt: '2026-01-01T00:09:00Z' }), () => Promise.resolve(false), NOW), undefined);
});

test('batches left: the fingerprint queue', async () => {
  const asked: string[] = [];
  const hint = await staleHint(pass({ toFingerprint: 100, fingerprinted: 40, failed: 2 }), (stage) => (asked.push(stage), Promise.resolve(false)), NOW);
  assert.deepEqual(asked, ['fingerprint']);
  assert.match(hint ?? '', /no change for 2m 00s: no fingerprint worker is running — start one \(imgsim worker fingerprint\)/);
});

test('every batch counted, status still fingerprinting: the duplicates queue', async () => {
  const asked: string[] = [];
  const hint = await staleHint(pass({ toFingerprint: 100, fingerprinted: 97, failed: 3 }), (stage) => (asked.push(stage), Promise.resolve(false)), NOW);
  assert.deepEqual(asked, ['duplicates']);
  assert.match(hint ?? '', /no duplicates worker is running — start one \(imgsim worker duplicates\)/);
});

test("idle is measured from when this machine saw the pass change, not the workers' updatedAt (clock skew)", async () => {
  // The workers' clock runs 5 minutes behind: updatedAt looks old, but the pass changed 10 s ago here.
  const skewed = pass({ updatedAt: '2026-01-01T00:05:00Z', toFingerprint: 100, fingerprinted: 40 });
  assert.equal(await staleHint(skewed, () => Promise.resolve(false), NOW, NOW - 10_000), undefined);
  assert.match((await staleHint(skewed, () => Promise.resolve(false), NOW, NOW - 95_000)) ?? '', /^no change for 1m 30s: no fingerprint worker/);
});

test('the wait\'s change clock: the first poll goes by updatedAt (a pass stuck before the wait began is hinted at once), later changes by this machine\'s clock', () => {
  let t = NOW;
  const changedAt = changeClock(() => t);
  assert.equal(changedAt('2026-01-01T00:08:00Z'), Date.parse('2026-01-01T00:08:00Z'), 'first sight: the record\'s own age');
  t += 30_000;
  assert.equal(changedAt('2026-01-01T00:08:00Z'), Date.parse('2026-01-01T00:08:00Z'), 'unchanged');
  // The workers' clock 5 minutes behind: the change is dated by this machine, now.
  assert.equal(changedAt('2026-01-01T00:05:30Z'), t);
  t += 10_000;
  assert.equal(changedAt('2026-01-01T00:05:30Z'), t - 10_000);
  // A worker clock ahead of this one: never a change in the future.
  assert.equal(changeClock(() => NOW)('2026-01-01T00:20:00Z'), NOW);
});
