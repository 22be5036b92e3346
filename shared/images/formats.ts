// Which image files imgsim reads: the file extensions it scans for, and the
// decoder names (as sharp's metadata().format reports them) it accepts.
//
// Only formats that sharp's prebuilt libvips can *decode* are listed (checked
// against `sharp.format` for sharp 0.35 / libvips 8.18, see formats.test.ts):
//   jpeg (.jpg .jpeg .jpe .jfif), png, webp, gif, tiff (.tif .tiff), avif.
// Left out on purpose:
//   - HEIC: the prebuilt libheif has no HEVC decoder, only AV1 (so .avif only).
//   - SVG: decodable, but it is a vector drawing format (and a parser attack
//     surface), not a photo; decodeImage rejects it even under a .jpg name.
//   - JPEG XL, JPEG 2000, PDF, RAW, PPM, FITS…: not built into the prebuilt binary.

import { extname } from 'node:path';

/** Lower-case file extensions (with the dot) treated as images when scanning folders. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze([
  '.jpg',
  '.jpeg',
  '.jpe',
  '.jfif',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
]);

const EXTENSION_SET: ReadonlySet<string> = new Set(IMAGE_EXTENSIONS);

/**
 * Decoder names (sharp `metadata().format`) that decodeImage accepts. AVIF is
 * reported by sharp as 'heif' (its container); decodeImage calls it 'avif'.
 */
export const DECODABLE_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

/** True when `path` has one of IMAGE_EXTENSIONS (case-insensitive). Looks at the name only. */
export function isImagePath(path: string): boolean {
  return EXTENSION_SET.has(extname(path).toLowerCase());
}
