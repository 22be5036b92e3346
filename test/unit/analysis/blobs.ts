// Test data for the analysis tests: isotropic Gaussian blobs with known labels,
// plus small scoring helpers (adjusted Rand index, purity, pairwise distances).
import type { EmbeddingMatrix } from '../../../shared/analysis/matrix.js';
import { createRng, gaussian } from '../../../shared/analysis/rng.js';

export interface Blobs {
  matrix: EmbeddingMatrix;
  labels: number[];
}

/**
 * `sizes[b]` points around blob b's centre; centres are Gaussian with std
 * `separation`, points add unit-variance noise. Points are interleaved (not grouped
 * by blob) so no algorithm can profit from the order.
 */
export function makeBlobs(sizes: number[], dim: number, separation: number, seed: number): Blobs {
  const rng = createRng(seed);
  const centres = sizes.map(() => Array.from({ length: dim }, () => gaussian(rng) * separation));
  const labels: number[] = [];
  const remaining = [...sizes];
  while (remaining.some((r) => r > 0)) {
    remaining.forEach((r, b) => {
      if (r > 0) {
        labels.push(b);
        remaining[b] = r - 1;
      }
    });
  }
  const data = new Float32Array(labels.length * dim);
  labels.forEach((b, i) => {
    const c = centres[b] as number[];
    for (let j = 0; j < dim; j++) data[i * dim + j] = (c[j] as number) + gaussian(rng);
  });
  return { matrix: { rows: labels.length, dim, data }, labels };
}

export { adjustedRandIndex } from '../../support/cluster-metrics.js';

/** Fraction of each point's k nearest 2-D neighbours sharing its label. */
export function knnPurity2d(y: Float64Array, labels: readonly number[], k: number): number {
  const n = labels.length;
  let same = 0;
  for (let i = 0; i < n; i++) {
    const d: Array<[number, number]> = [];
    for (let j = 0; j < n; j++) {
      if (j !== i) d.push([((y[2 * i] as number) - (y[2 * j] as number)) ** 2 + ((y[2 * i + 1] as number) - (y[2 * j + 1] as number)) ** 2, j]);
    }
    d.sort((p, q) => p[0] - q[0]);
    for (let t = 0; t < k; t++) if (labels[(d[t] as [number, number])[1]] === labels[i]) same++;
  }
  return same / (n * k);
}

/** Euclidean distance between rows i and j of a row-major matrix. */
export function rowDistance(data: ArrayLike<number>, dim: number, i: number, j: number): number {
  let s = 0;
  for (let t = 0; t < dim; t++) s += ((data[i * dim + t] as number) - (data[j * dim + t] as number)) ** 2;
  return Math.sqrt(s);
}
