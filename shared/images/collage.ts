// Generates textured synthetic images ("collages") for testing keypoint features:
// a gradient background with 25–45 random filled and outlined rectangles, circles,
// polygons and lines in random colours, sizes and rotations. Unlike the demo's shapes
// (one shape on a noisy pale background, ~few stable keypoints) these have many
// corners and junctions, so ORB finds hundreds of repeatable keypoints — a stand-in
// for textured photos, which this machine has none of.
//
// Deterministic: each image is drawn from its own seed (createRng), rendered by sharp
// (librsvg) to PNG.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { mapConcurrent } from '../concurrency.js';
import { createRng, randomBetween, randomInt, type Rng } from '../random.js';
import { px } from './svg.js';

function colour(rng: Rng): string {
  return `rgb(${randomInt(rng, 0, 255)},${randomInt(rng, 0, 255)},${randomInt(rng, 0, 255)})`;
}

function primitive(rng: Rng, size: number): string {
  const cx = randomBetween(rng, 0, size);
  const cy = randomBetween(rng, 0, size);
  const r = randomBetween(rng, 0.03, 0.16) * size;
  const filled = rng() < 0.7;
  const paint = filled
    ? `fill="${colour(rng)}" fill-opacity="${px(randomBetween(rng, 0.6, 1))}"`
    : `fill="none" stroke="${colour(rng)}" stroke-width="${px(randomBetween(rng, 1, 4) * (size / 256))}"`;
  const rotate = `transform="rotate(${px(randomBetween(rng, 0, 360))} ${px(cx)} ${px(cy)})"`;
  switch (randomInt(rng, 0, 3)) {
    case 0:
      return `<rect x="${px(cx - r)}" y="${px(cy - r * 0.6)}" width="${px(2 * r)}" height="${px(1.2 * r)}" ${paint} ${rotate}/>`;
    case 1:
      return `<circle cx="${px(cx)}" cy="${px(cy)}" r="${px(r * 0.8)}" ${paint}/>`;
    case 2: {
      const n = randomInt(rng, 3, 6);
      const pts = Array.from({ length: n }, (_, k) => {
        const a = (k * 2 * Math.PI) / n + randomBetween(rng, -0.4, 0.4);
        const rr = r * randomBetween(rng, 0.6, 1.3);
        return `${px(cx + rr * Math.cos(a))},${px(cy + rr * Math.sin(a))}`;
      });
      return `<polygon points="${pts.join(' ')}" ${paint}/>`;
    }
    default: {
      const a = randomBetween(rng, 0, Math.PI);
      const len = r * 2.5;
      return `<line x1="${px(cx - len * Math.cos(a))}" y1="${px(cy - len * Math.sin(a))}" x2="${px(cx + len * Math.cos(a))}" y2="${px(cy + len * Math.sin(a))}" stroke="${colour(rng)}" stroke-width="${px(randomBetween(rng, 1.5, 5) * (size / 256))}"/>`;
    }
  }
}

/** One collage as PNG bytes (size × size). */
export async function renderCollage(size: number, seed: number): Promise<Buffer> {
  if (!Number.isInteger(size) || size < 32) throw new RangeError(`size must be an integer ≥ 32, got ${size}`);
  const rng = createRng(seed);
  const angle = randomInt(rng, 0, 359);
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">`,
    `<defs><linearGradient id="g" gradientTransform="rotate(${angle} 0.5 0.5)"><stop offset="0" stop-color="${colour(rng)}"/><stop offset="1" stop-color="${colour(rng)}"/></linearGradient></defs>`,
    `<rect width="${size}" height="${size}" fill="url(#g)"/>`,
    ...Array.from({ length: randomInt(rng, 25, 45) }, () => primitive(rng, size)),
    '</svg>',
  ].join('\n');
  return sharp(Buffer.from(svg)).removeAlpha().png().toBuffer();
}

/** Writes `count` collages as dir/collage-<nnnn>.png; returns the file names. */
export async function generateCollageDataset(dir: string, opts: { count: number; size?: number; seed: number }): Promise<string[]> {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new RangeError(`count must be a positive integer, got ${opts.count}`);
  const size = opts.size ?? 256;
  const rng = createRng(opts.seed);
  const seeds = Array.from({ length: opts.count }, () => Math.floor(rng() * 4294967296));
  await mkdir(dir, { recursive: true });
  const names = seeds.map((_, i) => `collage-${String(i).padStart(4, '0')}.png`);
  await mapConcurrent(seeds, 4, async (seed, i) => writeFile(join(dir, names[i] as string), await renderCollage(size, seed)));
  return names;
}
