// ORB keypoints and binary descriptors (OpenCV's ORB, wasm build) of one image.
//
// The image is decoded with sharp the way decode.ts does (EXIF orientation, alpha on
// white, pixel limit, the same error reasons), converted to 8-bit greyscale and
// resized so its longest side is `workingSize` pixels (aspect ratio kept; small
// images are upscaled, so a 64×64 thumbnail still has room for ORB's 31-pixel
// patches). Keypoint coordinates are in that working image.
//
// Descriptors: n × 32 bytes (256-bit rBRIEF), row i belonging to keypoints[i].

import sharp from 'sharp';
import { ImageError } from '../errors.js';
import { imageErrorMessage, toImageError } from '../images/decode-errors.js';
import { openImage } from '../images/decode.js';
import { withCvScope, type Cv } from './opencv.js';

/** Working images thinner than this have no ORB keypoints (ORB's border is 31 pixels). */
const MIN_ORB_SIDE = 32;

/** Bytes per ORB descriptor. */
export const ORB_DESCRIPTOR_BYTES = 32;
export { DEFAULT_WORKING_SIZE } from './defaults.js';

export interface Keypoint {
  x: number;
  y: number;
  /** Diameter of the keypoint's neighbourhood, in working-image pixels. */
  size: number;
  /** Orientation in degrees [0, 360). */
  angle: number;
  response: number;
  octave: number;
}

export interface OrbFeatures {
  /** Working image size the keypoints refer to. */
  width: number;
  height: number;
  keypoints: Keypoint[];
  /** keypoints.length × 32 bytes. */
  descriptors: Uint8Array;
}

export interface WorkingImageOptions {
  /** Longest side of the working image in pixels. */
  workingSize: number;
  /** Largest width × height accepted (header values). */
  maxPixels: number;
}

export interface OrbOptions extends WorkingImageOptions {
  /** Most keypoints kept (OpenCV's nfeatures: the strongest by Harris score). */
  nfeatures: number;
}

export interface WorkingImage {
  /** 8-bit pixels, row-major, `channels` per pixel. */
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 3;
}

/**
 * Decodes an image file or its bytes to the working size: greyscale (for ORB) or RGB
 * (for drawing). Throws ImageError with decode.ts's reasons.
 */
export async function decodeWorkingImage(input: Buffer | string, o: WorkingImageOptions & { grey: boolean }): Promise<WorkingImage> {
  if (!Number.isInteger(o.workingSize) || o.workingSize < 32) throw new RangeError(`workingSize must be an integer ≥ 32, got ${o.workingSize}`);
  const { bytes, source, sharpOptions: options } = await openImage(input, o.maxPixels);
  try {
    let pipeline = sharp(bytes, options).rotate().flatten({ background: { r: 255, g: 255, b: 255 } });
    pipeline = o.grey ? pipeline.greyscale() : pipeline.toColourspace('srgb');
    const { data, info } = await pipeline
      .resize(o.workingSize, o.workingSize, { fit: 'inside' })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const channels = o.grey ? 1 : 3;
    if (info.channels !== channels) throw new ImageError('corrupt', imageErrorMessage(source, `decoder produced ${info.channels} channels, expected ${channels}`));
    return { data, width: info.width, height: info.height, channels };
  } catch (error) {
    throw toImageError(error, bytes, source);
  }
}

/** ORB keypoints and descriptors of an 8-bit greyscale image. */
export function detectOrb(cv: Cv, grey: WorkingImage, nfeatures: number): OrbFeatures {
  if (grey.channels !== 1) throw new RangeError('detectOrb needs a greyscale image');
  if (!Number.isInteger(nfeatures) || nfeatures < 1) throw new RangeError(`nfeatures must be a positive integer, got ${nfeatures}`);
  // ORB keeps a 31-pixel border: a thinner image has no keypoints, and OpenCV's wasm
  // build aborts with a bare number on a 1-pixel-thin one (a 3000 × 10 banner at 384 px).
  if (grey.width < MIN_ORB_SIDE || grey.height < MIN_ORB_SIDE) return { width: grey.width, height: grey.height, keypoints: [], descriptors: new Uint8Array(0) };
  return withCvScope((scope) => {
    const image = scope.track(new cv.Mat(grey.height, grey.width, cv.CV_8UC1));
    image.data.set(grey.data);
    const orb = scope.track(new cv.ORB(nfeatures));
    const keypoints = scope.track(new cv.KeyPointVector());
    const descriptors = scope.track(new cv.Mat());
    const mask = scope.track(new cv.Mat());
    orb.detectAndCompute(image, mask, keypoints, descriptors, false);
    const n = keypoints.size();
    if (n > 0 && (descriptors.rows !== n || descriptors.cols !== ORB_DESCRIPTOR_BYTES)) {
      throw new Error(`ORB returned ${n} keypoints but a ${descriptors.rows}×${descriptors.cols} descriptor matrix`);
    }
    const kps: Keypoint[] = [];
    for (let i = 0; i < n; i++) {
      const k = keypoints.get(i);
      kps.push({ x: k.pt.x, y: k.pt.y, size: k.size, angle: k.angle, response: k.response, octave: k.octave });
    }
    return { width: grey.width, height: grey.height, keypoints: kps, descriptors: n > 0 ? Uint8Array.from(descriptors.data) : new Uint8Array(0) };
  });
}

/** Decode `input` and detect its ORB features. */
export async function orbFeatures(cv: Cv, input: Buffer | string, o: OrbOptions): Promise<OrbFeatures> {
  return detectOrb(cv, await decodeWorkingImage(input, { ...o, grey: true }), o.nfeatures);
}

/**
 * The reference project's "feature vector": the first `nfeatures` descriptors, each
 * byte divided by 255, flattened row by row (length nfeatures × 32); zero-padded when
 * the image has fewer keypoints, cut when it has more.
 */
export function referenceVector(f: OrbFeatures, nfeatures: number): Float32Array {
  const out = new Float32Array(nfeatures * ORB_DESCRIPTOR_BYTES);
  const n = Math.min(out.length, f.descriptors.length);
  for (let i = 0; i < n; i++) out[i] = (f.descriptors[i] as number) / 255;
  return out;
}
