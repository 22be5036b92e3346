// A 64-bit perceptual hash (pHash, DCT family) of an image and of its mirror image.
//
// The image is reduced to HASH_INPUT × HASH_INPUT grey pixels (aspect ignored, so a
// stretched copy hashes alike), its 2-D DCT taken, and the 8 × 8 lowest frequencies
// compared with their median (DC excluded from the median): one bit each. Resizes,
// re-encodes, brightness and aspect changes move a few bits; crops and rotations move
// ~half (measured: docs/duplicates.md). The mirror hash is the same computation on the
// horizontally flipped pixels, so a flipped copy is found by comparing one image's
// mirror hash with the other's hash.
//
// Written here rather than taken from npm: the packages on the registry (imghash,
// sharp-phash, blockhash-core) each decode the image again themselves; ours works on
// the thumbnail the fingerprint pass already has, in 0.2 ms.

/** Side of the grey thumbnail the hash is computed from. */
export const HASH_INPUT = 32;
const LOW = 8;

let cosTable: Float64Array | undefined;
function cosines(): Float64Array {
  if (cosTable) return cosTable;
  const t = new Float64Array(LOW * HASH_INPUT);
  for (let u = 0; u < LOW; u++) for (let x = 0; x < HASH_INPUT; x++) t[u * HASH_INPUT + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * HASH_INPUT));
  return (cosTable = t);
}

/** A 64-bit hash as two unsigned 32-bit halves (hi, lo). */
export type Hash64 = readonly [number, number];

/** pHash of HASH_INPUT² grey pixels (row-major); `mirror` hashes the left–right flipped image. */
export function perceptualHash(grey: Uint8Array, mirror = false): Hash64 {
  if (grey.length !== HASH_INPUT * HASH_INPUT) throw new RangeError(`perceptualHash needs ${HASH_INPUT}×${HASH_INPUT} pixels, got ${grey.length}`);
  const c = cosines();
  // Separable DCT: rows first (only LOW output frequencies), then columns.
  const rows = new Float64Array(HASH_INPUT * LOW);
  for (let y = 0; y < HASH_INPUT; y++) {
    for (let v = 0; v < LOW; v++) {
      let s = 0;
      for (let x = 0; x < HASH_INPUT; x++) s += (grey[y * HASH_INPUT + (mirror ? HASH_INPUT - 1 - x : x)] as number) * (c[v * HASH_INPUT + x] as number);
      rows[y * LOW + v] = s;
    }
  }
  const f = new Float64Array(LOW * LOW);
  for (let u = 0; u < LOW; u++) {
    for (let v = 0; v < LOW; v++) {
      let s = 0;
      for (let y = 0; y < HASH_INPUT; y++) s += (rows[y * LOW + v] as number) * (c[u * HASH_INPUT + y] as number);
      f[u * LOW + v] = s;
    }
  }
  const median = Array.from(f.subarray(1)).sort((a, b) => a - b)[31] as number;
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 64; i++) {
    const bit = (f[i] as number) > median ? 1 : 0;
    if (i < 32) hi = (hi << 1) | bit;
    else lo = (lo << 1) | bit;
  }
  return [hi >>> 0, lo >>> 0];
}

/** Bits set in a 32-bit integer. */
export function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Hamming distance of two 64-bit hashes. */
export function hashDistance(a: Hash64, b: Hash64): number {
  return popcount32((a[0] ^ b[0]) >>> 0) + popcount32((a[1] ^ b[1]) >>> 0);
}

/** The hash as 16 hex digits (for duplicates.json). */
export function hashHex(h: Hash64): string {
  return h[0].toString(16).padStart(8, '0') + h[1].toString(16).padStart(8, '0');
}

/** A hash from its 16 hex digits. */
export function hashFromHex(hex: string): Hash64 {
  if (!/^[0-9a-f]{16}$/.test(hex)) throw new RangeError(`a perceptual hash is 16 hex digits, got ${JSON.stringify(hex)}`);
  return [parseInt(hex.slice(0, 8), 16) >>> 0, parseInt(hex.slice(8), 16) >>> 0];
}
