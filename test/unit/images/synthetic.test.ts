// synthetic.ts: writes perClass images for each of the 9 classes, byte-identical
// for the same seed, different for another seed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { generateShapesDataset } from '../../../shared/images/synthetic.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgsim-synth-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function hashes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const cls of (await readdir(root)).sort()) {
    for (const file of (await readdir(join(root, cls))).sort()) {
      out.set(`${cls}/${file}`, createHash('sha256').update(await readFile(join(root, cls, file))).digest('hex'));
    }
  }
  return out;
}

void test('writes the promised files, deterministically for a seed', async () => {
  const a = await generateShapesDataset(join(dir, 'a'), { perClass: 4, size: 32, seed: 123 });
  const b = await generateShapesDataset(join(dir, 'b'), { perClass: 4, size: 32, seed: 123 });
  const c = await generateShapesDataset(join(dir, 'c'), { perClass: 4, size: 32, seed: 124 });
  assert.equal(c.files, 36);
  assert.equal(a.classes.length, 9);
  assert.equal(new Set(a.classes).size, 9);
  assert.ok(a.classes.includes('red-circle') && a.classes.includes('blue-triangle'));
  assert.equal(a.files, 36);
  assert.deepEqual(b, a);

  const ha = await hashes(join(dir, 'a'));
  assert.equal(ha.size, 36);
  assert.deepEqual([...new Set([...ha.keys()].map((k) => k.split('/')[0]))].sort(), [...a.classes].sort());
  assert.deepEqual(await hashes(join(dir, 'b')), ha, 'same seed → same bytes');
  const hc = await hashes(join(dir, 'c'));
  assert.equal(hc.size, 36);
  assert.ok([...ha].every(([k, h]) => hc.get(k) !== h), 'another seed → different images');
  assert.equal(new Set(ha.values()).size, 36, 'no two images are identical');
});

void test('images are size×size RGB PNGs', async () => {
  const root = join(dir, 'd');
  await generateShapesDataset(root, { perClass: 1, size: 48, seed: 1 });
  const meta = await sharp(join(root, 'green-square', '0000.png')).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 48, 48, 3]);
});

void test('rejects bad options', async () => {
  await assert.rejects(generateShapesDataset(join(dir, 'e'), { perClass: 0, seed: 1 }), RangeError);
  await assert.rejects(generateShapesDataset(join(dir, 'e'), { perClass: 1, size: 8, seed: 1 }), RangeError);
});
