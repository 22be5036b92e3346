// Photometric check of a homography: with image b warped onto image a, how well do
// their grey levels agree? Pearson correlation over a's pixels that land inside b
// (bilinear sampling), so brightness and contrast changes do not count against a pair.
// On 64-pixel thumbnails, so small misalignments and JPEG noise average out: edited
// copies of real photos score 0.8–1.0, the accidental homographies of distinct photos
// (6–16 inliers) under 0.5 (docs/duplicates.md).
//
// And the geometry an edit can produce: a homography from a crop, rescale, rotation,
// stretch or flip-free copy is affine-like (no strong perspective) and keeps orientation
// (positive determinant) at a sane scale. A random RANSAC fit usually is not.

export interface GreyImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface Agreement {
  /** Pearson correlation of the overlapping pixels (0 when too few overlap). */
  correlation: number;
  /** Share of a's pixels that land inside b. */
  coverage: number;
}

/** The homography `m` (a's working coordinates → b's, at `workingA`/`workingB` longest sides) rescaled to the thumbnails' coordinates. */
export function rescaleHomography(m: readonly number[], fromA: number, toA: number, fromB: number, toB: number): number[] {
  const sa = toA / fromA;
  const sb = toB / fromB;
  const [h0, h1, h2, h3, h4, h5, h6, h7, h8] = m as [number, number, number, number, number, number, number, number, number];
  return [(h0 * sb) / sa, (h1 * sb) / sa, h2 * sb, (h3 * sb) / sa, (h4 * sb) / sa, h5 * sb, h6 / sa, h7 / sa, h8];
}

/** Correlation of a with b sampled through `m` (a → b coordinates). */
export function agreement(a: GreyImage, b: GreyImage, m: readonly number[]): Agreement {
  const [h0, h1, h2, h3, h4, h5, h6, h7, h8] = m as [number, number, number, number, number, number, number, number, number];
  let n = 0;
  let sa = 0;
  let sb = 0;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const w = h6 * x + h7 * y + h8;
      if (!(w > 1e-9)) continue;
      const u = (h0 * x + h1 * y + h2) / w;
      const v = (h3 * x + h4 * y + h5) / w;
      if (!(u >= 0 && v >= 0 && u < b.width - 1 && v < b.height - 1)) continue;
      const x0 = Math.floor(u);
      const y0 = Math.floor(v);
      const fx = u - x0;
      const fy = v - y0;
      const i0 = y0 * b.width + x0;
      const d = b.data;
      const pb = ((d[i0] as number) * (1 - fx) + (d[i0 + 1] as number) * fx) * (1 - fy) + ((d[i0 + b.width] as number) * (1 - fx) + (d[i0 + b.width + 1] as number) * fx) * fy;
      const pa = a.data[y * a.width + x] as number;
      n++;
      sa += pa;
      sb += pb;
      saa += pa * pa;
      sbb += pb * pb;
      sab += pa * pb;
    }
  }
  const coverage = n / (a.width * a.height);
  if (n < 64) return { correlation: 0, coverage };
  const cov = sab - (sa * sb) / n;
  const va = saa - (sa * sa) / n;
  const vb = sbb - (sb * sb) / n;
  return { correlation: va > 1e-9 && vb > 1e-9 ? cov / Math.sqrt(va * vb) : 0, coverage };
}

/** The identity (for images of the same content and frame, e.g. two thumbnails of a perceptual pair). */
export const IDENTITY: readonly number[] = Object.freeze([1, 0, 0, 0, 1, 0, 0, 0, 1]);

/** Whether `m` (in working coordinates of longest side `size`) is a transform an edit can produce. */
export function plausibleEdit(m: readonly number[], size: number): boolean {
  const [h0, h1, , h3, h4, , h6, h7, h8] = m as [number, number, number, number, number, number, number, number, number];
  if (!(Math.abs(h8) > 1e-12)) return false;
  const det = (h0 * h4 - h1 * h3) / (h8 * h8);
  // Perspective terms scaled to the image: how far w strays from 1 across the image.
  const persp = (Math.abs(h6) + Math.abs(h7)) * size / Math.abs(h8);
  return det > 0.02 && det < 50 && persp < 0.5;
}
