// Top-k eigenpairs of a symmetric positive semi-definite matrix (the Gram or
// covariance matrix inside PCA).
//
// ml-pca's eigen-decomposition (ml-matrix EVD: full tred2/tql2 on Matrix objects) is
// exact but O(s³) with slow element access: measured ≈0.5 s for s=300, ≈2 s for
// s=500 and ≈18 s for s=1024 on one core. PCA needs only the top k ≤ 50, so above
// FULL_LIMIT we run block subspace iteration (Q ← orth(G·Q), l = k + max(10, k)
// columns) with a Rayleigh–Ritz step each iteration whose small l×l eigenproblem is
// again solved by ml-pca: s=1024 takes ≈2 s (fast-decaying spectrum) to ≈6 s (1/j
// spectrum). Below ~600 the full decomposition is as fast or faster.
// Iteration stops when every wanted Ritz pair has residual ‖G·v − θ·v‖ ≤ tol·θ₁:
// directions carrying variance are accurate to ~tol, near-zero-variance directions
// (noise, rank deficit) are accepted as soon as they are negligible — which is also
// when their exact orientation no longer matters for distances. The start block is
// seeded, so results are deterministic.
import { PCA } from 'ml-pca';
import { multiplyABt } from './gram.js';
import { createRng, gaussian } from './rng.js';

export interface EigenPairs {
  /** k eigenvalues, descending. */
  values: number[];
  /** Eigenvectors, column c at [c*s, (c+1)*s) (unit length). */
  vectors: Float64Array;
}

export interface EigenOptions {
  /** 'auto' (default): full below FULL_LIMIT or when k is near s, else subspace iteration. */
  method?: 'auto' | 'full' | 'subspace';
  /** Relative residual tolerance for subspace iteration (default 1e-6). */
  tolerance?: number;
  /** Iteration cap for subspace iteration (default 300). */
  maxIterations?: number;
}

const FULL_LIMIT = 600;

/** The k largest eigenpairs of the symmetric s×s row-major matrix g. */
export function topEigenpairs(g: Float64Array, s: number, k: number, opts: EigenOptions = {}): EigenPairs {
  if (g.length !== s * s) throw new RangeError(`topEigenpairs: ${s}×${s} needs ${s * s} values, got ${g.length}`);
  const want = Math.max(0, Math.min(k, s));
  if (want === 0) return { values: [], vectors: new Float64Array(0) };
  const l = Math.min(s, want + Math.max(10, want));
  const method = opts.method ?? 'auto';
  const full = method === 'full' || (method === 'auto' && (s <= FULL_LIMIT || 2 * l >= s));
  return full ? fullEigen(g, s, want) : subspaceEigen(g, s, want, l, opts.tolerance ?? 1e-6, opts.maxIterations ?? 300);
}

/** Eigen-decomposition of a small symmetric matrix via ml-pca, sorted descending. */
function smallEigen(g: Float64Array, s: number): { values: number[]; vector: (row: number, col: number) => number } {
  const nested: number[][] = [];
  for (let i = 0; i < s; i++) nested.push(Array.from(g.subarray(i * s, (i + 1) * s)));
  const pca = new PCA(nested, { isCovarianceMatrix: true });
  const u = pca.getEigenvectors();
  return { values: pca.getEigenvalues(), vector: (r, c) => u.get(r, c) };
}

function fullEigen(g: Float64Array, s: number, k: number): EigenPairs {
  const { values, vector } = smallEigen(g, s);
  const vectors = new Float64Array(k * s);
  for (let c = 0; c < k; c++) for (let i = 0; i < s; i++) vectors[c * s + i] = vector(i, c);
  return { values: values.slice(0, k), vectors };
}

/**
 * Orthonormalise the l columns (column-major, length s) in place: modified
 * Gram–Schmidt applied twice. A column that (numerically) lies in the span of the
 * previous ones — G is rank-deficient — is replaced by a fresh random direction.
 */
function orthonormalise(q: Float64Array, s: number, l: number, rng: () => number): void {
  for (let c = 0; c < l; c++) {
    const oc = c * s;
    for (let attempt = 0; attempt < 4; attempt++) {
      let before = 0;
      for (let i = 0; i < s; i++) before += (q[oc + i] as number) ** 2;
      for (let pass = 0; pass < 2; pass++) {
        for (let p = 0; p < c; p++) {
          const op = p * s;
          let dot = 0;
          for (let i = 0; i < s; i++) dot += (q[op + i] as number) * (q[oc + i] as number);
          for (let i = 0; i < s; i++) q[oc + i] = (q[oc + i] as number) - dot * (q[op + i] as number);
        }
      }
      let norm = 0;
      for (let i = 0; i < s; i++) norm += (q[oc + i] as number) ** 2;
      if (norm > 1e-20 * before && norm > 0) {
        const inv = 1 / Math.sqrt(norm);
        for (let i = 0; i < s; i++) q[oc + i] = (q[oc + i] as number) * inv;
        break;
      }
      for (let i = 0; i < s; i++) q[oc + i] = gaussian(rng);
    }
  }
}

/** T = qᵀ·z for column-major l-column blocks, symmetrised (row-major l×l). */
function rayleighQuotient(q: Float64Array, z: Float64Array, s: number, l: number): Float64Array {
  const t = new Float64Array(l * l);
  for (let a = 0; a < l; a++) {
    const oa = a * s;
    for (let b = 0; b <= a; b++) {
      const ob = b * s;
      let sum = 0;
      for (let i = 0; i < s; i++) sum += (q[oa + i] as number) * (z[ob + i] as number) + (q[ob + i] as number) * (z[oa + i] as number);
      t[a * l + b] = sum / 2;
      t[b * l + a] = sum / 2;
    }
  }
  return t;
}

/** out = x·W for a column-major s×l block x and row-major l×l W (column-major result). */
function combine(x: Float64Array, w: Float64Array, s: number, l: number): Float64Array {
  const out = new Float64Array(l * s);
  for (let c = 0; c < l; c++) {
    const oc = c * s;
    for (let p = 0; p < l; p++) {
      const wpc = w[p * l + c] as number;
      if (wpc === 0) continue;
      const op = p * s;
      for (let i = 0; i < s; i++) out[oc + i] = (out[oc + i] as number) + wpc * (x[op + i] as number);
    }
  }
  return out;
}

/** Largest ‖gv_c − θ_c·v_c‖ over the first k columns. */
function worstResidual(v: Float64Array, gv: Float64Array, theta: number[], s: number, k: number): number {
  let worst = 0;
  for (let c = 0; c < k; c++) {
    const oc = c * s;
    const th = theta[c] ?? 0;
    let r = 0;
    for (let i = 0; i < s; i++) {
      const d = (gv[oc + i] as number) - th * (v[oc + i] as number);
      r += d * d;
    }
    worst = Math.max(worst, Math.sqrt(r));
  }
  return worst;
}

function subspaceEigen(g: Float64Array, s: number, k: number, l: number, tol: number, maxIterations: number): EigenPairs {
  const rng = createRng(0x5eed);
  let q: Float64Array = new Float64Array(l * s);
  for (let i = 0; i < q.length; i++) q[i] = gaussian(rng);
  orthonormalise(q, s, l, rng);
  for (let iter = 0; ; iter++) {
    const z = multiplyABt(g, s, q, l, s); // G·q, column-major like q
    const small = smallEigen(rayleighQuotient(q, z, s, l), l);
    const theta = small.values;
    const w = new Float64Array(l * l);
    for (let p = 0; p < l; p++) for (let c = 0; c < l; c++) w[p * l + c] = small.vector(p, c);
    const v = combine(q, w, s, l); // Ritz vectors
    const gv = combine(z, w, s, l); // G·v
    const worst = worstResidual(v, gv, theta, s, k);
    if (worst <= tol * Math.max(Math.abs(theta[0] ?? 0), Number.MIN_VALUE) || iter + 1 >= maxIterations) {
      return { values: theta.slice(0, k), vectors: v.slice(0, k * s) };
    }
    // Next block: G·v orthonormalised (keeps Ritz order, so columns converge in place).
    orthonormalise(gv, s, l, rng);
    q = gv;
  }
}
