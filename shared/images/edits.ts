// Edited copies of an image, for the near-duplicate evals (imgsim eval-features uses the
// first five kinds, imgsim eval-duplicates all eight; shared/features/defaults.ts lists
// them). Each edit is drawn from `rng` and made from the upright picture: the EXIF
// orientation is applied first (autoOrient), alpha is flattened on white.
//
//   crop        60–80 % of each side, at a random place
//   rotate      10–35°, either sign, white corners (the canvas grows to hold the picture)
//   scale       45–70 % of each side
//   jpeg        re-encoded at quality 15–35
//   brightness  ×0.6–0.8 or ×1.25–1.5
//   flip        mirrored left–right
//   aspect      one side (width or height, even odds) stretched ×0.7–1.4
//   exact       the very bytes (a byte copy)
// All but jpeg and exact are saved as JPEG quality 90.
//
// sharp keeps the EXIF auto-orientation when an angle is given later (autoOrient is an
// input option; rotate(angle) replaces only an earlier rotate(angle)), so a rotated or
// cropped copy of an EXIF-rotated photo is made from what a viewer shows
// (test/unit/images/edits.test.ts).
import sharp from 'sharp';
import type { EditKind } from '../features/defaults.js';
import { randomBetween, randomInt, type Rng } from '../random.js';

const WHITE = { r: 255, g: 255, b: 255 };

/** One edited copy of `bytes` (JPEG, except `exact`: the bytes themselves), drawn from `rng`. */
export async function makeDuplicate(bytes: Buffer, kind: EditKind, rng: Rng): Promise<Buffer> {
  if (kind === 'exact') return bytes;
  const img = sharp(bytes).autoOrient().flatten({ background: WHITE });
  const { width = 1, height = 1 } = await sharp(bytes).autoOrient().metadata().then((m) => m.autoOrient);
  switch (kind) {
    case 'crop': {
      const w = Math.max(8, Math.round(width * randomBetween(rng, 0.6, 0.8)));
      const h = Math.max(8, Math.round(height * randomBetween(rng, 0.6, 0.8)));
      const left = randomInt(rng, 0, width - w);
      const top = randomInt(rng, 0, height - h);
      return img.extract({ left, top, width: w, height: h }).jpeg({ quality: 90 }).toBuffer();
    }
    case 'rotate': {
      const angle = randomBetween(rng, 10, 35) * (rng() < 0.5 ? -1 : 1);
      return img.rotate(angle, { background: WHITE }).jpeg({ quality: 90 }).toBuffer();
    }
    case 'scale': {
      const f = randomBetween(rng, 0.45, 0.7);
      return img
        .resize(Math.max(8, Math.round(width * f)), Math.max(8, Math.round(height * f)), { fit: 'fill' })
        .jpeg({ quality: 90 })
        .toBuffer();
    }
    case 'jpeg':
      return img.jpeg({ quality: randomInt(rng, 15, 35) }).toBuffer();
    case 'brightness': {
      const b = rng() < 0.5 ? randomBetween(rng, 0.6, 0.8) : randomBetween(rng, 1.25, 1.5);
      return img.modulate({ brightness: b }).jpeg({ quality: 90 }).toBuffer();
    }
    case 'flip':
      return img.flop().jpeg({ quality: 90 }).toBuffer();
    case 'aspect': {
      const stretchWidth = rng() < 0.5;
      const f = randomBetween(rng, 0.7, 1.4);
      const w = stretchWidth ? Math.max(8, Math.round(width * f)) : width;
      const h = stretchWidth ? height : Math.max(8, Math.round(height * f));
      return img.resize(w, h, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
    }
  }
}
