// Turns whatever sharp (libvips) throws while decoding one image into an
// ImageError with a stable reason:
//   empty-file          zero bytes
//   too-many-pixels     over the caller's pixel limit (decompression bomb guard)
//   unsupported-format  not an image we know (text file named .jpg, SVG, HEIC…)
//   truncated           an image whose data stops early (cut download/copy)
//   corrupt             anything else libvips could not decode
// sharp's messages are not an API, so the truncated/corrupt split also checks
// the file's own structure (sniff.ts) rather than trusting wording alone. Nor are they
// this image's alone: libvips keeps one error buffer per process, and a message can
// carry lines from other images decoded at the same time (a corrupt PNG's error ending
// in another file's "VipsJpeg: Premature end of JPEG file" was classed as truncated
// now and then). Lines that name another format's loader are dropped first.

import { ImageError, errorMessage } from '../errors.js';
import { looksTruncated, sniffFormat, type SniffedFormat } from './sniff.js';

const PIXEL_LIMIT = /exceeds pixel limit/i;
const EMPTY = /(buffer|file) is empty/i;
const UNSUPPORTED = /unsupported image format|not been built in|unsupported codec|unsupported feature|exceeds channel limit/i;
const TRUNCATED = /premature end|unexpected end|end of file|truncated|not enough data|out of data/i;

/** How each format's loader names itself in libvips messages. */
const LOADER: Record<SniffedFormat, RegExp> = {
  jpeg: /jpe?g/i,
  png: /png/i,
  gif: /gif/i,
  webp: /webp/i,
  tiff: /tiff?/i,
  heif: /heif|avif/i,
};

/** `message` without the lines that name another format's loader (another image's errors). */
function ownLines(message: string, format: SniffedFormat): string {
  const others = (Object.keys(LOADER) as SniffedFormat[]).filter((f) => f !== format).map((f) => LOADER[f]);
  const own = LOADER[format];
  return message
    .split('\n')
    .filter((line) => own.test(line) || !others.some((re) => re.test(line)))
    .join('\n');
}

/** Formats an ImageError message, prefixed with where the bytes came from when known. */
export function imageErrorMessage(source: string | undefined, what: string, cause?: string): string {
  const prefix = source === undefined ? '' : `${source}: `;
  const suffix = cause === undefined ? '' : ` (${firstLine(cause)})`;
  return `${prefix}${what}${suffix}`;
}

function firstLine(text: string): string {
  // heif errors repeat "source: bad seek" lines before the real one; keep the most telling line.
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const telling = lines.find((l) => !/^source: bad seek/.test(l));
  return telling ?? lines[0] ?? text;
}

/** Maps an error thrown while decoding `bytes` to an ImageError (ImageErrors pass through). */
export function toImageError(error: unknown, bytes: Uint8Array, source?: string): ImageError {
  if (error instanceof ImageError) return error;
  const message = errorMessage(error);
  if (bytes.length === 0 || EMPTY.test(message)) {
    return new ImageError('empty-file', imageErrorMessage(source, 'empty file (0 bytes)'));
  }
  if (PIXEL_LIMIT.test(message)) {
    return new ImageError('too-many-pixels', imageErrorMessage(source, 'image has more pixels than the limit', message));
  }
  const sniffed = sniffFormat(bytes);
  if (sniffed === undefined) {
    return new ImageError('unsupported-format', imageErrorMessage(source, 'not a supported image format', message));
  }
  const own = ownLines(message, sniffed);
  const cause = own.trim() === '' ? undefined : own;
  if (TRUNCATED.test(own) || looksTruncated(bytes, sniffed)) {
    return new ImageError('truncated', imageErrorMessage(source, `truncated ${sniffed} file`, cause));
  }
  if (UNSUPPORTED.test(own)) {
    return new ImageError('unsupported-format', imageErrorMessage(source, `unsupported ${sniffed} variant`, cause));
  }
  return new ImageError('corrupt', imageErrorMessage(source, `corrupt ${sniffed} data`, cause));
}
