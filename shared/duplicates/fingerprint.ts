// One image's fingerprint for duplicate detection, from one decode:
//   sha256        of the file's bytes (exact tier: identical files)
//   pixels        sha256 of the decoded, upright 8-bit RGB pixels and their size (exact
//                 tier: the same picture re-saved losslessly or with other metadata)
//   phash/mirror  64-bit perceptual hashes of a 32 × 32 grey thumbnail and of its mirror
//                 image (perceptual tier; flips)
//   square        that 32 × 32 thumbnail (the perceptual tier's pixel check)
//   colour        opponent colours of an 8 × 8 grid: the hash and the thumbnails are
//                 grey, so a red and a blue circle would otherwise agree
//   thumb         a grey thumbnail, longest side THUMB_SIZE (the verified tier's check)
//   orb           ORB keypoints, descriptors and visual words at `workingSize`
//                 (candidates and the verified tier)
// plus what the keeper is chosen by (upright width × height, file size).
//
// The image is decoded the way the rest of imgsim decodes (decode.ts openImage: pixel
// limit, formats, error reasons; EXIF orientation; alpha on white; sRGB). A bad image
// throws ImageError with its reason and is recorded as failed by the caller.
//
// Memory: ~100 KB an image at 1,000 keypoints (descriptors 32 KB, word entries 32 KB,
// words ~20 KB, points 8 KB, thumbnails 5 KB).

import { createHash } from 'node:crypto';
import sharp, { type OutputInfo } from 'sharp';
import { ImageError } from '../errors.js';
import { imageErrorMessage, toImageError } from '../images/decode-errors.js';
import { openImage } from '../images/decode.js';
import type { Cv } from '../features/opencv.js';
import { detectOrb } from '../features/orb.js';
import type { GreyImage } from './alignment.js';
import { HASH_INPUT, perceptualHash, type Hash64 } from './perceptual-hash.js';
import { distinctWords, MAX_DESCRIPTORS, wordEntries } from './visual-words.js';
import type { MatchableImage } from './word-match.js';

/** Side of the grid of cells whose chromaticity the fingerprint keeps. */
export const COLOUR_GRID = 8;

/**
 * Colour of each cell of a COLOUR_GRID × COLOUR_GRID resize (aspect ignored) as two
 * opponent channels, (R − G)/√2 and (R + G − 2B)/√6, divided by the image's mean
 * intensity: a brightness change scales all three channels and cancels out, a dark cell
 * has little colour to disagree about (unlike r/(r+g+b), which is noise in the shadows).
 */
async function opponentColours(raw: Buffer, width: number, height: number): Promise<Float32Array> {
  const cells = await sharp(raw, { raw: { width, height, channels: 3 } }).resize(COLOUR_GRID, COLOUR_GRID, { fit: 'fill' }).raw({ depth: 'uchar' }).toBuffer();
  const n = COLOUR_GRID * COLOUR_GRID;
  let mean = 0;
  for (let i = 0; i < 3 * n; i++) mean += cells[i] as number;
  mean = Math.max(1, mean / (3 * n));
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const r = cells[3 * i] as number;
    const g = cells[3 * i + 1] as number;
    const b = cells[3 * i + 2] as number;
    out[2 * i] = (r - g) / Math.SQRT2 / mean;
    out[2 * i + 1] = (r + g - 2 * b) / Math.sqrt(6) / mean;
  }
  return out;
}

/** The largest colour difference of a cell of two grids (`mirror`: the first one flipped left–right). */
export function colourDistance(a: Float32Array, b: Float32Array, mirror: boolean): number {
  let most = 0;
  for (let y = 0; y < COLOUR_GRID; y++) {
    for (let x = 0; x < COLOUR_GRID; x++) {
      const i = y * COLOUR_GRID + (mirror ? COLOUR_GRID - 1 - x : x);
      const j = y * COLOUR_GRID + x;
      most = Math.max(most, Math.hypot((a[2 * i] as number) - (b[2 * j] as number), (a[2 * i + 1] as number) - (b[2 * j + 1] as number)));
    }
  }
  return most;
}

/** Longest side of the grey thumbnail a verified pair's alignment is checked on. */
export const THUMB_SIZE = 64;

export interface FingerprintOptions {
  /** Longest side of the image ORB runs on. */
  workingSize: number;
  /** ORB keypoints kept (at most 2,048). */
  nfeatures: number;
  maxPixels: number;
}

export interface OrbPrint extends MatchableImage {
  /** Distinct visual words (for the inverted index). */
  words: Uint32Array;
  /** Longest side of the working image the points refer to. */
  workingSize: number;
}

export interface Fingerprint {
  key: string;
  /** File size in bytes. */
  bytes: number;
  /** Upright dimensions. */
  width: number;
  height: number;
  sha256: string;
  pixels: string;
  phash: Hash64;
  mirror: Hash64;
  square: Uint8Array;
  /** COLOUR_GRID² cells × 2 opponent colours; absent in fingerprints stored before it existed. */
  colour?: Float32Array;
  thumb: GreyImage;
  orb: OrbPrint;
}

async function greyResize(raw: Buffer, width: number, height: number, w: number, h: number, fit: 'inside' | 'fill'): Promise<GreyImage> {
  const { data, info } = await sharp(raw, { raw: { width, height, channels: 3 } })
    .greyscale()
    .resize(w, h, { fit })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) throw new Error(`grey resize produced ${info.channels} channels`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** Decoded, upright 8-bit RGB pixels (optionally mirrored left–right). */
async function decodeRgb(key: string, input: Buffer, maxPixels: number, mirror: boolean): Promise<{ data: Buffer; width: number; height: number }> {
  const { bytes, source, sharpOptions } = await openImage(input, maxPixels);
  let raw: { data: Buffer; info: OutputInfo };
  try {
    let pipeline = sharp(bytes, sharpOptions).rotate();
    if (mirror) pipeline = pipeline.flop();
    raw = await pipeline
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw toImageError(error, bytes, source);
  }
  const { width, height, channels } = raw.info;
  if (channels !== 3) throw new ImageError('corrupt', imageErrorMessage(key, `decoder produced ${channels} channels, expected 3`));
  return { data: raw.data, width, height };
}

function orbPrint(cv: Cv, working: GreyImage, nfeatures: number): OrbPrint {
  const features = detectOrb(cv, { data: Buffer.from(working.data.buffer, working.data.byteOffset, working.data.length), width: working.width, height: working.height, channels: 1 }, nfeatures);
  const n = features.keypoints.length;
  const points = new Float32Array(2 * n);
  features.keypoints.forEach((k, i) => {
    points[2 * i] = k.x;
    points[2 * i + 1] = k.y;
  });
  const descriptors = new Uint32Array(features.descriptors.length / 4);
  new Uint8Array(descriptors.buffer).set(features.descriptors);
  const entries = wordEntries(features.descriptors);
  return { points, descriptors, entries, words: distinctWords(entries), workingSize: Math.max(working.width, working.height) };
}

function checkOptions(o: FingerprintOptions): void {
  if (!Number.isInteger(o.nfeatures) || o.nfeatures < 1 || o.nfeatures > MAX_DESCRIPTORS) throw new RangeError(`nfeatures must be 1…${MAX_DESCRIPTORS}, got ${o.nfeatures}`);
}

/** The fingerprint of one image's bytes; `key` names it in error messages. */
export async function fingerprintImage(cv: Cv, key: string, input: Buffer, o: FingerprintOptions): Promise<Fingerprint> {
  checkOptions(o);
  const sha256 = createHash('sha256').update(input).digest('hex');
  const { data, width, height } = await decodeRgb(key, input, o.maxPixels, false);
  const pixels = createHash('sha256').update(`${width}x${height}:`).update(data).digest('hex');
  const [working, thumb, square, colour] = await Promise.all([
    greyResize(data, width, height, o.workingSize, o.workingSize, 'inside'),
    greyResize(data, width, height, THUMB_SIZE, THUMB_SIZE, 'inside'),
    greyResize(data, width, height, HASH_INPUT, HASH_INPUT, 'fill'),
    opponentColours(data, width, height),
  ]);
  return {
    key,
    bytes: input.length,
    width,
    height,
    sha256,
    pixels,
    phash: perceptualHash(square.data),
    mirror: perceptualHash(square.data, true),
    square: square.data,
    colour,
    thumb,
    orb: orbPrint(cv, working, o.nfeatures),
  };
}

/** ORB features and thumbnail of the image's mirror image (to verify a pair found by the mirror hash). */
export async function mirroredPrint(cv: Cv, key: string, input: Buffer, o: FingerprintOptions): Promise<{ orb: OrbPrint; thumb: GreyImage }> {
  checkOptions(o);
  const { data, width, height } = await decodeRgb(key, input, o.maxPixels, true);
  const [working, thumb] = await Promise.all([greyResize(data, width, height, o.workingSize, o.workingSize, 'inside'), greyResize(data, width, height, THUMB_SIZE, THUMB_SIZE, 'inside')]);
  return { orb: orbPrint(cv, working, o.nfeatures), thumb };
}
