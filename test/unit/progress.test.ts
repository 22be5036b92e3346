// Progress (issue 15, deliverable 5): the ETA is a smoothed rate and appears only once it is
// stable; on a terminal the bar and log lines never overwrite each other (replayed through a
// small terminal emulator); without a terminal there is no bar, only periodic lines whose
// data keep full precision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createProgress, RateEstimator } from '../../shared/progress.js';
import { writeLines } from '../../shared/status-line.js';
import { replay } from '../support/terminal.js';

test('no ETA before 5 items and 3 s after the first; the slow first item (start-up) is not part of the rate', () => {
  const r = new RateEstimator();
  r.observe(1, 30_000); // the first batch after 30 s of compiling kernels
  assert.equal(r.eta(100, 1), undefined);
  for (let i = 2; i <= 6; i++) r.observe(i, 30_000 + (i - 1) * 500); // then 2 items/s
  assert.equal(r.eta(100, 6), undefined, '5 items, but only 2.5 s');
  r.observe(7, 33_000);
  const eta = r.eta(100, 7);
  assert.ok(eta !== undefined && Math.abs(eta - 93 / 2) < 0.5, `ETA ${eta}: 93 items at 2/s`);
});

test('the rate follows a change of pace smoothly (exponential weighting over ~20 s)', () => {
  const r = new RateEstimator();
  let done = 0;
  let t = 0;
  r.observe(done, t);
  for (let s = 0; s < 20; s++) r.observe((done += 10), (t += 1000)); // 10 items/s for 20 s
  assert.ok(Math.abs((r.rate() ?? 0) - 10) < 1e-9);
  r.observe((done += 2), (t += 1000)); // one slow second
  const afterOne = r.rate() ?? 0;
  assert.ok(afterOne > 8 && afterOne < 10, `one slow second moves the rate a little: ${afterOne}`);
  for (let s = 0; s < 120; s++) r.observe((done += 2), (t += 1000));
  assert.ok(Math.abs((r.rate() ?? 0) - 2) < 0.05, `a lasting change is followed: ${r.rate()}`);
});

/** A fake interactive stream that keeps what was written. */
function fakeTty(columns = 100): { isTTY: true; columns: number; out: string; write(s: string): boolean } {
  return {
    isTTY: true,
    columns,
    out: '',
    write(s: string) {
      this.out += s;
      return true;
    },
  };
}

test('on a terminal: log lines written while the bar runs go above it, whole; the bar ends on its own line', () => {
  const tty = fakeTty(100);
  let now = 0;
  const p = createProgress({ label: 'train', total: 30, unit: 'batches', bar: true, stream: tty, now: () => now });
  for (let i = 1; i <= 30; i++) {
    now += 400;
    p.update(i, { epoch: Math.ceil(i / 10), loss: 0.1 / i, val: i > 10 ? 0.0875123 : undefined });
    if (i % 10 === 0) writeLines(tty, `info  epoch ${i / 10}/3  train=0.08210 validation=0.07504\n`);
  }
  p.stop();
  writeLines(tty, 'info  after the bar\n');
  const screen = replay(tty.out);
  assert.deepEqual(screen.rewrites, [], 'no line changed after it was finished');
  assert.deepEqual(screen.lines.slice(0, 3), ['info  epoch 1/3  train=0.08210 validation=0.07504', 'info  epoch 2/3  train=0.08210 validation=0.07504', 'info  epoch 3/3  train=0.08210 validation=0.07504']);
  const bar = screen.lines[3] ?? '';
  assert.match(bar, /^train █+ 100% 30\/30 batches \| 2\.5\/s \| in 12s \| epoch 3 {2}loss 0\.003333 {2}val 0\.08751$/);
  assert.equal(screen.lines[4], 'info  after the bar');
  assert.equal(screen.lines.length, 5);
  assert.ok(!tty.out.includes('ETA 0'), 'the ETA is a duration');
});

test('on a terminal: the ETA appears once stable, as a duration; a bar wider than the terminal is cut, never wrapped', () => {
  const tty = fakeTty(60);
  let now = 0;
  const p = createProgress({ label: 'embed', total: 1000, unit: 'images', bar: true, stream: tty, now: () => now });
  const seen: string[] = [];
  for (let i = 1; i <= 100; i++) {
    now += 200;
    p.update(i);
    seen.push(replay(tty.out).lines.at(-1) ?? '');
  }
  p.stop();
  assert.ok(!seen.slice(0, 10).some((l) => l.includes('ETA')), 'no ETA in the first items');
  assert.match(seen.at(-1) ?? '', /ETA 3m 0\ds/); // 900 left at 5/s
  for (const l of seen) assert.ok([...l].length <= 59, `fits 60 columns: ${l}`);
});

test('without a terminal: no bar, a line at most every 5 s and one at the end, with full-precision data', () => {
  const records: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => records.push(JSON.parse(s) as Record<string, unknown>) });
  let now = 0;
  const p = createProgress({ label: 'decode', total: 100, unit: 'images', bar: false, logger, now: () => now });
  for (let i = 1; i <= 100; i++) {
    now += 333; // 3 items/s: the first line after 5 s (item 16), the next 5 s after it
    p.update(i);
  }
  p.stop();
  assert.deepEqual(records.map((r) => r.msg), ['decode 16/100 images (16%)', 'decode 32/100 images (32%)', 'decode 48/100 images (48%)', 'decode 64/100 images (64%)', 'decode 80/100 images (80%)', 'decode 96/100 images (96%)', 'decode 100/100 images (100%)']);
  const first = records[0] as Record<string, unknown>;
  assert.equal(first.done, 16);
  assert.equal(first.total, 100);
  assert.equal(typeof first.rate, 'number');
  assert.ok(Math.abs((first.rate as number) - 1000 / 333) < 1e-9, 'full precision');
  assert.ok(Math.abs((first.etaSeconds as number) - (84 * 333) / 1000) < 1e-6);
  const last = records.at(-1) as Record<string, unknown>;
  assert.equal(last.etaSeconds, undefined);
  assert.ok(Math.abs((last.elapsedSeconds as number) - 33.3) < 1e-9);
});
