// Image-to-image tasks through the real command line: train a tiny denoise and superres
// model, check meta.json (task, parameters, metrics), apply them, and the refusals.
import { before, describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { generateShapesDataset } from '../../shared/images/synthetic.js';
import { modelMetaSchema, type ModelMeta } from '../../shared/model/meta.js';
import { jsonOf, runCli } from '../support/cli.js';

const TINY = ['--filters', '8,16', '--batch', '8', '--backend', 'wasm'];

interface ApplySummary {
  task: string;
  inputSize: number;
  outputSize: number;
  outputs: Array<{ key: string; file: string }>;
  preview: string;
  out: string;
  metrics?: { images: number; output: { psnr: number | null; ssim: number }; baseline: { psnr: number | null; ssim: number; method: string } };
}

async function sizeOf(file: string): Promise<[number, number]> {
  const m = await sharp(file).metadata();
  return [m.width ?? 0, m.height ?? 0];
}

describe('imgsim train --task / imgsim apply', () => {
  let dir: string;
  let data: string;
  let meta: ModelMeta;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-tasks-'));
    data = path.join(dir, 'data');
    await generateShapesDataset(data, { perClass: 3, size: 32, seed: 2 });
    const r = await runCli(['train', data, '--out', path.join(dir, 'dn'), '--task', 'denoise', '--noise', 'gaussian,crosshair', '--noise-sigma', '0.15', '--crosshair-width', '2', '--size', '16', '--epochs', '2', ...TINY, '--json']);
    assert.equal(r.code, 0, r.stderr);
    meta = modelMetaSchema.parse(JSON.parse(await readFile(path.join(dir, 'dn', 'model', 'meta.json'), 'utf8')));
    assert.deepEqual(jsonOf<ModelMeta>(r).modelId, meta.modelId);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('meta.json records the task, its parameters and validation metrics', () => {
    assert.equal(meta.task, 'denoise');
    assert.match(meta.modelId, /^cae-denoise-16-/);
    assert.deepEqual(meta.taskParams?.noise?.kinds, ['gaussian', 'crosshair']);
    assert.equal(meta.taskParams?.noise?.sigma, 0.15);
    assert.deepEqual(meta.taskParams?.noise?.crosshairWidth, [2, 2]);
    assert.equal(meta.taskParams?.outputSize, 16);
    assert.match(meta.taskParams?.input ?? '', /gaussian sigma 0.15 \+ crosshair/);
    const m = meta.metrics;
    assert.ok(m, 'metrics');
    assert.equal(m.images, meta.training.validationImages);
    assert.equal(m.baseline.method, 'input');
    assert.ok(typeof m.output.psnr === 'number' && Number.isFinite(m.output.psnr));
    assert.ok(typeof m.baseline.psnr === 'number' && m.baseline.psnr > 5 && m.baseline.psnr < 30);
    assert.ok(m.output.ssim > -1 && m.output.ssim <= 1);
  });

  test('apply --corrupt writes one output per input at the model size, a 3-row preview and metrics', async () => {
    const out = path.join(dir, 'applied');
    const r = await runCli(['apply', '--model', path.join(dir, 'dn'), path.join(data, 'red-circle'), path.join(data, 'blue-square', '0000.png'), '--out', out, '--corrupt', '--expect-task', 'denoise', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = jsonOf<ApplySummary>(r);
    assert.equal(s.task, 'denoise');
    assert.equal(s.outputs.length, 4);
    assert.deepEqual(s.outputs.map((o) => o.file).sort(), ['blue-square/0000.png', 'red-circle/0000.png', 'red-circle/0001.png', 'red-circle/0002.png']);
    for (const o of s.outputs) assert.deepEqual(await sizeOf(path.join(out, o.file)), [16, 16]);
    assert.equal(s.metrics?.images, 4);
    const [w, h] = await sizeOf(path.join(out, 'preview.png'));
    assert.ok(h > 3 * 128 && h < 4 * 128 && w > 4 * 128, `preview ${w}×${h}: 3 rows of 4`);
  });

  test('a model folder given directly also loads; without --corrupt there is no target and no metrics', async () => {
    const out = path.join(dir, 'plain');
    const r = await runCli(['apply', '--model', path.join(dir, 'dn', 'model'), path.join(data, 'green-triangle'), '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = jsonOf<ApplySummary>(r);
    assert.equal(s.metrics, undefined);
    assert.equal(s.outputs.length, 3);
    const [, h] = await sizeOf(path.join(out, 'preview.png'));
    assert.ok(h < 3 * 128, 'two rows');
  });

  test('superres ×2: output side = 2 × input side; --expect-task mismatch is refused with exit 2', async () => {
    const sr = path.join(dir, 'sr');
    const t = await runCli(['train', data, '--out', sr, '--task', 'superres', '--scale', '2', '--size', '32', '--epochs', '1', ...TINY]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /superres \(×2\) on \d+ validation images: output PSNR .* vs baseline \(bicubic\)/);
    const srMeta = modelMetaSchema.parse(JSON.parse(await readFile(path.join(sr, 'model', 'meta.json'), 'utf8')));
    assert.equal(srMeta.inputSize, 16);
    assert.equal(srMeta.taskParams?.outputSize, 32);
    assert.equal(srMeta.taskParams?.scale, 2);
    const out = path.join(dir, 'up');
    const r = await runCli(['apply', '--model', sr, path.join(data, 'red-square'), '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = jsonOf<ApplySummary>(r);
    assert.equal(s.inputSize, 16);
    assert.equal(s.outputSize, 32);
    for (const o of s.outputs) assert.deepEqual(await sizeOf(path.join(out, o.file)), [32, 32]);

    const bad = await runCli(['apply', '--model', sr, path.join(data, 'red-square'), '--out', path.join(dir, 'x'), '--expect-task', 'denoise']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr.trim(), /^imgsim: model cae-superres-32-\S+ was trained for superres \(×2\), not denoise$/);
  });

  test('bad task flags name the flag, what it must be and the received value', async () => {
    const out = path.join(dir, 'never');
    // Three bad values in one invocation: each is reported (config validation lists every problem).
    const [flags, size, model] = await Promise.all([
      runCli(['train', data, '--out', out, '--task', 'sharpen', '--scale', '3', '--noise', 'gaussian,blur']),
      runCli(['train', data, '--out', out, '--task', 'superres', '--scale', '4', '--size', '48', '--filters', '8,16,32']),
      runCli(['apply', '--model', path.join(dir, 'nowhere'), data, '--out', out]),
    ]);
    assert.equal(flags.code, 2);
    assert.equal(
      flags.stderr,
      'imgsim: --task must be one of reconstruct, denoise, colorize, superres, got "sharpen"; --noise must be a comma-separated list of gaussian, salt-pepper, crosshair, erase, got "gaussian,blur"; --scale must be 2 or 4, got "3" — see imgsim train --help\n',
    );
    assert.equal(size.code, 2);
    assert.equal(
      size.stderr,
      'imgsim: --size must be a multiple of 32 (--scale 4 × 2^3: the 12-px low-res input goes through 3 pooling stages: --filters 8,16,32), got 48; try 64 — see imgsim train --help\n',
    );
    assert.equal(model.code, 2);
    assert.match(model.stderr, /--model: no model found at ".*nowhere"/);
  });
});
