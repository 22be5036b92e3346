// PCA as a model fitted on a sample and applied to any number of rows later, chunk by
// chunk: what a map of more points than fit in memory at full width needs (the
// streamed cluster map, streamed-map.ts). pca.ts reduces one matrix held whole; here
// the covariance is accumulated over blocks of FIT_BLOCK rows (Float64, D×D), so
// fitting 20,000 × 1,024 holds 8 MiB of covariance and a 16 MiB block beside the
// sample, not two N×D Float64 copies. Its top eigenvectors (eigen.ts) are the axes.
// Cost: O(m·D²) to fit (20k × 1,024: ~15 s on one core), O(D·components) per row to
// project (1M × 1,024 → 50: ~50 s). Signs as in pca.ts: each component's
// largest-|score| entry over the fitting rows is positive.
import { topEigenpairs } from './eigen.js';
import { gramMatrix } from './gram.js';

export interface PcaModel {
  dim: number;
  components: number;
  mean: Float64Array;
  /** Axis c at [c*dim, (c+1)*dim), unit length. */
  axes: Float64Array;
  /** Fraction of the (fitting rows') variance each component explains. */
  explainedVariance: number[];
}

const FIT_BLOCK = 2048;

/** Fit on the rows of `x` (row-major m×dim); keeps min(components, m−1, dim). */
export function fitPca(x: Float32Array, m: number, dim: number, components: number): PcaModel {
  if (x.length !== m * dim) throw new RangeError(`fitPca: ${m}×${dim} needs ${m * dim} values, got ${x.length}`);
  const k = Math.max(0, Math.min(components, m - 1, dim));
  const mean = new Float64Array(dim);
  for (let i = 0; i < m; i++) for (let j = 0; j < dim; j++) mean[j] = (mean[j] as number) + (x[i * dim + j] as number);
  for (let j = 0; j < dim; j++) mean[j] = (mean[j] as number) / Math.max(1, m);
  const cov = new Float64Array(dim * dim);
  const block = new Float64Array(dim * FIT_BLOCK);
  for (let r0 = 0; r0 < m; r0 += FIT_BLOCK) {
    const rows = Math.min(FIT_BLOCK, m - r0);
    // The block's transpose (dim × rows), centred: its Gram matrix is Σ xᵢxᵢᵀ over the block.
    const t = rows === FIT_BLOCK ? block : new Float64Array(dim * rows);
    for (let i = 0; i < rows; i++) {
      const off = (r0 + i) * dim;
      for (let j = 0; j < dim; j++) t[j * rows + i] = (x[off + j] as number) - (mean[j] as number);
    }
    const g = gramMatrix(t, dim, rows, Math.max(1, m - 1));
    for (let e = 0; e < g.length; e++) cov[e] = (cov[e] as number) + (g[e] as number);
  }
  let total = 0;
  for (let j = 0; j < dim; j++) total += cov[j * dim + j] as number;
  const { values, vectors } = topEigenpairs(cov, dim, k);
  const model: PcaModel = {
    dim,
    components: k,
    mean,
    axes: vectors.slice(0, k * dim),
    explainedVariance: Array.from({ length: k }, (_, c) => (total > 0 ? Math.max(0, values[c] ?? 0) / total : 0)),
  };
  // Deterministic signs from the fitting rows' scores.
  const scores = projectRows(model, x, m);
  for (let c = 0; c < k; c++) {
    let best = 0;
    for (let i = 0; i < m; i++) {
      const v = scores[i * k + c] as number;
      if (Math.abs(v) > Math.abs(best)) best = v;
    }
    if (best < 0) for (let j = 0; j < dim; j++) model.axes[c * dim + j] = -(model.axes[c * dim + j] as number);
  }
  return model;
}

/** Scores of `rows` rows of `x` (row-major rows×dim): rows × components, float32. */
export function projectRows(model: PcaModel, x: Float32Array, rows: number, out = new Float32Array(rows * model.components)): Float32Array {
  const { dim, components: k, mean, axes } = model;
  const centred = new Float64Array(dim);
  for (let i = 0; i < rows; i++) {
    const off = i * dim;
    for (let j = 0; j < dim; j++) centred[j] = (x[off + j] as number) - (mean[j] as number);
    for (let c = 0; c < k; c++) {
      const ao = c * dim;
      let s0 = 0;
      let s1 = 0;
      let j = 0;
      for (; j + 1 < dim; j += 2) {
        s0 += (centred[j] as number) * (axes[ao + j] as number);
        s1 += (centred[j + 1] as number) * (axes[ao + j + 1] as number);
      }
      if (j < dim) s0 += (centred[j] as number) * (axes[ao + j] as number);
      out[i * k + c] = s0 + s1;
    }
  }
  return out;
}
