// Limits with reasons (issue 15, deliverable 4), the pure parts: -k capped at what an index
// can return, --clusters above √N, flags that do not apply to the task or optimizer, a
// task model worse than its baseline (meta.json quality). The CLI's side of each:
// test/integration/cli-limits.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capK } from '../../../pipelines/search.js';
import { clustersWarning } from '../../../pipelines/cluster.js';
import { inapplicableSettings } from '../../../bin/options.js';
import { loadConfig, type SettingName } from '../../../shared/config/index.js';
import { modelQuality } from '../../../shared/model/training/model-meta.js';

void test('capK: k up to the indexed images as asked; above, the collection size with a warning naming both', () => {
  assert.deepEqual(capK(10, 720), { k: 10 });
  assert.deepEqual(capK(720, 720), { k: 720 });
  assert.deepEqual(capK(1_000_000, 720), { k: 720, warning: '-k 1000000 is more than the 720 indexed images: searching for 720' });
  assert.equal(capK(5, 0).k, 1, 'an empty index still gets a valid k');
});

void test('clustersWarning: a fixed k above √N warns (with √N and auto named); auto and k ≤ √N do not', () => {
  assert.equal(clustersWarning('auto', 720), undefined);
  assert.equal(clustersWarning(26, 720), undefined, '26² = 676 ≤ 720');
  assert.equal(clustersWarning(27, 729), undefined, 'k = √N exactly');
  assert.equal(
    clustersWarning(1000, 720),
    '--clusters 1000 is above √N = 26.8 for 720 images (at most 720 clusters can be made): about 1.0 images per cluster; --clusters auto picks a k with clusters a person can browse',
  );
  assert.match(clustersWarning(40, 720) ?? '', /^--clusters 40 is above √N = 26\.8 for 720 images: about 18\.0 images per cluster/);
});

void test('inapplicableSettings: noise settings need --task denoise (and their noise kind), --scale superres, --weight-decay adamw', () => {
  const names: SettingName[] = ['noise', 'noiseSigma', 'saltPepperAmount', 'crosshairWidth', 'eraseFraction', 'eraseFill', 'superresScale', 'weightDecay'];
  const check = (overrides: Record<string, unknown>, given: Partial<Record<SettingName, 'flag' | 'env'>>): string[] =>
    inapplicableSettings(loadConfig({}, overrides), names, (n) => given[n]).map((f) => `${f.name}/${f.from}: ${f.why}`);
  // Nothing given: nothing to refuse, whatever the task.
  assert.deepEqual(check({ task: 'superres' }, {}), []);
  assert.deepEqual(check({}, { noiseSigma: 'flag', superresScale: 'env' }), [
    'noiseSigma/flag: --task denoise only (the task is reconstruct)',
    'superresScale/env: --task superres only (the task is reconstruct)',
  ]);
  assert.deepEqual(check({ task: 'denoise', noise: 'crosshair' }, { noise: 'flag', noiseSigma: 'flag', crosshairWidth: 'flag' }), [
    'noiseSigma/flag: gaussian noise only (--noise is crosshair; add gaussian to it)',
  ]);
  assert.deepEqual(check({ task: 'denoise', noise: 'gaussian,erase' }, { noiseSigma: 'flag', eraseFill: 'flag', eraseFraction: 'flag' }), []);
  assert.deepEqual(check({ optimizer: 'adam' }, { weightDecay: 'flag' }), [
    'weightDecay/flag: --optimizer adamw only (the optimizer is adam, which has no decoupled weight decay)',
  ]);
  assert.deepEqual(check({ optimizer: 'adamw', task: 'superres' }, { weightDecay: 'flag', superresScale: 'flag' }), []);
});

void test('modelQuality: every task model with a baseline records both PSNRs and whether it is worse; reconstruct and ∞ baselines record none', () => {
  const metrics = (psnr: number | null, baselinePsnr: number | null) => ({
    images: 10,
    output: { psnr, ssim: 0.5 },
    baseline: { psnr: baselinePsnr, ssim: 0.6, method: 'input' as const },
  });
  const noise = { kinds: ['gaussian' as const], sigma: 0.1, saltPepperAmount: 0.05, crosshairWidth: [1, 3] as [number, number], eraseFraction: 0.2, eraseFill: 'noise' as const };
  assert.deepEqual(modelQuality({ task: 'denoise', noise }, metrics(9.3, 15.1)), { psnr: 9.3, baselinePsnr: 15.1, worseThanBaseline: true });
  assert.deepEqual(modelQuality({ task: 'superres', scale: 2 }, metrics(30, 28)), { psnr: 30, baselinePsnr: 28, worseThanBaseline: false });
  assert.equal(modelQuality({ task: 'reconstruct' }, metrics(24, null)), undefined);
  assert.equal(modelQuality({ task: 'denoise', noise: { ...noise, sigma: 0 } }, metrics(40, null)), undefined, 'sigma 0: the input is the target');
  assert.equal(modelQuality({ task: 'colorize' }, metrics(NaN, NaN)), undefined);
});
