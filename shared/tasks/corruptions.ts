// Image-to-image tasks: how a model's input is made from a clean image, on the fly.
// Pure functions on Float32Array HWC RGB images in [0, 1] (one image, or a batch of
// n images laid out one after the other, as shared/images/decoded.ts batchFloats makes
// them). No tfjs; every random choice comes from a seeded Rng (shared/random.ts).
//
//   reconstruct  input = target = the clean image (the embedding autoencoder)
//   denoise      input = the clean image with the configured noise kinds, each applied
//                in this order to every image: gaussian (additive N(0, sigma²) per
//                value), salt-pepper (a fraction `amount` of pixels set to black or
//                white), crosshair (one horizontal and one vertical line through a
//                random point, random colour, random width in [min, max] px), erase
//                (one random rectangle of up to `eraseFraction` of the area, filled
//                with uniform noise or one random grey); results clamped to [0, 1]
//   colorize     input = luma (Rec. 601: 0.299 R + 0.587 G + 0.114 B) replicated to
//                3 channels, target = the colour image
//   superres     input = area (box) downscale by `scale` (each low-res pixel is the
//                mean of its scale×scale block of the clean image), target = the clean
//                image at full size

import { randomBetween, randomInt, type Rng } from '../random.js';
import { NOISE_KINDS, type NoiseParams, type TaskSpec } from './spec.js';

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/** A standard normal draw (Box–Muller). */
export function gaussian(rng: Rng): number {
  const u = 1 - rng(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Adds N(0, sigma²) to every value of `img`, in place, clamped to [0, 1]. */
export function addGaussianNoise(img: Float32Array, sigma: number, rng: Rng): void {
  for (let i = 0; i < img.length; i++) img[i] = clamp01((img[i] as number) + sigma * gaussian(rng));
}

/** Sets a fraction `amount` of the pixels of a size×size image to black or white, in place. */
export function addSaltPepper(img: Float32Array, size: number, amount: number, rng: Rng): void {
  const pixels = size * size;
  for (let p = 0; p < pixels; p++) {
    if (rng() >= amount) continue;
    const v = rng() < 0.5 ? 0 : 1;
    img[p * 3] = v;
    img[p * 3 + 1] = v;
    img[p * 3 + 2] = v;
  }
}

/** Draws a horizontal and a vertical line through a random point, random colour and width, in place. */
export function addCrosshair(img: Float32Array, size: number, width: readonly [number, number], rng: Rng): void {
  const w = randomInt(rng, width[0], width[1]);
  const cx = randomInt(rng, 0, size - 1);
  const cy = randomInt(rng, 0, size - 1);
  const colour = [rng(), rng(), rng()];
  const lo = (c: number) => Math.max(0, c - Math.floor((w - 1) / 2));
  const hi = (c: number) => Math.min(size - 1, c + Math.ceil((w - 1) / 2));
  const paint = (x: number, y: number) => {
    const o = (y * size + x) * 3;
    img[o] = colour[0] as number;
    img[o + 1] = colour[1] as number;
    img[o + 2] = colour[2] as number;
  };
  for (let y = lo(cy); y <= hi(cy); y++) for (let x = 0; x < size; x++) paint(x, y);
  for (let x = lo(cx); x <= hi(cx); x++) for (let y = 0; y < size; y++) paint(x, y);
}

/** Fills one random rectangle (area ≤ maxFraction of the image) with noise or a grey, in place. */
export function addRandomErase(img: Float32Array, size: number, maxFraction: number, fill: 'noise' | 'constant', rng: Rng): void {
  const area = randomBetween(rng, 0.02, Math.max(0.02, maxFraction)) * size * size;
  const aspect = Math.exp(randomBetween(rng, Math.log(0.3), Math.log(3.3)));
  const h = Math.max(1, Math.min(size, Math.round(Math.sqrt(area * aspect))));
  const w = Math.max(1, Math.min(size, Math.round(Math.sqrt(area / aspect))));
  const top = randomInt(rng, 0, size - h);
  const left = randomInt(rng, 0, size - w);
  const grey = rng();
  for (let y = top; y < top + h; y++) {
    for (let x = left; x < left + w; x++) {
      const o = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) img[o + c] = fill === 'noise' ? rng() : grey;
    }
  }
}

/** Applies the configured noise kinds to one size×size image, in place. */
export function corruptImage(img: Float32Array, size: number, noise: NoiseParams, rng: Rng): void {
  for (const kind of NOISE_KINDS) {
    if (!noise.kinds.includes(kind)) continue;
    switch (kind) {
      case 'gaussian':
        addGaussianNoise(img, noise.sigma, rng);
        break;
      case 'salt-pepper':
        addSaltPepper(img, size, noise.saltPepperAmount, rng);
        break;
      case 'crosshair':
        addCrosshair(img, size, noise.crosshairWidth, rng);
        break;
      case 'erase':
        addRandomErase(img, size, noise.eraseFraction, noise.eraseFill, rng);
        break;
    }
  }
}

/** Rec. 601 luma of every pixel, written to all 3 channels (a new array). */
export function toGreyscale(batch: Float32Array): Float32Array {
  const out = new Float32Array(batch.length);
  for (let o = 0; o < batch.length; o += 3) {
    const y = 0.299 * (batch[o] as number) + 0.587 * (batch[o + 1] as number) + 0.114 * (batch[o + 2] as number);
    out[o] = y;
    out[o + 1] = y;
    out[o + 2] = y;
  }
  return out;
}

/** Area (box) downscale of n size×size images by `factor` → n (size/factor)² images. */
export function downscaleArea(batch: Float32Array, n: number, size: number, factor: number): Float32Array {
  if (size % factor !== 0) throw new RangeError(`size ${size} is not divisible by ${factor}`);
  const s = size / factor;
  const out = new Float32Array(n * s * s * 3);
  const inv = 1 / (factor * factor);
  for (let i = 0; i < n; i++) {
    const src = i * size * size * 3;
    const dst = i * s * s * 3;
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let dy = 0; dy < factor; dy++) {
          let o = src + ((y * factor + dy) * size + x * factor) * 3;
          for (let dx = 0; dx < factor; dx++, o += 3) {
            r += batch[o] as number;
            g += batch[o + 1] as number;
            b += batch[o + 2] as number;
          }
        }
        const d = dst + (y * s + x) * 3;
        out[d] = r * inv;
        out[d + 1] = g * inv;
        out[d + 2] = b * inv;
      }
    }
  }
  return out;
}

/** Nearest-neighbour upscale of n size×size images by `factor` (for showing low-res inputs). */
export function upscaleNearest(batch: Float32Array, n: number, size: number, factor: number): Float32Array {
  const S = size * factor;
  const out = new Float32Array(n * S * S * 3);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const s = (i * size * size + Math.floor(y / factor) * size + Math.floor(x / factor)) * 3;
        const d = (i * S * S + y * S + x) * 3;
        out[d] = batch[s] as number;
        out[d + 1] = batch[s + 1] as number;
        out[d + 2] = batch[s + 2] as number;
      }
    }
  }
  return out;
}

/** Keys' cubic convolution kernel with a = -0.5 (what "bicubic" means in most libraries). */
function cubic(t: number): number {
  const a = -0.5;
  const x = Math.abs(t);
  if (x <= 1) return (a + 2) * x * x * x - (a + 3) * x * x + 1;
  if (x < 2) return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a;
  return 0;
}

/**
 * Bicubic upscale of n size×size images by `factor` (pixel centres aligned, edges
 * replicated, results clamped to [0, 1]): the super-resolution baseline.
 */
export function upscaleBicubic(batch: Float32Array, n: number, size: number, factor: number): Float32Array {
  const S = size * factor;
  // Per output coordinate: the 4 source indices and weights (same for x and y).
  const idx = new Int32Array(S * 4);
  const wts = new Float32Array(S * 4);
  for (let o = 0; o < S; o++) {
    const src = (o + 0.5) / factor - 0.5;
    const base = Math.floor(src);
    for (let k = 0; k < 4; k++) {
      const j = base - 1 + k;
      idx[o * 4 + k] = Math.min(size - 1, Math.max(0, j));
      wts[o * 4 + k] = cubic(src - j);
    }
  }
  const out = new Float32Array(n * S * S * 3);
  const tmp = new Float32Array(size * S * 3); // horizontal pass: size rows × S columns
  for (let i = 0; i < n; i++) {
    const img = i * size * size * 3;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < S; x++) {
        for (let c = 0; c < 3; c++) {
          let v = 0;
          for (let k = 0; k < 4; k++) v += (wts[x * 4 + k] as number) * (batch[img + (y * size + (idx[x * 4 + k] as number)) * 3 + c] as number);
          tmp[(y * S + x) * 3 + c] = v;
        }
      }
    }
    const dst = i * S * S * 3;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        for (let c = 0; c < 3; c++) {
          let v = 0;
          for (let k = 0; k < 4; k++) v += (wts[y * 4 + k] as number) * (tmp[((idx[y * 4 + k] as number) * S + x) * 3 + c] as number);
          out[dst + (y * S + x) * 3 + c] = clamp01(v);
        }
      }
    }
  }
  return out;
}

/**
 * The model input for a batch of n clean size×size images. Reconstruct returns `clean`
 * itself (no copy); the other tasks return a new array. Denoise draws image i's noise
 * from `rngFor(i)` (one shared generator per training batch, or one seeded per image
 * for a fixed validation corruption).
 */
export function taskInput(spec: TaskSpec, clean: Float32Array, n: number, size: number, rngFor: (i: number) => Rng): Float32Array {
  switch (spec.task) {
    case 'reconstruct':
      return clean;
    case 'denoise': {
      const out = clean.slice();
      const per = size * size * 3;
      for (let i = 0; i < n; i++) corruptImage(out.subarray(i * per, (i + 1) * per), size, spec.noise, rngFor(i));
      return out;
    }
    case 'colorize':
      return toGreyscale(clean);
    case 'superres':
      return downscaleArea(clean, n, size, spec.scale);
  }
}

/**
 * What a task's model must beat, for n clean images and their model inputs: the
 * input itself (reconstruct, denoise, colorize: grey), or the bicubic upscale of the
 * low-res input (superres).
 */
export function baselineOutput(spec: TaskSpec, input: Float32Array, n: number, size: number): Float32Array {
  return spec.task === 'superres' ? upscaleBicubic(input, n, size / spec.scale, spec.scale) : input;
}

/** A 32-bit seed for image `index` under `seed` (validation corruption, apply --corrupt). */
export function imageSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}
