// Human logs (issue 15, deliverable 5), through the real command line on real images: on a
// terminal (a pseudo-terminal, replayed through a small terminal emulator) the progress bar
// and the log lines never overwrite each other and values are rounded; through a pipe there
// is no bar, only progress lines, rounded too, without repeated counters; --log-format json
// keeps full-precision numbers (the epoch losses equal meta.json's) and durations as numbers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateShapesDataset } from '../../shared/images/synthetic.js';
import { ROOT, runCli } from '../support/cli.js';
import { ptyRunner, replay, runOnPty } from '../support/terminal.js';

const TRAIN = ['--size', '16', '--filters', '8,16', '--epochs', '4', '--batch', '4'];
const ENV = { IMGSIM_LOG_LEVEL: 'info', IMGSIM_BACKEND: 'wasm' };
const BAR = /[█░]/;
/** The line bin/imgsim.js prints on a terminal when dist/ is older than the sources (a test run without a build). */
const STALE_BUILD = /^imgsim: dist\/ is missing or older/;

/** Numeric field values ("train=0.08210", "rate=12.3/s") with more digits than a person needs. */
function overPrecise(line: string): string[] {
  const bad: string[] = [];
  for (const m of line.matchAll(/(\w+)=(-?\d+\.\d+)(?![\d.])/g)) {
    const [, key, value] = m as unknown as [string, string, string];
    const significant = value.replace('-', '').replace('.', '').replace(/^0+/, '').length;
    if (significant > 4) bad.push(`${key}=${value}`);
  }
  return bad;
}

function checkHumanLine(line: string): void {
  assert.deepEqual(overPrecise(line), [], line);
  assert.doesNotMatch(line, /\b(done|total)=\d/, `counters not repeated: ${line}`);
  assert.doesNotMatch(line, /(eta|seconds|elapsed)=\d+(\.\d+)?(\s|$)/i, `durations with a unit: ${line}`);
}

describe('human logs', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-logs-'));
    await generateShapesDataset(path.join(dir, 'images'), { perClass: 12, size: 16, seed: 5 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('on a terminal: epoch lines above the bar, never over it or under it; values rounded', { skip: ptyRunner() ? false : 'no pseudo-terminal (script or python3) on this machine' }, async () => {
    const out = path.join(dir, 'tty');
    const r = await runOnPty([process.execPath, path.join(ROOT, 'bin', 'imgsim.js'), 'train', path.join(dir, 'images'), '--out', out, ...TRAIN], {
      cwd: ROOT,
      env: { ...process.env, ...ENV },
      columns: 110,
    });
    const screen = replay(r.output);
    assert.equal(r.code, 0, screen.lines.join('\n'));
    assert.deepEqual(screen.rewrites, [], 'no line changed after it was finished');
    const lines = screen.lines.filter((l) => !STALE_BUILD.test(l));
    const epochs = lines.filter((l) => l.startsWith('info  epoch '));
    assert.equal(epochs.length, 4, lines.join('\n'));
    for (const l of epochs) assert.match(l, /^info {2}epoch [1-4]\/4 {2}train=\d\.\d{3,5} validation=\d\.\d{3,5} time=\d+(\.\d)?m?s$/);
    const bars = lines.filter((l) => BAR.test(l));
    assert.deepEqual(bars.map((l) => l.split(' ')[0]), ['decode', 'train'], `one finished bar per stage:\n${lines.join('\n')}`);
    for (const b of bars) {
      assert.ok(!b.includes('info '), `a log line inside a bar: ${b}`);
      assert.match(b, / 100% \d+\/\d+ (images|batches) \|.* in \d/);
      assert.ok([...b].length < 110, 'the bar fits the terminal');
    }
    // the bar of the training sits below its epoch lines (it was redrawn under each)
    assert.ok(lines.indexOf(bars[1] as string) > lines.indexOf(epochs[3] as string));
    for (const l of lines.filter((x) => /^(info|warn) /.test(x))) checkHumanLine(l);
    assert.match(lines.join('\n'), /best validation loss \d\.\d{3,4}\d? at epoch/);
  });

  test('through a pipe: no bar and no control characters, progress lines with rounded values', async () => {
    const r = await runCli(['train', path.join(dir, 'images'), '--out', path.join(dir, 'pipe'), ...TRAIN], ENV);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stderr.includes('\r') && !r.stderr.includes('\u001b'), 'no bar drawing (carriage returns, escape sequences)');
    assert.doesNotMatch(r.stderr, BAR);
    const lines = r.stderr.split('\n').filter(Boolean);
    for (const l of lines) {
      assert.match(l, /^(info|warn) {1,2}\S/, `a log line: ${l}`);
      checkHumanLine(l);
    }
    assert.equal(lines.filter((l) => /^info {2}epoch \d\/4 {2}train=\d\.\d+ validation=\d\.\d+ time=/.test(l)).length, 4, r.stderr);
    assert.ok(lines.some((l) => /^info {2}decode 108\/108 images \(100%\) {2}(rate=[\d.]+\/s )?elapsed=\d/.test(l)), r.stderr);
    assert.ok(lines.some((l) => /^info {2}train (\d+)\/\1 batches \(100%\) .*epoch=4 loss=\d\.\d+ val=\d\.\d+$/.test(l)), r.stderr);
  });

  test('--log-format json: pino lines, full-precision numbers, durations as numbers', async () => {
    const out = path.join(dir, 'json');
    const r = await runCli(['train', path.join(dir, 'images'), '--out', out, ...TRAIN, '--log-format', 'json'], ENV);
    assert.equal(r.code, 0, r.stderr);
    const records = r.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const epochs = records.filter((x) => typeof x.msg === 'string' && x.msg.startsWith('epoch '));
    const meta = JSON.parse(await readFile(path.join(out, 'model', 'meta.json'), 'utf8')) as { losses: Array<{ epoch: number; train: number; validation: number; seconds: number }> };
    assert.equal(epochs.length, 4);
    epochs.forEach((e, i) => {
      const m = meta.losses[i];
      assert.ok(m);
      assert.equal(e.train, m.train, 'the loss as computed, not rounded');
      assert.equal(e.validation, m.validation);
      assert.equal(e.seconds, m.seconds);
      assert.equal(typeof e.epoch, 'number');
    });
    const progress = records.filter((x) => x.msg === 'decode 108/108 images (100%)');
    assert.equal(progress.length, 1);
    const p = progress[0] as Record<string, unknown>;
    assert.equal(p.done, 108);
    assert.equal(p.total, 108);
    assert.equal(typeof p.elapsedSeconds, 'number');
    const train = records.find((x) => typeof x.msg === 'string' && /^train \d+\/\d+ batches \(100%\)$/.test(x.msg));
    assert.ok(train && typeof train.loss === 'number' && typeof train.val === 'number', 'the bar fields as numbers');
  });
});
