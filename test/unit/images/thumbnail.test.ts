// makeThumbnail on every fixture of test/support/image-fixtures.ts: good files become a
// WebP fitting inside size × size (upright, first frame, sRGB, never enlarged); bad files
// fail with the decoder's reason. And the server's byte-bounded LRU of thumbnails.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ImageError } from '../../../shared/errors.js';
import { makeThumbnail } from '../../../shared/images/thumbnail.js';
import { ThumbnailCache } from '../../../workers/server/thumbnail-cache.js';
import { FIXTURES, writeBadInputFixtures, type BadInputFixtures } from '../../support/image-fixtures.js';

const OPTS = { size: 32, maxPixels: 50_000_000 };
let dir = '';
let fixtures: BadInputFixtures;
const read = (name: string): Promise<Buffer> => readFile(join(dir, name));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgsim-thumbnail-'));
  fixtures = await writeBadInputFixtures(dir);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The RGB of the thumbnail's pixel (x, y). */
async function rgbAt(webp: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(webp).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [data[at] as number, data[at + 1] as number, data[at + 2] as number];
}

void describe('makeThumbnail', () => {
  void test('every good fixture becomes a WebP inside size × size, aspect kept', async () => {
    for (const name of fixtures.good) {
      const t = await makeThumbnail(await read(name), OPTS, name);
      const meta = await sharp(t.data).metadata();
      assert.equal(meta.format, 'webp', name);
      assert.deepEqual([meta.width, meta.height], [t.width, t.height], name);
      assert.ok(t.width <= 32 && t.height <= 32 && Math.max(t.width, t.height) === Math.min(32, Math.max(t.sourceWidth, t.sourceHeight)), `${name}: ${t.width}×${t.height}`);
      const ratio = t.sourceWidth / t.sourceHeight;
      assert.ok(Math.abs(t.width / t.height - ratio) < 0.1, `${name}: aspect ${t.width}/${t.height} vs ${ratio}`);
    }
  });

  void test('EXIF orientation applied, first frame of an animation, CMYK and 16-bit become sRGB red', async () => {
    const upright = await makeThumbnail(await read(FIXTURES.exifRotated), OPTS);
    assert.deepEqual([upright.width, upright.height], [24, 32], 'portrait');
    const top = await rgbAt(upright.data, 12, 2);
    const bottom = await rgbAt(upright.data, 12, 29);
    assert.ok((top[0] as number) > 180 && (top[2] as number) < 80, `top is red: ${top.join(',')}`);
    assert.ok((bottom[2] as number) > 180 && (bottom[0] as number) < 80, `bottom is blue: ${bottom.join(',')}`);

    const gif = await makeThumbnail(await read(FIXTURES.animatedGif), OPTS);
    assert.equal((await sharp(gif.data).metadata()).pages ?? 1, 1, 'one frame');
    const green = await rgbAt(gif.data, 16, 16);
    assert.ok((green[1] as number) > 180 && (green[2] as number) < 80, `first frame (green): ${green.join(',')}`);

    for (const name of [FIXTURES.cmyk, FIXTURES.png16]) {
      const t = await makeThumbnail(await read(name), OPTS);
      const [r, g, b] = await rgbAt(t.data, 8, 8);
      assert.ok((r as number) > 200 && (g as number) < 60 && (b as number) < 60, `${name}: ${r},${g},${b}`);
    }
  });

  void test('a small image is not enlarged; size outside 32..512 is refused', async () => {
    const small = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#336699' } }).png().toBuffer();
    const t = await makeThumbnail(small, { size: 160, maxPixels: 1e6 });
    assert.deepEqual([t.width, t.height], [20, 10]);
    await assert.rejects(makeThumbnail(small, { size: 16, maxPixels: 1e6 }), RangeError);
    await assert.rejects(makeThumbnail(small, { size: 513, maxPixels: 1e6 }), RangeError);
  });

  void test('bad files fail with the reason decode gives, named', async () => {
    for (const [name, reason] of Object.entries(fixtures.bad)) {
      await assert.rejects(makeThumbnail(await read(name), OPTS, name), (error: unknown) => {
        assert.ok(error instanceof ImageError, `${name}: ${String(error)}`);
        assert.equal(error.reason, reason, `${name}: ${error.message}`);
        assert.ok(error.message.startsWith(`${name}: `), error.message);
        return true;
      });
    }
  });

  void test('over maxPixels is too-many-pixels before decoding', async () => {
    const png = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#ff0000' } }).png().toBuffer();
    await assert.rejects(makeThumbnail(png, { size: 64, maxPixels: 9_999 }), (e: unknown) => e instanceof ImageError && e.reason === 'too-many-pixels' && /pixel/.test(e.message));
  });
});

void describe('ThumbnailCache', () => {
  const entry = (bytes: number, tag = 'x'): { data: Buffer; etag: string } => ({ data: Buffer.alloc(bytes), etag: `"${tag}"` });

  void test('evicts the least recently used entries past its byte bound', () => {
    const cache = new ThumbnailCache(3 * (1000 + 256));
    cache.set('a', entry(1000));
    cache.set('b', entry(1000));
    cache.set('c', entry(1000));
    assert.ok(cache.get('a'), 'a used: now the newest');
    cache.set('d', entry(1000));
    assert.equal(cache.get('b'), undefined, 'b was the least recently used');
    assert.ok(cache.get('a') && cache.get('c') && cache.get('d'));
    assert.equal(cache.bytes, 3 * 1256);
    cache.set('huge', entry(10_000));
    assert.equal(cache.get('huge'), undefined, 'an entry over the whole bound is not kept');
    assert.equal(cache.size, 3);
    cache.set('a', entry(10));
    assert.equal(cache.bytes, 2 * 1256 + 266, 'replacing an entry counts its new size');
  });

  void test('concurrent requests share one computation; a failure is not cached', async () => {
    const cache = new ThumbnailCache(1 << 20);
    let calls = 0;
    const make = async (): Promise<{ data: Buffer; etag: string }> => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return entry(10);
    };
    const [a, b] = await Promise.all([cache.getOrMake('k', make), cache.getOrMake('k', make)]);
    assert.equal(a, b);
    assert.equal(calls, 1);
    await cache.getOrMake('k', make);
    assert.equal(calls, 1, 'cached');
    await assert.rejects(cache.getOrMake('bad', () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal((await cache.getOrMake('bad', make)).data.length, 10, 'made again after a failure');
  });
});
