// contact-sheet.ts: a PNG of the documented size, query border highlighted,
// undecodable inputs drawn as grey "unreadable" tiles, labels XML-escaped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { contactSheetLayout, labelLines, MAX_SHEET_COLUMNS, MAX_SHEET_RESULTS, renderContactSheet, writeContactSheet } from '../../../shared/images/contact-sheet.js';
import { FIXTURES, writeBadInputFixtures } from '../../support/image-fixtures.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgsim-sheet-'));
  await writeBadInputFixtures(join(dir, 'fx'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rgbAt(png: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i] as number, data[i + 1] as number, data[i + 2] as number];
}

void test('layout: tile + borders + label rows, padded', () => {
  const l = contactSheetLayout(4, { tile: 64 });
  assert.deepEqual([l.columns, l.rows, l.width, l.height], [4, 1, 10 + 4 * (64 + 8 + 10), 10 + (64 + 8 + 36 + 10)]);
  const l11 = contactSheetLayout(11, { tile: 100 });
  assert.deepEqual([l11.columns, l11.rows], [6, 2]);
  assert.deepEqual(contactSheetLayout(11, { tile: 100, columns: 4 }).rows, 3);
});

void test('writes a PNG: query first with an orange border, unreadable inputs as grey tiles', async () => {
  const path = join(dir, 'out', 'sheet.png');
  const fx = (name: string): string => join(dir, 'fx', name);
  const results = [
    { image: await readFile(fx(FIXTURES.png)), label: 'green.png\nscore 0.987' },
    { image: fx(FIXTURES.text), label: 'not-an-image.jpg\n0.5' },
    { image: fx('missing.jpg'), label: 'missing.jpg' },
    { image: fx(FIXTURES.truncatedJpeg), label: 'truncated' },
    { image: fx(FIXTURES.exifRotated), label: `<script>&"quotes"' \u0001 ${'very/long/path/'.repeat(10)}file.jpg` },
  ];
  await writeContactSheet(path, { image: fx(FIXTURES.jpeg), label: 'query: red.jpg' }, results, { tile: 64 });
  const png = await readFile(path);
  const meta = await sharp(png).metadata();
  const layout = contactSheetLayout(6, { tile: 64 });
  assert.equal(meta.format, 'png');
  assert.equal(meta.channels, 3);
  assert.deepEqual([meta.width, meta.height], [layout.width, layout.height]);
  assert.deepEqual([meta.width, meta.height], [10 + 6 * 82, 10 + 118]);

  const q = layout.imageAt(0);
  assert.deepEqual(await rgbAt(png, q.left - 2, q.top + 30), [255, 140, 0], 'query border is orange');
  const qPixel = await rgbAt(png, q.left + 32, q.top + 32);
  assert.ok((qPixel[0] as number) > 240 && (qPixel[1] as number) < 20, `query tile shows the red image: ${qPixel.join(',')}`);
  const r1 = layout.imageAt(1);
  assert.deepEqual(await rgbAt(png, r1.left - 2, r1.top + 30), [208, 208, 208], 'results have a grey border');
  for (const i of [2, 3, 4]) {
    const t = layout.imageAt(i);
    assert.deepEqual(await rgbAt(png, t.left + 3, t.top + 3), [158, 158, 158], `tile ${i} is an "unreadable" grey tile`);
  }
});

void test('renderContactSheet with no results is a single tile', async () => {
  const png = await renderContactSheet({ image: Buffer.from('nope'), label: '' }, [], { tile: 32 });
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height], [10 + 40 + 10, 10 + 40 + 36 + 10]);
});

void test('labels: two rows at most, long keys break after a "/" and keep their end', () => {
  assert.deepEqual(labelLines('red-circle/0000.png', 18), ['red-circle/', '0000.png']);
  assert.deepEqual(labelLines('a.jpg\n0.91\nextra', 18), ['a.jpg', '0.91']);
  assert.deepEqual(labelLines('a/very/long/folder/name/file.jpg\n0.5', 12), ['…me/file.jpg', '0.5']);
  assert.deepEqual(labelLines('abcdefghijklmnopqrstuvwxyz', 10), ['…hijklmnop', 'qrstuvwxyz']);
});

void test('a sheet stays a sensible size: at most 35 results (6 × 6 tiles with the query) and 12 columns, whatever it is given', async () => {
  assert.equal(MAX_SHEET_RESULTS, 35);
  assert.equal(contactSheetLayout(500, { tile: 32, columns: 400 }).columns, MAX_SHEET_COLUMNS);
  const results = Array.from({ length: 1000 }, (_, i) => ({ image: Buffer.from('nope'), label: String(i) }));
  const png = await renderContactSheet({ image: Buffer.from('nope'), label: 'q' }, results, { tile: 32 });
  const meta = await sharp(png).metadata();
  const six = contactSheetLayout(MAX_SHEET_RESULTS + 1, { tile: 32 });
  assert.deepEqual([six.columns, six.rows], [6, 6]);
  assert.deepEqual([meta.width, meta.height], [six.width, six.height], '1,000 results: the 6 × 6 sheet of the first 35');
});
