// The seeded train/validation split of a training run.
import { UserError } from '../../errors.js';
import { createRng, shuffleInPlace } from '../../random.js';

/** Image indices shuffled with `seed`; the validation part (sorted) is ≥ 1 image and leaves ≥ 1 for training. */
export function splitIndices(n: number, validationSplit: number, seed: number): { train: number[]; validation: number[] } {
  if (n < 2) throw new UserError(`Training needs at least 2 images, found ${n}`);
  const order = shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng(seed));
  const nVal = Math.min(n - 1, Math.max(1, Math.round(n * validationSplit)));
  return { validation: order.slice(0, nVal).sort((a, b) => a - b), train: order.slice(nVal) };
}
