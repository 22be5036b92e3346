import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toImageError } from '../../../shared/images/decode-errors.js';

// A complete-looking PNG (signature, IHDR, IDAT, IEND: not truncated by its structure).
function pngBytes(): Uint8Array {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, Buffer.from(type, 'ascii'), data, Buffer.alloc(4)]);
  };
  const ihdr = Buffer.from([0, 0, 0, 8, 0, 0, 0, 8, 8, 2, 0, 0, 0]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.alloc(20, 1)), chunk('IEND', Buffer.alloc(0))]);
}

test('decode errors: lines of another image decoded at the same time do not change the reason (libvips error buffer is per process)', () => {
  const png = pngBytes();
  const alone = toImageError(new Error('vipspng: libpng read error'), png, 'a.png');
  assert.equal(alone.reason, 'corrupt');
  const mixed = toImageError(new Error('vipspng: libpng read error\nVipsJpeg: Premature end of JPEG file\nVipsJpeg: out of order read'), png, 'a.png');
  assert.equal(mixed.reason, 'corrupt');
  assert.equal(mixed.message, 'a.png: corrupt png data (vipspng: libpng read error)');
  // Its own loader's wording still counts.
  assert.equal(toImageError(new Error('vipspng: libpng read error\npng: premature end of file'), png, 'a.png').reason, 'truncated');
  // Only other images' lines: no cause shown rather than theirs.
  assert.equal(toImageError(new Error('VipsJpeg: Premature end of JPEG file'), png, 'a.png').message, 'a.png: corrupt png data');
});
