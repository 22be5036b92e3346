// Recognises image containers from their first bytes and tells whether a file
// looks cut short. Used only to explain decode failures (decode-errors.ts):
// sharp's messages alone do not always say "truncated" (a cut PNG is a bare
// "libpng read error", a cut TIFF is "unsupported image format").

/** Container names, matching sharp's metadata().format where both exist. */
export type SniffedFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'heif';

function startsWith(bytes: Uint8Array, signature: readonly number[], at = 0): boolean {
  if (bytes.length < at + signature.length) return false;
  return signature.every((b, i) => bytes[at + i] === b);
}

const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

/** The container `bytes` start with, or undefined when none of ours. */
export function sniffFormat(bytes: Uint8Array): SniffedFormat | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'gif';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(bytes, ascii('ftyp'), 4)) return 'heif';
  return undefined;
}

function readUint32(bytes: Uint8Array, at: number, littleEndian: boolean): number | undefined {
  if (bytes.length < at + 4) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, littleEndian);
}

/** True when the file's own structure says bytes are missing at the end. */
export function looksTruncated(bytes: Uint8Array, format: SniffedFormat): boolean {
  const n = bytes.length;
  switch (format) {
    case 'jpeg': {
      // EOI marker FF D9 ends every complete JPEG (allow a little trailing padding).
      const tail = bytes.subarray(Math.max(0, n - 64));
      for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return false;
      return true;
    }
    case 'png': {
      // The last chunk is IEND: length 0, type "IEND", CRC AE 42 60 82.
      const tail = bytes.subarray(Math.max(0, n - 64));
      const iend = ascii('IEND');
      for (let i = tail.length - 4; i >= 0; i--) if (iend.every((b, k) => tail[i + k] === b)) return false;
      return true;
    }
    case 'gif':
      // Trailer byte 0x3B.
      return bytes[n - 1] !== 0x3b;
    case 'webp': {
      // RIFF size field counts the bytes after the first 8.
      const riffSize = readUint32(bytes, 4, true);
      return riffSize === undefined || riffSize + 8 > n;
    }
    case 'tiff': {
      // The first IFD offset must point inside the file.
      const little = bytes[0] === 0x49;
      const ifd = readUint32(bytes, 4, little);
      return ifd === undefined || ifd + 2 > n;
    }
    case 'heif': {
      // A run of ISO-BMFF boxes; a box whose declared size runs past the end is cut.
      let at = 0;
      while (at + 8 <= n) {
        let size = readUint32(bytes, at, false) ?? 0;
        if (size === 1) {
          const high = readUint32(bytes, at + 8, false);
          const low = readUint32(bytes, at + 12, false);
          if (high === undefined || low === undefined) return true;
          size = high * 2 ** 32 + low;
        } else if (size === 0) {
          return false; // "extends to end of file"
        }
        if (size < 8) return false; // malformed, not truncated
        at += size;
      }
      return at > n;
    }
  }
}
