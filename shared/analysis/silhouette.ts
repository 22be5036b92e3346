// Mean silhouette score (Rousseeuw 1987) of a labelling, on a fixed seeded sample of
// at most 2000 points: exact silhouette is O(N²·D), the sample keeps k-means' 'auto'
// model selection to O(2000²) per candidate k. The sample's pairwise distances are
// computed once (SilhouetteSample) and reused for every candidate labelling.
// Conventions follow scikit-learn: Euclidean distance, a point alone in its cluster
// scores 0, and clusters are compared only through sampled members.
import { gramMatrix } from './gram.js';
import { createRng, sampleIndices } from './rng.js';

export const SILHOUETTE_SAMPLE = 2000;

export class SilhouetteSample {
  /** Indices (into the full data) of the sampled points, ascending. */
  readonly indices: number[];
  private readonly dist: Float32Array;

  /** `data` is row-major n×dim. */
  constructor(data: Float64Array, n: number, dim: number, seed: number, maxSample = SILHOUETTE_SAMPLE) {
    this.indices = sampleIndices(n, maxSample, createRng(seed));
    const m = this.indices.length;
    // ‖a − b‖² = ‖a‖² + ‖b‖² − 2·a·b with the blocked Gram kernel (≈4× a plain loop).
    const sample = new Float64Array(m * dim);
    this.indices.forEach((i, a) => sample.set(data.subarray(i * dim, (i + 1) * dim), a * dim));
    const g = gramMatrix(sample, m, dim);
    this.dist = new Float32Array(m * m);
    for (let a = 0; a < m; a++) {
      for (let b = 0; b < a; b++) {
        const e = Math.sqrt(Math.max(0, (g[a * m + a] as number) + (g[b * m + b] as number) - 2 * (g[a * m + b] as number)));
        this.dist[a * m + b] = e;
        this.dist[b * m + a] = e;
      }
    }
  }

  /** Mean silhouette of `labels` (for the full data, values 0..k−1) over the sample. */
  score(labels: readonly number[], k: number): number {
    const m = this.indices.length;
    if (m < 2) return 0;
    const sampleLabels = this.indices.map((i) => labels[i] as number);
    const size = new Float64Array(k);
    for (const l of sampleLabels) size[l] = (size[l] as number) + 1;
    const sums = new Float64Array(k);
    let total = 0;
    for (let a = 0; a < m; a++) {
      sums.fill(0);
      const row = a * m;
      for (let b = 0; b < m; b++) {
        const l = sampleLabels[b] as number;
        sums[l] = (sums[l] as number) + (this.dist[row + b] as number);
      }
      const own = sampleLabels[a] as number;
      const ownSize = size[own] as number;
      if (ownSize <= 1) continue; // singleton: silhouette 0
      const within = (sums[own] as number) / (ownSize - 1);
      let nearest = Infinity;
      for (let c = 0; c < k; c++) {
        if (c === own || (size[c] as number) === 0) continue;
        nearest = Math.min(nearest, (sums[c] as number) / (size[c] as number));
      }
      if (nearest === Infinity) continue; // only one cluster present in the sample
      const denom = Math.max(within, nearest);
      if (denom > 0) total += (nearest - within) / denom;
    }
    return total / m;
  }
}
