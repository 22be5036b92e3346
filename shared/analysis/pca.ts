// PCA: reduce N×D embeddings to their top principal components (the input of
// t-SNE and k-means: denoised, ≤ 50-D, cheap to compute distances on).
//
// ml-pca's own path is an SVD of the whole centred N×D matrix on nested JS arrays,
// far too slow here. Instead we build whichever of the two symmetric matrices is
// smaller, with a cache-blocked Float64Array kernel (gram.ts), and take its top
// eigenpairs (eigen.ts: ml-pca's eigen-decomposition, or subspace iteration for
// large matrices, with ml-pca solving the small Rayleigh–Ritz problems):
//   - 'gram' (N ≤ D, e.g. 500 × 16384): the N×N Gram matrix Xc·Xcᵀ/(N−1). Its
//     non-zero eigenvalues are the covariance's; with eigenvectors U the scores are
//     Xc·V = U·Σ, i.e. U[:,c]·sqrt((N−1)·λc) — no D×D matrix is ever built.
//   - 'covariance' (N > D, e.g. 3500 × 1024): the D×D covariance Xcᵀ·Xc/(N−1), then
//     scores = Xc·V.
//   - 'svd': ml-pca's SVD path, kept for cross-checking (tests) only.
// Measured (k = 50, CPU seconds on one core of the 2-vCPU dev box; throwaway script):
//   N=500,  D=16384: ml-pca SVD 170 s; gram (+ full eigen-decomposition) 5 s
//   N=3500, D=1024:  ml-pca SVD 102 s; gram (3500×3500) 51 s; covariance with full
//                    eigen-decomposition 20 s, with subspace iteration 4–8 s
// so 'auto' picks gram when N ≤ D and covariance otherwise. All paths give the same
// scores to the printed precision. Cost: O(N·D·min(N, D)) time, min(N, D)² doubles
// plus two N×D Float64 copies of memory — fine while min(N, D) ≲ 5000; data that is
// both large and high-dimensional would need randomized PCA directly on X.
//
// Signs of components are made deterministic (largest-|score| entry of each
// component is positive, like scikit-learn's svd_flip), so every path gives the same
// output for the same input.
import { PCA } from 'ml-pca';
import { topEigenpairs, type EigenOptions } from './eigen.js';
import { gramMatrix } from './gram.js';
import type { EmbeddingMatrix } from './matrix.js';

export type PcaMethod = 'auto' | 'gram' | 'covariance' | 'svd';

export interface PcaResult {
  /** N × components scores (the centred data projected on the principal axes). */
  data: EmbeddingMatrix;
  /** Fraction of the total variance explained by each kept component, descending. */
  explainedVariance: number[];
}

export interface PcaOptions {
  /** Which decomposition to use; 'auto' (default) picks the fastest for the shape. */
  method?: PcaMethod;
  /** Eigen-solver for the gram/covariance paths (default 'auto', see eigen.ts). */
  eigenSolver?: EigenOptions['method'];
}

/**
 * Project `m` onto its first `components` principal components.
 * The number kept is min(components, N−1, D) (the rank bound of centred data).
 */
export function reducePca(m: EmbeddingMatrix, components: number, opts: PcaOptions = {}): PcaResult {
  if (!Number.isInteger(components) || components < 0) {
    throw new RangeError(`reducePca: components must be a non-negative integer, got ${components}`);
  }
  const { rows: n, dim: d } = m;
  if (m.data.length !== n * d) throw new RangeError(`reducePca: ${n}×${d} matrix has ${m.data.length} values`);
  const k = Math.max(0, Math.min(components, n - 1, d));
  if (k === 0) return { data: { rows: n, dim: 0, data: new Float32Array(0) }, explainedVariance: [] };

  const method = opts.method ?? 'auto';
  const chosen = method === 'auto' ? (n <= d ? 'gram' : 'covariance') : method;
  const eigen: EigenOptions = { method: opts.eigenSolver ?? 'auto' };
  const scores = new Float64Array(n * k);
  let explained: number[];
  switch (chosen) {
    case 'gram':
      explained = viaGram(m, k, scores, eigen);
      break;
    case 'covariance':
      explained = viaCovariance(m, k, scores, eigen);
      break;
    case 'svd':
      explained = viaSvd(m, k, scores);
      break;
  }
  flipSigns(scores, n, k);
  return { data: { rows: n, dim: k, data: Float32Array.from(scores) }, explainedVariance: explained };
}

/** Column means subtracted, as Float64 (row-major N×D). */
function centred(m: EmbeddingMatrix): Float64Array {
  const { rows: n, dim: d, data } = m;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const off = i * d;
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (data[off + j] as number);
  }
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / n;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const off = i * d;
    for (let j = 0; j < d; j++) x[off + j] = (data[off + j] as number) - (mean[j] as number);
  }
  return x;
}

/** Transpose of a row-major r×c matrix (→ row-major c×r). */
function transpose(a: Float64Array, r: number, c: number): Float64Array {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    const off = i * c;
    for (let j = 0; j < c; j++) t[j * r + i] = a[off + j] as number;
  }
  return t;
}

function trace(g: Float64Array, s: number): number {
  let t = 0;
  for (let i = 0; i < s; i++) t += g[i * s + i] as number;
  return t;
}

function ratios(eigenvalues: number[], k: number, total: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < k; c++) out.push(total > 0 ? Math.max(0, eigenvalues[c] ?? 0) / total : 0);
  return out;
}

function viaGram(m: EmbeddingMatrix, k: number, scores: Float64Array, eigen: EigenOptions): number[] {
  const n = m.rows;
  const g = gramMatrix(centred(m), n, m.dim, n - 1);
  const { values, vectors } = topEigenpairs(g, n, k, eigen);
  for (let c = 0; c < k; c++) {
    const s = Math.sqrt(Math.max(0, values[c] ?? 0) * (n - 1));
    for (let i = 0; i < n; i++) scores[i * k + c] = (vectors[c * n + i] as number) * s;
  }
  return ratios(values, k, trace(g, n));
}

function viaCovariance(m: EmbeddingMatrix, k: number, scores: Float64Array, eigen: EigenOptions): number[] {
  const { rows: n, dim: d } = m;
  const x = centred(m);
  const cov = gramMatrix(transpose(x, n, d), d, n, n - 1);
  const { values, vectors: axes } = topEigenpairs(cov, d, k, eigen); // axis c at [c*d, (c+1)*d)
  for (let i = 0; i < n; i++) {
    const off = i * d;
    for (let c = 0; c < k; c++) {
      const ao = c * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += (x[off + j] as number) * (axes[ao + j] as number);
      scores[i * k + c] = s;
    }
  }
  return ratios(values, k, trace(cov, d));
}

function viaSvd(m: EmbeddingMatrix, k: number, scores: Float64Array): number[] {
  const n = m.rows;
  const arrays: number[][] = [];
  for (let i = 0; i < n; i++) arrays.push(Array.from(m.data.subarray(i * m.dim, (i + 1) * m.dim)));
  const pca = new PCA(arrays, { method: 'SVD', center: true });
  const projected = pca.predict(arrays, { nComponents: k });
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) scores[i * k + c] = projected.get(i, c);
  return pca.getExplainedVariance().slice(0, k);
}

/** Make each component's largest-magnitude score positive (deterministic signs). */
function flipSigns(scores: Float64Array, n: number, k: number): void {
  for (let c = 0; c < k; c++) {
    let best = 0;
    for (let i = 0; i < n; i++) {
      const v = scores[i * k + c] as number;
      if (Math.abs(v) > Math.abs(best)) best = v;
    }
    if (best < 0) for (let i = 0; i < n; i++) scores[i * k + c] = -(scores[i * k + c] as number);
  }
}
