// Training and evaluation batches of an image-to-image task: the model input side a
// target size gives (refusing sizes the task and the encoder's pooling stages cannot
// take), and (input, target) pairs made from decoded images on the fly, with image i's
// corruption drawn from a shared stream (training) or from its own seeded generator
// (validation: the same corruption every epoch).
import { UsageError } from '../errors.js';
import { batchFloats, type DecodedImages } from '../images/decoded.js';
import { createRng, type Rng } from '../random.js';
import { imageSeed, taskInput } from './corruptions.js';
import { inputSideOf, type TaskSpec } from './spec.js';

/**
 * The model input side for target images of side `size`; refuses sizes the task and
 * the encoder's pooling stages cannot take, naming the flags.
 */
export function checkTaskSize(spec: TaskSpec, size: number, filters: readonly number[]): number {
  const stages = filters.length;
  const pool = 2 ** stages;
  const stagesOf = `${stages} pooling stage${stages === 1 ? '' : 's'}: --filters ${filters.join(',')}`;
  if (spec.task === 'superres') {
    const need = spec.scale * pool;
    if (size % need !== 0 || size < need) {
      throw new UsageError(
        `--size must be a multiple of ${need} (--scale ${spec.scale} × 2^${stages}: the ${size / spec.scale}-px low-res input goes through ${stagesOf}), got ${size}; try ${Math.max(need, Math.round(size / need) * need)}`,
      );
    }
  } else if (size % pool !== 0 || size < pool) {
    throw new UsageError(`--size must be a multiple of ${pool} (2^${stages}, for ${stagesOf}), got ${size}; try ${Math.max(pool, Math.round(size / pool) * pool)}`);
  }
  return inputSideOf(spec, size);
}

export interface TaskBatch {
  n: number;
  /** Model inputs, n × inputSize² × 3. */
  input: Float32Array;
  inputSize: number;
  /** Targets (the clean images), n × size² × 3. */
  target: Float32Array;
  size: number;
}

/** A batch of (input, target) for the images at `indices`; image i's noise comes from rngFor(i). */
export function taskBatch(spec: TaskSpec, images: DecodedImages, indices: readonly number[], rngFor: (i: number) => Rng): TaskBatch {
  const target = batchFloats(images, indices);
  const input = taskInput(spec, target, indices.length, images.size, rngFor);
  return { n: indices.length, input, inputSize: inputSideOf(spec, images.size), target, size: images.size };
}

/** One generator per image, seeded by (seed, image index): the same corruption every time. */
export function fixedRngs(seed: number, indices: readonly number[]): (i: number) => Rng {
  return (i) => createRng(imageSeed(seed, indices[i] as number));
}
