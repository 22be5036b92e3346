// A small WebP of one stored image, for the web app's grids (GET …/thumbnail).
//
// The same guards as the pipeline's decode (decode.ts), in this order:
//   1. the first bytes must be an image container we read (sniff.ts; or a JPEG's SOI): a
//      text file (or an SVG) under an image's key never reaches sharp
//   2. openImage: not empty, a decodable format (SVG refused), at most `maxPixels` pixels
//      by the header (libvips' limitInputPixels too: a decompression bomb stops before any
//      pixel is allocated), failOn 'error', the first frame/page of an animation or a
//      multi-page TIFF
//   3. one async sharp call (libuv's thread pool, never the event loop): EXIF
//      auto-orientation, sRGB 8-bit (CMYK, 16-bit, grey and ICC-tagged images converted),
//      resized to fit inside size × size keeping the aspect ratio, never enlarged (the
//      browser scales a small image up for free; upscaled bytes say nothing new), WebP.
//      Alpha is kept (WebP carries it), so a transparent PNG looks as it does in a viewer.
// Failures are ImageErrors with the decode reasons (unsupported-format, too-many-pixels,
// truncated, corrupt, empty-file).
import sharp from 'sharp';
import { ImageError } from '../errors.js';
import { openImage } from './decode.js';
import { toImageError } from './decode-errors.js';
import { sniffFormat } from './sniff.js';

export const THUMBNAIL_MIN_SIZE = 32;
export const THUMBNAIL_MAX_SIZE = 512;
export const THUMBNAIL_DEFAULT_SIZE = 160;

export interface ThumbnailOptions {
  /** The longer side's bound in pixels (THUMBNAIL_MIN_SIZE..THUMBNAIL_MAX_SIZE). */
  size: number;
  /** Largest width × height accepted (the pipeline's IMGSIM_MAX_PIXELS). */
  maxPixels: number;
  /** WebP quality 1–100 (default 80). */
  quality?: number;
}

export interface Thumbnail {
  /** WebP bytes. */
  data: Buffer;
  /** The thumbnail's dimensions (each ≤ size). */
  width: number;
  height: number;
  /** The original's upright dimensions. */
  sourceWidth: number;
  sourceHeight: number;
}

/**
 * A WebP thumbnail of `bytes` fitting inside size × size. `name` (a key or path) prefixes
 * error messages. Throws ImageError (see the header for the reasons).
 */
export async function makeThumbnail(bytes: Buffer, opts: ThumbnailOptions, name?: string): Promise<Thumbnail> {
  if (!Number.isInteger(opts.size) || opts.size < THUMBNAIL_MIN_SIZE || opts.size > THUMBNAIL_MAX_SIZE) {
    throw new RangeError(`size must be an integer in ${THUMBNAIL_MIN_SIZE}..${THUMBNAIL_MAX_SIZE}, got ${opts.size}`);
  }
  const prefix = name === undefined ? '' : `${name}: `;
  if (bytes.length === 0) throw new ImageError('empty-file', `${prefix}empty file (0 bytes)`);
  // A JPEG whose SOI marker is followed by stray bytes (libjpeg warns and decodes it; the
  // pipeline indexes it) has no FF D8 FF signature: SOI alone is enough here.
  const jpegSoi = bytes[0] === 0xff && bytes[1] === 0xd8;
  if (sniffFormat(bytes) === undefined && !jpegSoi) {
    throw new ImageError('unsupported-format', `${prefix}not an image (expected JPEG, PNG, WebP, GIF, TIFF or AVIF)`);
  }
  try {
    const opened = await openImage(bytes, opts.maxPixels);
    const { data, info } = await sharp(bytes, opened.sharpOptions)
      .rotate()
      .toColourspace('srgb')
      .resize(opts.size, opts.size, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: opts.quality ?? 80, effort: 2 })
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, sourceWidth: opened.width, sourceHeight: opened.height };
  } catch (error) {
    // openImage's errors name no source (it was given bytes): name it here.
    if (error instanceof ImageError) throw name === undefined ? error : new ImageError(error.reason, `${prefix}${error.message}`);
    throw toImageError(error, bytes, name);
  }
}
