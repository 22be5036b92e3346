// Small grey images for the alignment tests.
import type { GreyImage } from '../../../shared/duplicates/alignment.js';
import { createRng } from '../../../shared/random.js';

export function texture(seed: number, w: number, h: number): GreyImage {
  const rng = createRng(seed);
  const data = new Uint8Array(w * h);
  const blobs = Array.from({ length: 12 }, () => ({ x: rng() * w, y: rng() * h, r: 3 + rng() * 10, v: rng() * 255 }));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 128;
      for (const b of blobs) if ((x - b.x) ** 2 + (y - b.y) ** 2 < b.r ** 2) v = b.v;
      data[y * w + x] = v;
    }
  }
  return { data, width: w, height: h };
}

export function alignmentFixtures(): { a: GreyImage; b: GreyImage } {
  return { a: texture(1, 64, 48), b: texture(2, 64, 48) };
}
