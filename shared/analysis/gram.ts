// The Gram matrix A·Aᵀ of a row-major r×c Float64 matrix: the one O(r²·c) kernel
// behind PCA (N×N Gram when N ≤ D, D×D covariance when N > D). It dominates PCA
// time, so it is written for V8: columns processed in blocks that stay in cache,
// and a 2×4 register block (two rows of A against four) so each loaded value is used
// several times. Only the lower triangle is computed; it is mirrored at the end.

const COLUMN_BLOCK = 512;

/** Full symmetric r×r matrix A·Aᵀ / scale, row-major. */
export function gramMatrix(a: Float64Array, r: number, c: number, scale = 1): Float64Array {
  if (a.length !== r * c) throw new RangeError(`gramMatrix: ${r}×${c} needs ${r * c} values, got ${a.length}`);
  const g = new Float64Array(r * r);
  for (let c0 = 0; c0 < c; c0 += COLUMN_BLOCK) {
    const c1 = Math.min(c, c0 + COLUMN_BLOCK);
    for (let i = 0; i < r; i += 2) {
      // Rows i and i1 (= i when r is odd and i is the last row).
      const i1 = Math.min(i + 1, r - 1);
      const oa = i * c;
      const ob = i1 * c;
      for (let j = 0; j <= i1; j += 4) {
        // Clamp past-the-end rows onto the last one; their sums are discarded below.
        const j1 = Math.min(j + 1, r - 1);
        const j2 = Math.min(j + 2, r - 1);
        const j3 = Math.min(j + 3, r - 1);
        const o0 = j * c;
        const o1 = j1 * c;
        const o2 = j2 * c;
        const o3 = j3 * c;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        let b0 = 0;
        let b1 = 0;
        let b2 = 0;
        let b3 = 0;
        for (let t = c0; t < c1; t++) {
          const x = a[oa + t] as number;
          const y = a[ob + t] as number;
          const p0 = a[o0 + t] as number;
          const p1 = a[o1 + t] as number;
          const p2 = a[o2 + t] as number;
          const p3 = a[o3 + t] as number;
          a0 += x * p0;
          a1 += x * p1;
          a2 += x * p2;
          a3 += x * p3;
          b0 += y * p0;
          b1 += y * p1;
          b2 += y * p2;
          b3 += y * p3;
        }
        // Entries above the diagonal in this 2×4 tile are computed but not stored,
        // except g[i][i1] which is harmless (overwritten by the mirror below).
        const ga = i * r;
        const gb = i1 * r;
        g[ga + j] = (g[ga + j] as number) + a0;
        if (j1 > j) g[ga + j1] = (g[ga + j1] as number) + a1;
        if (j2 > j1) g[ga + j2] = (g[ga + j2] as number) + a2;
        if (j3 > j2) g[ga + j3] = (g[ga + j3] as number) + a3;
        if (i1 > i) {
          g[gb + j] = (g[gb + j] as number) + b0;
          if (j1 > j) g[gb + j1] = (g[gb + j1] as number) + b1;
          if (j2 > j1) g[gb + j2] = (g[gb + j2] as number) + b2;
          if (j3 > j2) g[gb + j3] = (g[gb + j3] as number) + b3;
        }
      }
    }
  }
  for (let i = 0; i < r; i++) {
    for (let j = 0; j <= i; j++) {
      const v = (g[i * r + j] as number) / scale;
      g[i * r + j] = v;
      g[j * r + i] = v;
    }
  }
  return g;
}

/**
 * A·Bᵀ for row-major A (ra×c) and B (rb×c), written transposed: out[jb*ra + ia] =
 * row ia of A · row jb of B. (With A = G and B = the columns of a column-major
 * block Q this is G·Q column-major — the step of subspace iteration.) Same 2×4
 * register blocking as gramMatrix, no symmetry.
 */
export function multiplyABt(a: Float64Array, ra: number, b: Float64Array, rb: number, c: number): Float64Array {
  if (a.length !== ra * c || b.length !== rb * c) throw new RangeError('multiplyABt: shape mismatch');
  const out = new Float64Array(ra * rb);
  for (let c0 = 0; c0 < c; c0 += COLUMN_BLOCK) {
    const c1 = Math.min(c, c0 + COLUMN_BLOCK);
    for (let i = 0; i < ra; i += 2) {
      const i1 = Math.min(i + 1, ra - 1);
      const oa = i * c;
      const ob = i1 * c;
      for (let j = 0; j < rb; j += 4) {
        const j1 = Math.min(j + 1, rb - 1);
        const j2 = Math.min(j + 2, rb - 1);
        const j3 = Math.min(j + 3, rb - 1);
        const o0 = j * c;
        const o1 = j1 * c;
        const o2 = j2 * c;
        const o3 = j3 * c;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        let b0 = 0;
        let b1 = 0;
        let b2 = 0;
        let b3 = 0;
        for (let t = c0; t < c1; t++) {
          const x = a[oa + t] as number;
          const y = a[ob + t] as number;
          const p0 = b[o0 + t] as number;
          const p1 = b[o1 + t] as number;
          const p2 = b[o2 + t] as number;
          const p3 = b[o3 + t] as number;
          a0 += x * p0;
          a1 += x * p1;
          a2 += x * p2;
          a3 += x * p3;
          b0 += y * p0;
          b1 += y * p1;
          b2 += y * p2;
          b3 += y * p3;
        }
        out[j * ra + i] = (out[j * ra + i] as number) + a0;
        if (j1 > j) out[j1 * ra + i] = (out[j1 * ra + i] as number) + a1;
        if (j2 > j1) out[j2 * ra + i] = (out[j2 * ra + i] as number) + a2;
        if (j3 > j2) out[j3 * ra + i] = (out[j3 * ra + i] as number) + a3;
        if (i1 > i) {
          out[j * ra + i1] = (out[j * ra + i1] as number) + b0;
          if (j1 > j) out[j1 * ra + i1] = (out[j1 * ra + i1] as number) + b1;
          if (j2 > j1) out[j2 * ra + i1] = (out[j2 * ra + i1] as number) + b2;
          if (j3 > j2) out[j3 * ra + i1] = (out[j3 * ra + i1] as number) + b3;
        }
      }
    }
  }
  return out;
}
