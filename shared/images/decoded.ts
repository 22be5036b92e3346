// Decoded images held in memory: keys and 8-bit RGB pixels (HWC, size×size×3 per image;
// 12 KiB each at 64×64) — the training sample (the train stage), reused by a local run's
// embed stage so the sample is not decoded twice.

export interface DecodedImages {
  size: number;
  keys: string[];
  etags: string[];
  /** Original dimensions after EXIF orientation. */
  widths: number[];
  heights: number[];
  /** keys.length × size × size × 3 bytes. */
  pixels: Uint8Array;
}

export interface Failure {
  key: string;
  reason: string;
  message: string;
}

export function imageCount(images: DecodedImages): number {
  return images.keys.length;
}

/** Float32 [0,1] batch of the images at `indices`, laid out NHWC. */
export function batchFloats(images: DecodedImages, indices: readonly number[]): Float32Array {
  const per = images.size * images.size * 3;
  const out = new Float32Array(indices.length * per);
  indices.forEach((idx, b) => {
    const src = images.pixels.subarray(idx * per, (idx + 1) * per);
    const base = b * per;
    for (let j = 0; j < per; j++) out[base + j] = (src[j] as number) / 255;
  });
  return out;
}

/** Float32 [0,1] rows of every image (the raw-pixel baseline), N × size²·3. */
export function pixelMatrix(images: DecodedImages): Float32Array {
  const out = new Float32Array(images.pixels.length);
  for (let j = 0; j < out.length; j++) out[j] = (images.pixels[j] as number) / 255;
  return out;
}
