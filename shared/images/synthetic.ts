// Generates the demo's labelled synthetic dataset: `perClass` PNG images for each of
// 9 classes = 3 shapes (circle, square, triangle) × 3 colours (red, green, blue),
// written to `dir/<colour>-<shape>/<nnnn>.png` (e.g. dir/red-circle/0007.png; the
// folder name is the label). Existing files are overwritten, others left alone.
//
// Each image: a light background (random pale tint, a random linear gradient,
// per-pixel noise and a few faint strokes as texture) with one filled shape whose
// colour is jittered around its class colour, at a random scale (radius 20–36% of
// the side), position (always fully inside) and rotation. Colour separates classes
// easily; shape within a colour is the harder part, which is what makes the
// precision@10 of an embedding informative.
//
// Deterministic: every random choice comes from createRng(seed) (shared/random.ts);
// each image gets its own sub-seed drawn in a fixed order, so the bytes written do
// not depend on how many images are encoded concurrently. Shapes are SVG rendered by
// sharp (librsvg), so identical output is expected for the same sharp/libvips build.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { createRng, randomBetween, randomInt, type Rng } from '../random.js';
import { px } from './svg.js';

export const SHAPES = ['circle', 'square', 'triangle'] as const;
export const COLOURS = ['red', 'green', 'blue'] as const;
export type Shape = (typeof SHAPES)[number];
export type Colour = (typeof COLOURS)[number];

export interface ShapesDatasetOptions {
  /** Images per class. */
  perClass: number;
  /** Image side in pixels (default 64). */
  size?: number;
  seed: number;
}

export interface ShapesDataset {
  /** Class (= folder) names, e.g. "red-circle". */
  classes: string[];
  /** Number of image files written. */
  files: number;
}

/** Folder/label name of a class. */
export function className(colour: Colour, shape: Shape): string {
  return `${colour}-${shape}`;
}

/** File name of the n-th image of a class. */
export function imageFileName(n: number): string {
  return `${String(n).padStart(4, '0')}.png`;
}

type Rgb = [number, number, number];

/** A jittered class colour: the dominant channel high, the others low. */
function classColour(colour: Colour, rng: Rng): Rgb {
  const hi = randomInt(rng, 170, 250);
  const lo = (): number => randomInt(rng, 0, 80);
  switch (colour) {
    case 'red':
      return [hi, lo(), lo()];
    case 'green':
      return [lo(), Math.min(230, hi), lo()];
    case 'blue':
      return [lo(), lo(), hi];
  }
}

function shapeSvg(shape: Shape, cx: number, cy: number, r: number, angle: number, [red, g, b]: Rgb): string {
  const fill = `fill="rgb(${red},${g},${b})"`;
  const transform = `transform="rotate(${px(angle)} ${px(cx)} ${px(cy)})"`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${px(cx)}" cy="${px(cy)}" r="${px(r)}" ${fill}/>`;
    case 'square': {
      const h = r * 0.87; // similar area to the circle
      return `<rect x="${px(cx - h)}" y="${px(cy - h)}" width="${px(2 * h)}" height="${px(2 * h)}" ${fill} ${transform}/>`;
    }
    case 'triangle': {
      const R = r * 1.3; // circumradius, similar area to the circle
      const pts = [0, 1, 2].map((k) => {
        const a = -Math.PI / 2 + (k * 2 * Math.PI) / 3;
        return `${px(cx + R * Math.cos(a))},${px(cy + R * Math.sin(a))}`;
      });
      return `<polygon points="${pts.join(' ')}" ${fill} ${transform}/>`;
    }
  }
}

/** How far the shape can reach from its centre (for keeping it inside the image). */
function reach(shape: Shape, r: number): number {
  switch (shape) {
    case 'circle':
      return r;
    case 'square':
      return r * 0.87 * Math.SQRT2;
    case 'triangle':
      return r * 1.3;
  }
}

/** One image's pixels and overlay, drawn entirely from its own sub-seed. */
function describeImage(shape: Shape, colour: Colour, size: number, seed: number): { background: Buffer; svg: string } {
  const rng = createRng(seed);
  // Background: pale tint + linear gradient + per-pixel noise.
  const base = [0, 1, 2].map(() => randomInt(rng, 195, 240));
  const theta = randomBetween(rng, 0, 2 * Math.PI);
  const amplitude = randomBetween(rng, 0, 18);
  const noise = randomBetween(rng, 4, 14);
  const gx = Math.cos(theta) / size;
  const gy = Math.sin(theta) / size;
  const background = Buffer.allocUnsafe(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const shade = amplitude * ((x - size / 2) * gx + (y - size / 2) * gy) * 2;
      for (let c = 0; c < 3; c++) {
        const v = (base[c] as number) + shade + (rng() * 2 - 1) * noise;
        background[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  // Texture: a few faint pale strokes.
  const strokes: string[] = [];
  const nStrokes = randomInt(rng, 0, 4);
  for (let i = 0; i < nStrokes; i++) {
    const [x1, y1, x2, y2] = [0, 0, 0, 0].map(() => randomBetween(rng, 0, size));
    const grey = randomInt(rng, 150, 215);
    strokes.push(
      `<line x1="${px(x1 as number)}" y1="${px(y1 as number)}" x2="${px(x2 as number)}" y2="${px(y2 as number)}" stroke="rgb(${grey},${grey},${grey})" stroke-opacity="0.5" stroke-width="${px(randomBetween(rng, 0.5, 2) * (size / 64))}"/>`,
    );
  }
  // The shape.
  const r = randomBetween(rng, 0.2, 0.36) * size;
  const margin = reach(shape, r) + 1;
  const cx = randomBetween(rng, margin, size - margin);
  const cy = randomBetween(rng, margin, size - margin);
  const angle = randomBetween(rng, 0, 360);
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">`,
    ...strokes,
    shapeSvg(shape, cx, cy, r, angle, classColour(colour, rng)),
    '</svg>',
  ].join('\n');
  return { background, svg };
}

async function renderPng(size: number, background: Buffer, svg: string): Promise<Buffer> {
  return sharp(background, { raw: { width: size, height: size, channels: 3 } })
    .composite([{ input: Buffer.from(svg), left: 0, top: 0 }])
    .removeAlpha() // compositing an SVG adds an alpha channel; the background is opaque
    .png()
    .toBuffer();
}

/** Writes the dataset under `dir` and returns its class names and file count. */
export async function generateShapesDataset(dir: string, opts: ShapesDatasetOptions): Promise<ShapesDataset> {
  const size = opts.size ?? 64;
  if (!Number.isInteger(opts.perClass) || opts.perClass < 1) throw new RangeError(`perClass must be a positive integer, got ${opts.perClass}`);
  if (!Number.isInteger(size) || size < 16) throw new RangeError(`size must be an integer ≥ 16, got ${size}`);
  const rng = createRng(opts.seed);
  const jobs: Array<{ path: string; shape: Shape; colour: Colour; seed: number }> = [];
  const classes: string[] = [];
  for (const colour of COLOURS) {
    for (const shape of SHAPES) {
      const name = className(colour, shape);
      classes.push(name);
      await mkdir(join(dir, name), { recursive: true });
      for (let n = 0; n < opts.perClass; n++) {
        jobs.push({ path: join(dir, name, imageFileName(n)), shape, colour, seed: Math.floor(rng() * 4294967296) });
      }
    }
  }
  // Encode with bounded concurrency; sharp spreads each job over its own threads.
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let j = next++; j < jobs.length; j = next++) {
      const job = jobs[j];
      if (job === undefined) return;
      const { background, svg } = describeImage(job.shape, job.colour, size, job.seed);
      await writeFile(job.path, await renderPng(size, background, svg));
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, jobs.length) }, worker));
  return { classes, files: jobs.length };
}
