// `imgsim eval` on a generated labelled folder: the JSON report's shape and sanity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateShapesDataset } from '../../shared/images/synthetic.js';
import { jsonOf, runCli } from '../support/cli.js';

test('eval --json reports precision@10 of the embedding and of raw pixels', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-eval-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  const gen = await generateShapesDataset(data, { perClass: 8, seed: 2 });
  const r = await runCli(['eval', data, '--out', path.join(dir, 'out'), '--size', '32', '--filters', '8,16,32', '--epochs', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = jsonOf<{ precisionAt10: { embedding: number; rawPixels: number }; images: number; seconds: number; classes: number }>(r);
  assert.equal(report.images, gen.files);
  assert.equal(report.classes, gen.classes.length);
  for (const p of [report.precisionAt10.embedding, report.precisionAt10.rawPixels]) assert.ok(p > 0 && p <= 1, String(p));
  // Raw pixels beat chance (1/classes) on this data: the metric measures something.
  assert.ok(report.precisionAt10.rawPixels > 1.5 / report.classes);
  assert.ok(report.seconds > 0);
});

test('eval refuses a folder whose images are not in class sub-folders', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-eval-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const gen = await generateShapesDataset(path.join(dir, 'data', 'only'), { perClass: 1, seed: 2 });
  await writeFile(path.join(dir, 'data', 'loose.txt'), 'not an image');
  const r = await runCli(['eval', path.join(dir, 'data', 'only', gen.classes[0] ?? ''), '--out', path.join(dir, 'out'), '--size', '32', '--filters', '8,16,32', '--epochs', '1']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /keeps each class in its own sub-folder; 1 image\(s\) sit at the top level/);
});
