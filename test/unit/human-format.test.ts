// The human log format (issue 15, deliverable 5): values rounded to meaningful digits by
// their field's name, durations as "1m 40s", sizes in KiB/MiB, counters the message shows
// not repeated. The JSON format is pino's own (full precision): nothing here touches it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldText, formatBytes, formatDuration, formatSignificant, humanLine } from '../../shared/human-format.js';

test('durations: ms below a second, one decimal below 10 s, then 42s, 1m 40s, 2h 05m, 3d 04h', () => {
  const cases: Array<[number, string]> = [
    [0, '0ms'],
    [0.0351, '35ms'],
    [0.9996, '1.0s'],
    [4.24, '4.2s'],
    [9.96, '10s'],
    [42.4, '42s'],
    [59.6, '1m 00s'],
    [100, '1m 40s'],
    [889, '14m 49s'],
    [3599.6, '1h 00m'],
    [2 * 3600 + 5 * 60 + 10, '2h 05m'],
    [3 * 86400 + 4 * 3600 + 100, '3d 04h'],
  ];
  for (const [s, text] of cases) assert.equal(formatDuration(s), text, `${s} s`);
  assert.equal(formatDuration(Number.NaN), '?');
  assert.equal(formatDuration(-1), '?');
});

test('sizes: bytes, then KiB/MiB/GiB with one decimal below 100', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(123 * 1024 + 300), '123 KiB');
  assert.equal(formatBytes(35 * 1024 * 1024 + 1), '35.0 MiB');
  assert.equal(formatBytes(1.25 * 1024 ** 3), '1.3 GiB');
  assert.equal(formatBytes(1024 * 1024 - 1), '1.0 MiB');
});

test('four significant digits for a loss; integers as they are; tiny values in exponent form', () => {
  assert.equal(formatSignificant(0.09401988436778387), '0.09402');
  assert.equal(formatSignificant(0.1160), '0.1160');
  assert.equal(formatSignificant(12.3456), '12.35');
  assert.equal(formatSignificant(123456.7), '123457');
  assert.equal(formatSignificant(720), '720');
  assert.equal(formatSignificant(0.0000123456), '1.235e-5');
  assert.equal(formatSignificant(Number.POSITIVE_INFINITY), 'inf');
});

test('a field is rounded by its name: scores 3 decimals, rates 1, durations and sizes with units, the rest 4 significant', () => {
  assert.deepEqual(fieldText('silhouette', 0.17682715887872588), { key: 'silhouette', text: '0.177' });
  assert.deepEqual(fieldText('explainedVariance', 0.9413843588019264), { key: 'explainedVariance', text: '0.941' });
  assert.deepEqual(fieldText('train', 0.09401988436778387), { key: 'train', text: '0.09402' });
  assert.deepEqual(fieldText('etaSeconds', 100.4), { key: 'eta', text: '1m 40s' });
  assert.deepEqual(fieldText('seconds', 4.2345), { key: 'time', text: '4.2s' });
  assert.deepEqual(fieldText('blockedMs', 2500), { key: 'blocked', text: '2.5s' });
  assert.deepEqual(fieldText('bytes', 36_700_160), { key: 'size', text: '35.0 MiB' });
  assert.deepEqual(fieldText('rate', 12.345), { key: 'rate', text: '12.3/s' });
  assert.deepEqual(fieldText('imagesPerSecond', 299.123), { key: 'imagesPerSecond', text: '299.1' });
  assert.deepEqual(fieldText('psnr', 15.1234), { key: 'psnr', text: '15.12 dB' });
  assert.deepEqual(fieldText('k', 6), { key: 'k', text: '6' });
  assert.deepEqual(fieldText('err', { type: 'Error', message: 'boom', stack: 'Error: boom\n at …' }), { key: 'err', text: 'boom' });
  assert.deepEqual(fieldText('losses', [0.123456, 2]), { key: 'losses', text: '[0.1235,2]' });
});

test('a human line: the epoch and progress counters the message shows are not repeated', () => {
  assert.equal(
    humanLine({ level: 30, time: 1, pid: 1, hostname: 'h', name: 'imgsim', msg: 'epoch 3/10', epoch: 3, train: 0.0821034359159293, validation: 0.07504409518506792, seconds: 4.21 }),
    'info  epoch 3/10  train=0.08210 validation=0.07504 time=4.2s',
  );
  assert.equal(
    humanLine({ level: 30, msg: 'decode 35/680 images (5%)', done: 35, total: 680, rate: 12.34, etaSeconds: 52.6, elapsedSeconds: 2.84 }),
    'info  decode 35/680 images (5%)  rate=12.3/s eta=53s elapsed=2.8s',
  );
  // a counter the message does not show stays; so does one equal to another number in it
  assert.equal(humanLine({ level: 30, msg: 'early stopping: validation loss stopped improving', epoch: 9, bestEpoch: 4 }), 'info  early stopping: validation loss stopped improving  epoch=9 bestEpoch=4');
  assert.equal(humanLine({ level: 30, msg: 'train 27/27 batches', done: 27, total: 27, epoch: 3 }), 'info  train 27/27 batches  epoch=3');
  // a text value the message already names is not repeated either
  assert.equal(humanLine({ level: 30, msg: 'tfjs backend: wasm', backend: 'wasm', tfjs: '4.22.0' }), 'info  tfjs backend: wasm  tfjs=4.22.0');
  assert.equal(humanLine({ level: 40, msg: 'cluster: k-means done', k: 6, silhouette: 0.17682715887872588 }), 'warn  cluster: k-means done  k=6 silhouette=0.177');
});
