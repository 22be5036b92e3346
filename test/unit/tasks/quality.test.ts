import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPsnr, formatQuality, psnr, QualityMeter, ssim } from '../../../shared/tasks/index.js';
import { createRng } from '../../../shared/random.js';

const random = (n: number, seed: number) => {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng());
};

test('PSNR: identical images → Infinity; a constant offset of 0.1 → 20 dB; 0.01 → 40 dB', () => {
  const a = random(16 * 16 * 3, 1);
  assert.equal(psnr(a, a), Infinity);
  const b = Float32Array.from(a, (v) => v + 0.1);
  assert.ok(Math.abs(psnr(a, b) - 20) < 1e-4, String(psnr(a, b)));
  const c = Float32Array.from(a, (v) => v - 0.01);
  assert.ok(Math.abs(psnr(a, c) - 40) < 1e-3);
  assert.equal(formatPsnr(Infinity), 'identical');
  assert.equal(formatPsnr(null), 'identical');
  assert.equal(formatPsnr(NaN), 'n/a');
  assert.equal(formatPsnr(20), '20.00 dB');
});

test('quality lines for people: never ∞ or NaN; a baseline equal to its target is "no baseline"; worse than the baseline is said', () => {
  const reconstruct = formatQuality({ output: { psnr: 24.1, ssim: 0.81 }, baseline: { psnr: null, ssim: 1, method: 'input' } });
  assert.equal(reconstruct, 'output PSNR 24.10 dB SSIM 0.810; baseline: input = target (no baseline)');
  const worse = formatQuality({ output: { psnr: 9.3, ssim: 0.2 }, baseline: { psnr: 15.1, ssim: 0.4, method: 'input' } });
  assert.equal(worse, 'output PSNR 9.30 dB SSIM 0.200  vs baseline (input) PSNR 15.10 dB SSIM 0.400 (worse than the baseline)');
  const better = formatQuality({ output: { psnr: 30, ssim: 0.9 }, baseline: { psnr: 20, ssim: 0.6, method: 'bicubic' } });
  assert.doesNotMatch(better, /worse/);
  const empty = formatQuality({ output: { psnr: NaN, ssim: NaN }, baseline: { psnr: NaN, ssim: NaN, method: 'input' } });
  for (const line of [reconstruct, worse, better, empty]) assert.doesNotMatch(line, /∞|Infinity|NaN/, line);
});

test('SSIM: identical → 1; constant images a, b → (2ab + C1) / (a² + b² + C1)', () => {
  const a = random(24 * 24 * 3, 2);
  assert.ok(Math.abs(ssim(a, a, 24) - 1) < 1e-9);
  const x = new Float32Array(24 * 24 * 3).fill(0.5);
  const y = new Float32Array(24 * 24 * 3).fill(0.6);
  const C1 = 0.01 ** 2;
  const expected = (2 * 0.5 * 0.6 + C1) / (0.25 + 0.36 + C1); // 0.98361
  assert.ok(Math.abs(ssim(x, y, 24) - expected) < 1e-6, `${ssim(x, y, 24)} vs ${expected}`);
  // A constant offset of a textured image: the structure and contrast terms stay 1, only luminance drops.
  const b = Float32Array.from(a, (v) => v * 0.5 + 0.25);
  const c = Float32Array.from(b, (v) => v + 0.1);
  const s = ssim(b, c, 24);
  assert.ok(s < 1 && s > 0.9, String(s));
});

test('SSIM falls with noise, is symmetric, and works on images smaller than the 11-px window', () => {
  const a = random(32 * 32 * 3, 3);
  const rng = createRng(4);
  const noisy = Float32Array.from(a, (v) => v + 0.2 * (rng() - 0.5));
  const noisier = Float32Array.from(a, (v) => v + 0.6 * (rng() - 0.5));
  const s1 = ssim(a, noisy, 32);
  const s2 = ssim(a, noisier, 32);
  assert.ok(s1 > s2 && s1 < 1, `${s1} ${s2}`);
  assert.ok(Math.abs(ssim(noisy, a, 32) - s1) < 1e-12);
  const small = random(8 * 8 * 3, 5);
  assert.ok(Math.abs(ssim(small, small, 8) - 1) < 1e-9);
  assert.throws(() => ssim(small, small, 9), /expected two 9×9×3 images/);
});

test('SSIM matches an independent numpy/scipy computation (11×11 Gaussian, sigma 1.5, valid region) on a known pair', () => {
  // Reference: scipy.signal.correlate2d(mode='valid') with the normalised 11×11 Gaussian,
  // the same formula, per channel then averaged: 0.8937869320792698.
  const size = 16;
  const a = new Float32Array(size * size * 3);
  const b = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        a[(y * size + x) * 3 + c] = (x + y) / 30;
        b[(y * size + x) * 3 + c] = (0.8 * (x + y)) / 30 + ((x * 7 + y * 3) % 5) / 50 + c * 0.01;
      }
    }
  }
  const s = ssim(a, b, size);
  assert.ok(Math.abs(s - 0.8937869320792698) < 1e-5, String(s));
});

test('QualityMeter averages per-image values', () => {
  const a = new Float32Array(2 * 16 * 16 * 3).fill(0.5);
  const b = Float32Array.from(a, (v, i) => (i < a.length / 2 ? v + 0.1 : v + 0.01));
  const m = new QualityMeter();
  m.addBatch(b, a, 2, 16);
  assert.equal(m.count, 2);
  assert.ok(Math.abs(m.mean().psnr - 30) < 1e-3);
});
