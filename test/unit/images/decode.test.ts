// decodeImage on every fixture from test/support/image-fixtures.ts: good files decode
// to size²·3 floats in [0, 1] with the right colours and orientation; bad files fail
// with the expected ImageError reason.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ImageError } from '../../../shared/errors.js';
import { decodeImage, decodeImageToRgb8, type DecodeOptions } from '../../../shared/images/decode.js';
import { FIXTURES, canEncodeAvif, writeBadInputFixtures, type BadInputFixtures } from '../../support/image-fixtures.js';
import { assertColour, pixel } from './pixels.js';

const SIZE = 16;
const OPTS: DecodeOptions = { size: SIZE, fit: 'crop', maxPixels: 50_000_000 };
const RED: [number, number, number] = [1, 0, 0];
const GREEN: [number, number, number] = [0, 1, 0];
const BLUE: [number, number, number] = [0, 0, 1];
const WHITE: [number, number, number] = [1, 1, 1];

let dir = '';
let fixtures: BadInputFixtures;
const at = (name: string): string => join(dir, name);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgsim-decode-'));
  fixtures = await writeBadInputFixtures(dir);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImageError, `expected an ImageError, got ${String(error)}`);
    assert.equal(error.reason, reason, error.message);
    assert.ok(error.message.length > 0);
    return true;
  });
}

void describe('decodeImage: good inputs', () => {
  void test('every good fixture decodes to size²·3 floats in [0, 1]', async () => {
    assert.ok(fixtures.good.length >= 14, `only ${fixtures.good.length} good fixtures`);
    for (const name of fixtures.good) {
      const img = await decodeImage(at(name), OPTS);
      assert.ok(img.data instanceof Float32Array, name);
      assert.equal(img.data.length, SIZE * SIZE * 3, name);
      for (const v of img.data) assert.ok(v >= 0 && v <= 1, `${name}: value ${v} outside [0, 1]`);
      assert.ok(img.width > 0 && img.height > 0, name);
    }
  });

  void test('plain formats keep their colour and report format and original size', async () => {
    const cases: Array<[string, string, [number, number, number]]> = [
      [FIXTURES.jpeg, 'jpeg', RED],
      [FIXTURES.png, 'png', GREEN],
      [FIXTURES.webp, 'webp', BLUE],
      [FIXTURES.gif, 'gif', [1, 1, 0]],
      [FIXTURES.tiff, 'tiff', [1, 0, 1]],
    ];
    if (canEncodeAvif()) cases.push([FIXTURES.avif, 'avif', [0, 1, 1]]);
    for (const [name, format, colour] of cases) {
      const img = await decodeImage(at(name), OPTS);
      assert.equal(img.format, format, name);
      assert.deepEqual([img.width, img.height], [64, 48], name);
      assertColour(pixel(img.data, SIZE, 8, 8), colour, 0.03, name);
    }
  });

  void test('a Buffer decodes exactly like the file path', async () => {
    const fromPath = await decodeImage(at(FIXTURES.exifRotated), OPTS);
    const fromBuffer = await decodeImage(await readFile(at(FIXTURES.exifRotated)), OPTS);
    assert.deepEqual(fromBuffer, fromPath);
  });

  void test('decodeImage is decodeImageToRgb8 / 255', async () => {
    const rgb8 = await decodeImageToRgb8(at(FIXTURES.cmyk), OPTS);
    const f32 = await decodeImage(at(FIXTURES.cmyk), OPTS);
    assert.equal(rgb8.data.length, f32.data.length);
    rgb8.data.forEach((v, i) => assert.equal(f32.data[i], Math.fround(v / 255)));
  });

  void test('CMYK JPEG becomes sRGB and stays red', async () => {
    const img = await decodeImage(at(FIXTURES.cmyk), OPTS);
    const [r, g, b] = pixel(img.data, SIZE, 8, 8);
    assert.ok(r > 0.75 && g < 0.15 && b < 0.15, `CMYK red decoded as ${r}, ${g}, ${b}`);
  });

  void test('16-bit PNG becomes 8-bit red', async () => {
    const img = await decodeImage(at(FIXTURES.png16), OPTS);
    assertColour(pixel(img.data, SIZE, 3, 3), RED, 0.01, '16-bit');
  });

  void test('animated GIF and WebP: the first frame (green), not the second (blue)', async () => {
    for (const name of [FIXTURES.animatedGif, FIXTURES.animatedWebp]) {
      const img = await decodeImage(at(name), OPTS);
      assert.deepEqual([img.width, img.height], [32, 32], `${name}: one frame's size`);
      for (const [x, y] of [[0, 0], [8, 8], [15, 15]] as const) assertColour(pixel(img.data, SIZE, x, y), GREEN, 0.03, `${name} (${x},${y})`);
    }
  });

  void test('EXIF orientation 6 is applied: upright, red on top, portrait size', async () => {
    const meta = await sharp(at(FIXTURES.exifRotated)).metadata();
    assert.equal(meta.orientation, 6);
    assert.deepEqual([meta.width, meta.height], [64, 48], 'stored sideways');
    const img = await decodeImage(at(FIXTURES.exifRotated), OPTS);
    assert.deepEqual([img.width, img.height], [48, 64]);
    assertColour(pixel(img.data, SIZE, 8, 1), RED, 0.1, 'top');
    assertColour(pixel(img.data, SIZE, 8, 14), BLUE, 0.1, 'bottom');
  });

  void test('greyscale JPEG becomes RGB with R = G = B', async () => {
    const img = await decodeImage(at(FIXTURES.grey), OPTS);
    for (let i = 0; i < img.data.length; i += 3) {
      assert.equal(img.data[i], img.data[i + 1]);
      assert.equal(img.data[i], img.data[i + 2]);
    }
    assert.ok(Math.abs((img.data[0] as number) - 128 / 255) < 0.02);
  });

  void test('alpha is flattened onto white (RGBA and grey+alpha)', async () => {
    // 64×32, left half transparent: the centre crop shows white on the left, the colour on the right.
    const rgba = await decodeImage(at(FIXTURES.rgba), OPTS);
    assertColour(pixel(rgba.data, SIZE, 2, 8), WHITE, 0.01, 'transparent → white');
    assertColour(pixel(rgba.data, SIZE, 13, 8), RED, 0.01, 'opaque red');
    const ga = await decodeImage(at(FIXTURES.greyAlpha), OPTS);
    assertColour(pixel(ga.data, SIZE, 2, 8), WHITE, 0.01, 'grey+alpha transparent → white');
    assertColour(pixel(ga.data, SIZE, 13, 8), [64 / 255, 64 / 255, 64 / 255], 0.01, 'opaque grey');
  });

  void test("failOn 'error': a JPEG with a harmless libjpeg warning decodes (sharp's default 'warning' would reject it)", async () => {
    await assert.rejects(sharp(at(FIXTURES.jpegWarning)).raw().toBuffer(), /extraneous bytes/);
    const img = await decodeImage(at(FIXTURES.jpegWarning), OPTS);
    assertColour(pixel(img.data, SIZE, 8, 8), RED, 0.03, 'warning JPEG');
    assert.equal(img.corruption, undefined, 'warnings are not looked for unless asked');
  });

  void test('detectCorruption (query images): a garbled JPEG decodes, with the decoder warning as `corruption`; a good image has none', async () => {
    const garbled = await garbledJpeg();
    await assert.rejects(sharp(garbled, { failOn: 'warning' }).raw().toBuffer(), /Corrupt JPEG data/, 'the fixture only warns');
    const quiet = await decodeImage(garbled, OPTS);
    assert.equal(quiet.corruption, undefined, 'without detectCorruption it decodes in silence (the pipeline keeps that)');
    const told = await decodeImage(garbled, { ...OPTS, detectCorruption: true });
    assert.match(told.corruption ?? '', /^Corrupt JPEG data/);
    assert.deepEqual(Array.from(told.data), Array.from(quiet.data), 'the same pixels either way');
    const good = await decodeImage(at(FIXTURES.jpeg), { ...OPTS, detectCorruption: true });
    assert.equal(good.corruption, undefined);
    const harmless = await decodeImage(at(FIXTURES.jpegWarning), { ...OPTS, detectCorruption: true });
    assert.match(harmless.corruption ?? '', /extraneous bytes/, 'any libjpeg warning is reported: the caller only warns');
    await rejectsWith(decodeImage(at(Object.keys(fixtures.bad).find((n) => fixtures.bad[n] === 'truncated') ?? ''), { ...OPTS, detectCorruption: true }), 'truncated');
  });
});

/** A textured JPEG whose entropy-coded data is overwritten from 30 % to 60 % of the file: libjpeg only warns ("Corrupt JPEG data: …"). */
async function garbledJpeg(): Promise<Buffer> {
  const side = 128;
  const raw = Buffer.from(Array.from({ length: side * side * 3 }, (_, i) => (i * 7919) % 251));
  const jpeg = await sharp(raw, { raw: { width: side, height: side, channels: 3 } }).jpeg().toBuffer();
  for (let i = Math.floor(jpeg.length * 0.3); i < Math.floor(jpeg.length * 0.6); i++) jpeg[i] = ((jpeg[i] as number) * 31 + 17) & 0xff;
  return jpeg;
}

void describe('decodeImage: bad inputs', () => {
  void test('every bad fixture fails with its ImageError reason', async () => {
    assert.ok(Object.keys(fixtures.bad).length >= 9);
    for (const [name, reason] of Object.entries(fixtures.bad)) {
      await rejectsWith(decodeImage(at(name), OPTS), reason);
      await rejectsWith(decodeImage(await readFile(at(name)), OPTS), reason); // same from a Buffer
    }
  });

  void test('the decompression bomb is refused from its header, quickly', async () => {
    const started = performance.now();
    await rejectsWith(decodeImage(at(FIXTURES.bomb), { ...OPTS, maxPixels: 268_402_689 }), 'too-many-pixels');
    assert.ok(performance.now() - started < 1000, 'should not decode the pixels');
  });

  void test('maxPixels is inclusive: 64×48 passes at 3072 and fails at 3071', async () => {
    await decodeImage(at(FIXTURES.jpeg), { ...OPTS, maxPixels: 64 * 48 });
    await rejectsWith(decodeImage(at(FIXTURES.jpeg), { ...OPTS, maxPixels: 64 * 48 - 1 }), 'too-many-pixels');
  });

  void test('a missing path or a directory is unreadable', async () => {
    await rejectsWith(decodeImage(at('does-not-exist.jpg'), OPTS), 'unreadable');
    await rejectsWith(decodeImage(dir, OPTS), 'unreadable');
  });

  void test('error messages name the file', async () => {
    await assert.rejects(decodeImage(at(FIXTURES.truncatedJpeg), OPTS), (e: Error) => e.message.includes(FIXTURES.truncatedJpeg));
  });

  void test('invalid options are programming errors (RangeError), not ImageErrors', async () => {
    await assert.rejects(decodeImage(at(FIXTURES.jpeg), { ...OPTS, size: 0 }), RangeError);
    await assert.rejects(decodeImage(at(FIXTURES.jpeg), { ...OPTS, size: 2.5 }), RangeError);
    await assert.rejects(decodeImage(at(FIXTURES.jpeg), { ...OPTS, maxPixels: 0.5 }), RangeError);
    await decodeImage(at(FIXTURES.jpeg), { ...OPTS, maxPixels: Number.POSITIVE_INFINITY }); // no limit
  });
});

void describe('resize policy: crop vs letterbox', () => {
  // The EXIF fixture is 48×64 upright (portrait): red top half, blue bottom half.
  void test('crop fills the square (no bars); letterbox keeps everything with black side bars', async () => {
    const crop = await decodeImage(at(FIXTURES.exifRotated), { ...OPTS, fit: 'crop' });
    const box = await decodeImage(at(FIXTURES.exifRotated), { ...OPTS, fit: 'letterbox' });
    // Crop: the middle 48×48 of the 48×64 image → every column is image, top red, bottom blue.
    assertColour(pixel(crop.data, SIZE, 0, 3), RED, 0.1, 'crop left edge, top');
    assertColour(pixel(crop.data, SIZE, 15, 12), BLUE, 0.1, 'crop right edge, bottom');
    // Letterbox: scaled to 12×16, centred, 2 px black bars left and right.
    for (const x of [0, 1, 14, 15]) assertColour(pixel(box.data, SIZE, x, 8), [0, 0, 0], 0.01, `bar column ${x}`);
    assertColour(pixel(box.data, SIZE, 8, 0), RED, 0.1, 'letterbox top row is image');
    assertColour(pixel(box.data, SIZE, 8, 15), BLUE, 0.1, 'letterbox bottom row is image');
    assert.notDeepEqual(crop.data, box.data);
    assert.deepEqual([crop.width, crop.height, box.width, box.height], [48, 64, 48, 64]);
  });

  void test('landscape letterbox: bars top and bottom; alpha still flattened to white', async () => {
    // 64×32 → 16×8 centred: rows 0–3 and 12–15 are black bars.
    const box = await decodeImage(at(FIXTURES.rgba), { ...OPTS, fit: 'letterbox' });
    for (const y of [0, 3, 12, 15]) assertColour(pixel(box.data, SIZE, 8, y), [0, 0, 0], 0.01, `bar row ${y}`);
    assertColour(pixel(box.data, SIZE, 2, 8), WHITE, 0.02, 'transparent half');
    assertColour(pixel(box.data, SIZE, 13, 8), RED, 0.02, 'red half');
    // Crop of the same image: only the middle 32×32 is kept, no bars.
    const crop = await decodeImage(at(FIXTURES.rgba), OPTS);
    assertColour(pixel(crop.data, SIZE, 2, 0), WHITE, 0.02, 'crop top row, left');
    assertColour(pixel(crop.data, SIZE, 13, 0), RED, 0.02, 'crop top row, right');
  });

  void test('small images are upscaled to the full size', async () => {
    const img = await decodeImage(at(FIXTURES.grey), { ...OPTS, size: 96 });
    assert.equal(img.data.length, 96 * 96 * 3);
  });
});
