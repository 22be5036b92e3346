// Writes a folder of small image files covering the decoder's edge cases, all made
// with sharp or by hand at test time (nothing downloaded, < 1 MB in total, ~0.5 s):
//   good: one file per supported format, and the awkward-but-valid ones (CMYK,
//         16-bit, animated, EXIF-rotated, greyscale, alpha, a JPEG whose libjpeg
//         warning is harmless)
//   bad:  each mapped to the ImageFailureReason decodeImage must report.
// Colours are solid (or split in halves) so tests can check the decoded pixels;
// FIXTURES documents what each good file should look like after decoding.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import type { ImageFailureReason } from '../../shared/errors.js';

/** File names of the fixtures, and what a good one decodes to. */
export const FIXTURES = {
  jpeg: 'red.jpg', // solid red 64×48
  png: 'green.png', // solid green 64×48
  webp: 'blue.webp', // solid blue 64×48
  gif: 'yellow.gif', // solid yellow 64×48
  tiff: 'magenta.tiff', // solid magenta 64×48
  avif: 'cyan.avif', // solid cyan 64×48 (only when sharp can encode AVIF)
  cmyk: 'cmyk-red.jpg', // red, stored as CMYK
  png16: 'red-16bit.png', // red, 16 bits per channel
  animatedGif: 'animated-green-then-blue.gif', // 2 frames 32×32: green, then blue
  animatedWebp: 'animated-green-then-blue.webp',
  exifRotated: 'exif-orientation-6.jpg', // upright 48×64: top half red, bottom half blue; stored sideways + Orientation 6
  grey: 'grey.jpg', // 1-channel grey 128
  rgba: 'rgba-left-transparent.png', // 64×32: left half fully transparent, right half opaque red
  greyAlpha: 'grey-alpha-left-transparent.png', // 64×32 grey+alpha: left transparent, right opaque grey 64
  jpegWarning: 'jpeg-harmless-warning.jpg', // red, 4 stray bytes before a marker (libjpeg warns, decodes fine)
  empty: 'empty.jpg',
  truncatedJpeg: 'truncated.jpg',
  truncatedPng: 'truncated.png',
  truncatedGif: 'truncated.gif',
  truncatedWebp: 'truncated.webp',
  text: 'not-an-image.jpg',
  svg: 'vector-drawing.jpg', // an SVG under a .jpg name: sharp could render it, decodeImage must refuse
  bomb: 'bomb-30000x30000.png', // a genuine 1-bit 30000×30000 PNG (~0.5 MB), 900 Mpx when decoded
  corruptPng: 'corrupt.png', // complete file with scrambled IDAT bytes
} as const;

export interface BadInputFixtures {
  /** Relative paths expected to decode. */
  good: string[];
  /** Relative path → the reason decodeImage must fail with. */
  bad: Record<string, ImageFailureReason>;
}

const RED = { r: 255, g: 0, b: 0 };

function solid(width: number, height: number, background: { r: number; g: number; b: number; alpha?: number }, channels: 3 | 4 = 3): Sharp {
  return sharp({ create: { width, height, channels, background } });
}

/** Deterministic noise, so truncating a file cuts real entropy-coded data. */
function noiseImage(size: number): Sharp {
  const px = Buffer.allocUnsafe(size * size * 3);
  let s = 12345;
  for (let i = 0; i < px.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    px[i] = s >>> 24;
  }
  return sharp(px, { raw: { width: size, height: size, channels: 3 } });
}

function half(bytes: Buffer): Buffer {
  return bytes.subarray(0, Math.floor(bytes.length / 2));
}

// --- a hand-built PNG (the bomb): sharp refuses to create 900 Mpx images, rightly.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A valid all-black 1-bit greyscale PNG of side `side`: tiny on disk, side² pixels decoded. */
function bombPng(side: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const rows = Buffer.alloc((1 + Math.ceil(side / 8)) * side); // filter byte 0 + zero bits per row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(rows, { level: 1 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** `png` with a few bytes inside its first IDAT chunk's data flipped (CRC left stale). */
function corruptPng(png: Buffer): Buffer {
  const out = Buffer.from(png);
  const at = out.indexOf('IDAT', 8, 'ascii');
  const length = out.readUInt32BE(at - 4);
  const start = at + 4 + Math.floor(length / 3);
  for (let i = start; i < start + 16 && i < at + 4 + length; i++) out[i] = (out[i] as number) ^ 0xff;
  return out;
}

/** `jpeg` with stray bytes inserted before its first DQT marker: libjpeg warns "extraneous bytes". */
function jpegWithStrayBytes(jpeg: Buffer): Buffer {
  let at = -1;
  for (let i = 2; i < jpeg.length - 1; i++) {
    if (jpeg[i] === 0xff && jpeg[i + 1] === 0xdb) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new Error('no DQT marker in the JPEG');
  return Buffer.concat([jpeg.subarray(0, at), Buffer.from([0, 0, 0, 0]), jpeg.subarray(at)]);
}

/** Two stacked 32×32 frames, green over blue, as one raw image with pageHeight 32. */
function greenThenBlueFrames(): { data: Buffer; raw: { width: number; height: number; channels: 3; pageHeight: number } } {
  const data = Buffer.alloc(32 * 64 * 3);
  for (let p = 0; p < 32 * 64; p++) data[p * 3 + (p < 32 * 32 ? 1 : 2)] = 255;
  return { data, raw: { width: 32, height: 64, channels: 3, pageHeight: 32 } };
}

/** Upright 48×64: top half red, bottom half blue. */
function redOverBlue(): Buffer {
  const data = Buffer.alloc(48 * 64 * 3);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 48; x++) data[(y * 48 + x) * 3 + (y < 32 ? 0 : 2)] = 255;
  return data;
}

/** RGBA 64×32: left half fully transparent (black), right half opaque `rgb`. */
function leftTransparent(rgb: readonly [number, number, number]): Buffer {
  const data = Buffer.alloc(64 * 32 * 4);
  for (let y = 0; y < 32; y++) {
    for (let x = 32; x < 64; x++) {
      const i = (y * 64 + x) * 4;
      data.set([...rgb, 255], i);
    }
  }
  return data;
}

/** Whether this sharp build can write AVIF (it needs libheif with an AV1 encoder). */
export function canEncodeAvif(): boolean {
  return sharp.format.heif.output.buffer;
}

export async function writeBadInputFixtures(dir: string): Promise<BadInputFixtures> {
  await mkdir(dir, { recursive: true });
  const files = new Map<string, Buffer | Promise<Buffer>>();
  const F = FIXTURES;

  files.set(F.jpeg, solid(64, 48, RED).jpeg().toBuffer());
  files.set(F.png, solid(64, 48, { r: 0, g: 255, b: 0 }).png().toBuffer());
  files.set(F.webp, solid(64, 48, { r: 0, g: 0, b: 255 }).webp().toBuffer());
  files.set(F.gif, solid(64, 48, { r: 255, g: 255, b: 0 }).gif().toBuffer());
  files.set(F.tiff, solid(64, 48, { r: 255, g: 0, b: 255 }).tiff().toBuffer());
  if (canEncodeAvif()) files.set(F.avif, solid(64, 48, { r: 0, g: 255, b: 255 }).avif().toBuffer());
  files.set(F.cmyk, solid(32, 32, RED).toColourspace('cmyk').jpeg().toBuffer());
  files.set(F.png16, solid(32, 32, RED).toColourspace('rgb16').png().toBuffer());
  const frames = greenThenBlueFrames();
  files.set(F.animatedGif, sharp(frames.data, { raw: frames.raw }).gif({ loop: 0, delay: [200, 200] }).toBuffer());
  files.set(F.animatedWebp, sharp(frames.data, { raw: frames.raw }).webp({ loop: 0, delay: [200, 200], lossless: true }).toBuffer());
  // Stored pixels are the upright image turned 90° anticlockwise; Orientation 6 says
  // "rotate 90° clockwise to display", which restores red-on-top.
  files.set(
    F.exifRotated,
    sharp(redOverBlue(), { raw: { width: 48, height: 64, channels: 3 } })
      .rotate(270)
      .toBuffer({ resolveWithObject: true })
      .then(({ data, info }) =>
        sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
          .withMetadata({ orientation: 6 })
          .jpeg({ quality: 95 })
          .toBuffer(),
      ),
  );
  files.set(F.grey, solid(32, 32, { r: 128, g: 128, b: 128 }).toColourspace('b-w').jpeg().toBuffer());
  files.set(F.rgba, sharp(leftTransparent([255, 0, 0]), { raw: { width: 64, height: 32, channels: 4 } }).png().toBuffer());
  files.set(
    F.greyAlpha,
    sharp(leftTransparent([64, 64, 64]), { raw: { width: 64, height: 32, channels: 4 } }).toColourspace('b-w').png().toBuffer(),
  );
  files.set(F.jpegWarning, solid(32, 32, RED).jpeg().toBuffer().then(jpegWithStrayBytes));

  files.set(F.empty, Buffer.alloc(0));
  files.set(F.truncatedJpeg, noiseImage(128).jpeg().toBuffer().then(half));
  files.set(F.truncatedPng, noiseImage(128).png().toBuffer().then(half));
  files.set(F.truncatedGif, noiseImage(128).gif().toBuffer().then(half));
  files.set(F.truncatedWebp, noiseImage(128).webp().toBuffer().then(half));
  files.set(F.text, Buffer.from('This is a text file, not a JPEG.\n'));
  files.set(F.svg, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="red"/></svg>\n'));
  files.set(F.bomb, bombPng(30000));
  files.set(F.corruptPng, noiseImage(128).png().toBuffer().then(corruptPng));

  await Promise.all([...files].map(async ([name, bytes]) => writeFile(join(dir, name), await bytes)));

  const bad: Record<string, ImageFailureReason> = {
    [F.empty]: 'empty-file',
    [F.truncatedJpeg]: 'truncated',
    [F.truncatedPng]: 'truncated',
    [F.truncatedGif]: 'truncated',
    [F.truncatedWebp]: 'truncated',
    [F.text]: 'unsupported-format',
    [F.svg]: 'unsupported-format',
    [F.bomb]: 'too-many-pixels',
    [F.corruptPng]: 'corrupt',
  };
  const good = [...files.keys()].filter((name) => !(name in bad));
  return { good, bad };
}
