// formats.ts: the extension list matches what this sharp build can decode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { DECODABLE_FORMATS, IMAGE_EXTENSIONS, isImagePath } from '../../../shared/images/formats.js';

void test('every listed extension is decodable by this sharp build (from a buffer)', () => {
  const decodable = new Map<string, string>();
  const formats = sharp.format as unknown as Record<string, { input: { buffer: boolean; fileSuffix?: string[] } }>;
  for (const [name, info] of Object.entries(formats)) {
    if (info.input.buffer) for (const s of info.input.fileSuffix ?? []) decodable.set(s.toLowerCase(), name);
  }
  for (const ext of IMAGE_EXTENSIONS) {
    assert.ok(decodable.has(ext), `${ext} is listed but sharp cannot decode it`);
    assert.ok(DECODABLE_FORMATS.has(decodable.get(ext) as string), `${ext} decodes as ${decodable.get(ext)}, which decodeImage refuses`);
  }
});

void test('every accepted decoder name exists in this sharp build', () => {
  const formats = sharp.format as unknown as Record<string, { input: { buffer: boolean } } | undefined>;
  for (const name of DECODABLE_FORMATS) assert.ok(formats[name]?.input.buffer, name);
});

void test('isImagePath: by extension, case-insensitive', () => {
  for (const p of ['a.jpg', 'dir/B.JPEG', 'c.png', 'x/y/z.webp', 'anim.GIF', 'scan.tif', 'scan.TIFF', 'photo.avif', 'old.jfif', 'a.b.c.jpe']) {
    assert.ok(isImagePath(p), p);
  }
  for (const p of ['notes.txt', 'vector.svg', 'photo.heic', 'jpg', '.jpg', 'dir.jpg/readme', 'archive.jpg.zip', 'noext']) {
    assert.ok(!isImagePath(p), p);
  }
});
