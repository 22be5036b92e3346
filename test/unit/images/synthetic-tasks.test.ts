import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeImage } from '../../../shared/images/decode.js';
import { COLORIZE_LABELS_FILE, fractionCloser, generateColorizeDataset, shapeMasks } from '../../../shared/images/synthetic-tasks.js';
import { toGreyscale } from '../../../shared/tasks/index.js';

test('colourisation set: circles red, squares blue on grey, labels written, deterministic; grey input hides the colour', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-col-'));
  try {
    const d = await generateColorizeDataset(dir, { count: 12, size: 32, seed: 4 });
    assert.equal(d.images.length, 12);
    const again = await generateColorizeDataset(path.join(dir, 'again'), { count: 12, size: 32, seed: 4 });
    assert.deepEqual(again.images, d.images);
    assert.deepEqual(JSON.parse(await readFile(path.join(dir, COLORIZE_LABELS_FILE), 'utf8')), d);
    const lumas: Record<string, number[]> = { circle: [], square: [] };
    for (const img of d.images) {
      assert.ok(img.shapes.length >= 1 && img.shapes.length <= 2);
      const { data } = await decodeImage(path.join(dir, img.file), { size: 32, fit: 'crop', maxPixels: 1e6 });
      const masks = shapeMasks(img.shapes, 32, 32);
      if (masks.circle.some(Boolean)) assert.equal(fractionCloser(data, masks.circle, [1, 0, 0], [0, 0, 1]).fraction, 1);
      if (masks.square.some(Boolean)) assert.equal(fractionCloser(data, masks.square, [0, 0, 1], [1, 0, 0]).fraction, 1);
      const grey = toGreyscale(data);
      for (const kind of ['circle', 'square'] as const) {
        const m = masks[kind];
        for (let p = 0; p < m.length; p++) if (m[p]) lumas[kind]?.push(grey[p * 3] as number);
      }
    }
    // Luma ranges of red circles and blue squares overlap: the grey level does not give the colour away.
    const range = (v: number[]) => [Math.min(...v), Math.max(...v)] as const;
    const [c0, c1] = range(lumas.circle ?? []);
    const [s0, s1] = range(lumas.square ?? []);
    assert.ok(c0 < s1 && s0 < c1, `circle luma ${c0}-${c1}, square luma ${s0}-${s1}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('shape masks scale with the image side and shrink by the margin', () => {
  const shapes = [{ kind: 'circle' as const, cx: 8, cy: 8, r: 4 }];
  const a = shapeMasks(shapes, 16, 16, 0).circle.reduce((s, v) => s + v, 0);
  const b = shapeMasks(shapes, 16, 32, 0).circle.reduce((s, v) => s + v, 0);
  const c = shapeMasks(shapes, 16, 16, 1).circle.reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(a - Math.PI * 16) < 8, String(a));
  assert.ok(Math.abs(b / a - 4) < 0.3, `${b} / ${a}`);
  assert.ok(c < a);
});
