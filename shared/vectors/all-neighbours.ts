// Exact cosine k-nearest-neighbours of every row against every other row (self
// excluded), as blocked matrix products on the active tfjs backend: N²·D work that
// would take minutes in plain JS for raw-pixel vectors (D = 12,288 at 64×64).
import * as tf from '@tensorflow/tfjs';

/** Row i's k nearest rows (most similar first), as an N×k Int32Array. */
export function allNearestNeighbours(data: Float32Array, rows: number, dim: number, k: number, blockRows = 256): Int32Array {
  const kk = Math.min(k, rows - 1);
  const out = new Int32Array(rows * kk);
  if (kk <= 0) return out;
  const normalized = tf.tidy(() => {
    const x = tf.tensor2d(data, [rows, dim]);
    return x.div<tf.Tensor2D>(tf.norm(x, 2, 1, true).maximum(1e-12));
  });
  const transposed = tf.tidy(() => normalized.transpose<tf.Tensor2D>());
  try {
    for (let start = 0; start < rows; start += blockRows) {
      const count = Math.min(blockRows, rows - start);
      const indices = tf.tidy(() => {
        const block = normalized.slice([start, 0], [count, dim]);
        const sims = tf.matMul(block, transposed);
        // Push each row's own column to -inf so a row never finds itself.
        const self = tf.oneHot(tf.range(start, start + count, 1, 'int32'), rows).mul(-1e9);
        return tf.topk(sims.add(self), kk).indices;
      });
      out.set(indices.dataSync(), start * kk);
      indices.dispose();
    }
  } finally {
    normalized.dispose();
    transposed.dispose();
  }
  return out;
}
