// Decodes one image file (or its bytes) into a fixed-size RGB tensor for the model.
//
// Pipeline (one async sharp/libvips call on libuv's thread pool, so callers can
// overlap decoding with compute; nothing here changes sharp's global settings):
//   1. read the bytes (a missing/unreadable path → ImageError 'unreadable');
//      zero bytes → 'empty-file'
//   2. read the header: format must be one of formats.ts's DECODABLE_FORMATS
//      (SVG or a text file named .jpg → 'unsupported-format'); width × height
//      (after EXIF orientation) must be ≤ maxPixels → else 'too-many-pixels'
//      (libvips also enforces it via limitInputPixels: a decompression-bomb guard
//      that trips on the header before any pixel is allocated)
//   3. decode with failOn 'error': truncated or broken data is an error
//      ('truncated' / 'corrupt', see decode-errors.ts), while recoverable
//      warnings (e.g. libjpeg's "extraneous bytes before marker", common in
//      camera files) do not reject an otherwise good image — sharp's default,
//      'warning', would
//      With opts.detectCorruption (query images: imgsim search, the HTTP API) the
//      pixels are decoded with failOn 'warning' first; an image that only decodes
//      under 'error' is returned with `corruption` (the decoder's warning): a garbled
//      JPEG decodes to grey blocks, and the caller says so instead of searching in
//      silence. A good image costs one decode, a warned one two.
//   4. animated GIF/WebP and multi-page TIFF: the first frame/page only
//   5. EXIF auto-orientation (.rotate()), so "up" is up
//   6. alpha flattened onto white; CMYK, greyscale, 16-bit and ICC-tagged images
//      converted to 8-bit sRGB with exactly 3 channels (checked on the output)
//   7. resize to size × size with libvips' default kernel (lanczos3):
//
// Resize policy (opts.fit):
//   'crop'      scale so the *shorter* side is `size`, then cut the centre square
//               (sharp fit 'cover', position 'centre'). No borders; the edges of
//               the longer side are lost. The default choice for embeddings.
//   'letterbox' scale so the *longer* side is `size`, keep the whole image and pad
//               the rest with black bars, centred (sharp fit 'contain'). Nothing
//               lost, but the bars are part of the input the model sees.
//   Small images are upscaled in both modes (so a thumbnail fills the tile).
//
// Output: Float32Array, HWC (row-major, then R, G, B), values v/255 in [0, 1],
// length size × size × 3. `width`/`height` are the original dimensions after
// EXIF orientation (of the first frame); `format` is sharp's decoder name, with
// 'avif' for AV1 in a HEIF container.

import { readFile } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo, type ResizeOptions, type SharpOptions } from 'sharp';
import { ImageError, errorMessage } from '../errors.js';
import { DECODABLE_FORMATS } from './formats.js';
import { imageErrorMessage, toImageError } from './decode-errors.js';

export type ResizeFit = 'crop' | 'letterbox';

export interface DecodeOptions {
  /** Output side in pixels (the tensor is size × size × 3). */
  size: number;
  fit: ResizeFit;
  /** Largest width × height accepted (header values, after orientation). */
  maxPixels: number;
  /** Report recoverable decoder warnings (libvips failOn 'warning') as `corruption` instead of ignoring them. */
  detectCorruption?: boolean;
}

export interface DecodedImage {
  /** HWC RGB in [0, 1], length size*size*3. */
  data: Float32Array;
  /** Original width after EXIF orientation. */
  width: number;
  /** Original height after EXIF orientation. */
  height: number;
  /** Decoder name: jpeg, png, webp, gif, tiff, avif or heif. */
  format: string;
  /** With detectCorruption: the decoder's warning when the image decoded only by ignoring it ("Corrupt JPEG data: …"). */
  corruption?: string;
}

export interface DecodedRgb8 extends Omit<DecodedImage, 'data'> {
  /** HWC RGB bytes 0–255, length size*size*3. */
  data: Buffer;
}

const WHITE = { r: 255, g: 255, b: 255 };
const BLACK = { r: 0, g: 0, b: 0, alpha: 1 };

/** byte → byte/255, precomputed so the conversion is a table lookup. */
const UNIT: Float32Array = (() => {
  const table = new Float32Array(256);
  for (let i = 0; i < 256; i++) table[i] = i / 255;
  return table;
})();

function checkOptions(opts: DecodeOptions): void {
  if (!Number.isInteger(opts.size) || opts.size < 1) throw new RangeError(`size must be a positive integer, got ${opts.size}`);
  if (!(opts.maxPixels >= 1)) throw new RangeError(`maxPixels must be ≥ 1, got ${opts.maxPixels}`);
  if (opts.fit !== 'crop' && opts.fit !== 'letterbox') throw new RangeError(`fit must be 'crop' or 'letterbox', got ${String(opts.fit)}`);
}

async function readBytes(input: Buffer | string): Promise<Buffer> {
  if (typeof input !== 'string') return input;
  try {
    return await readFile(input);
  } catch (error) {
    throw new ImageError('unreadable', imageErrorMessage(input, 'cannot read file', errorMessage(error)));
  }
}

function formatName(meta: Metadata): string {
  return meta.format === 'heif' && meta.compression === 'av1' ? 'avif' : meta.format;
}

/** An image read and checked, ready for a sharp pipeline with `sharpOptions`. */
export interface OpenedImage {
  bytes: Buffer;
  /** The file path, when the input was one (for messages). */
  source: string | undefined;
  sharpOptions: SharpOptions;
  meta: Metadata;
  /** Upright (EXIF-oriented) dimensions. */
  width: number;
  height: number;
}

/**
 * Reads an image (file or bytes) and checks it before any pixel is decoded: not empty,
 * a decodable format, sane dimensions, at most `maxPixels` pixels (decompression bombs
 * stop here). Throws ImageError with the reason.
 */
export async function openImage(input: Buffer | string, maxPixels: number): Promise<OpenedImage> {
  const source = typeof input === 'string' ? input : undefined;
  const bytes = await readBytes(input);
  if (bytes.length === 0) throw new ImageError('empty-file', imageErrorMessage(source, 'empty file (0 bytes)'));

  const sharpOptions: SharpOptions = {
    failOn: 'error',
    limitInputPixels: Math.min(Math.floor(maxPixels), Number.MAX_SAFE_INTEGER), // Infinity: no practical limit
    animated: false,
    pages: 1,
    page: 0,
  };

  let meta: Metadata;
  try {
    meta = await sharp(bytes, sharpOptions).metadata();
  } catch (error) {
    throw toImageError(error, bytes, source);
  }
  if (!DECODABLE_FORMATS.has(meta.format)) {
    throw new ImageError('unsupported-format', imageErrorMessage(source, `${meta.format} images are not supported`));
  }
  const width = meta.autoOrient.width;
  const height = meta.autoOrient.height;
  if (!(width > 0 && height > 0)) throw new ImageError('corrupt', imageErrorMessage(source, `bad dimensions ${width}×${height}`));
  if (width * height > maxPixels) {
    throw new ImageError(
      'too-many-pixels',
      imageErrorMessage(source, `${width}×${height} = ${width * height} pixels is over the limit of ${maxPixels}`),
    );
  }
  return { bytes, source, sharpOptions, meta, width, height };
}

/** Decodes to size × size 8-bit RGB (HWC). The shared core of decodeImage; also handy for drawing. */
export async function decodeImageToRgb8(input: Buffer | string, opts: DecodeOptions): Promise<DecodedRgb8> {
  checkOptions(opts);
  const { bytes, source, sharpOptions, meta, width, height } = await openImage(input, opts.maxPixels);

  const resize: ResizeOptions =
    opts.fit === 'crop' ? { fit: 'cover', position: 'centre' } : { fit: 'contain', position: 'centre', background: BLACK };
  const pixels = (options: SharpOptions): Promise<{ data: Buffer; info: OutputInfo }> =>
    sharp(bytes, options)
      .rotate()
      .flatten({ background: WHITE })
      .toColourspace('srgb')
      .resize(opts.size, opts.size, resize)
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  let raw: { data: Buffer; info: OutputInfo } | undefined;
  let corruption: string | undefined;
  if (opts.detectCorruption === true) {
    try {
      raw = await pixels({ ...sharpOptions, failOn: 'warning' });
    } catch (error) {
      corruption = corruptionWarning(errorMessage(error)); // decoded again below, ignoring warnings: does it decode at all?
    }
  }
  if (raw === undefined) {
    try {
      raw = await pixels(sharpOptions);
    } catch (error) {
      throw toImageError(error, bytes, source);
    }
  }
  const { data, info } = raw;
  if (info.channels !== 3 || info.width !== opts.size || info.height !== opts.size || data.length !== opts.size * opts.size * 3) {
    throw new ImageError(
      'corrupt',
      imageErrorMessage(source, `decoder produced ${info.width}×${info.height}×${info.channels}, expected ${opts.size}×${opts.size}×3`),
    );
  }
  return { data, width, height, format: formatName(meta), ...(corruption !== undefined ? { corruption } : {}) };
}

/**
 * The decoder's warning in one line, without the loader's name ("Corrupt JPEG data:
 * premature end of data segment"): libvips adds "Warning treated as error due to failOn
 * setting" before or after it, which says nothing about the image.
 */
export function corruptionWarning(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/treated as error|failOn/i.test(l));
  return (lines[0] ?? 'the decoder reported damaged data').replace(/^Vips[A-Za-z]+: /, '');
}

/** Decodes one image to the model's input: size × size × 3 floats in [0, 1] (see the policy above). */
export async function decodeImage(input: Buffer | string, opts: DecodeOptions): Promise<DecodedImage> {
  const { data, width, height, format, corruption } = await decodeImageToRgb8(input, opts);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = UNIT[data[i] as number] as number;
  return { data: out, width, height, format, ...(corruption !== undefined ? { corruption } : {}) };
}
