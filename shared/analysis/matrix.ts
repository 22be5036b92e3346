// The dense embedding matrix every analysis step (PCA, t-SNE, k-means) takes and
// returns: N rows × D columns, row-major, float32 — the layout the embedder writes
// and `embeddings.npy` stores, so no copy is needed to get here. Helpers: validate,
// view one row without copying, L2-normalise rows (cosine geometry → Euclidean),
// and convert to/from nested arrays for libraries (ml-pca, ml-kmeans) that want them.

export interface EmbeddingMatrix {
  /** Number of points (N). */
  rows: number;
  /** Dimensions per point (D). */
  dim: number;
  /** Row-major N×D values: point i is data[i*dim, (i+1)*dim). */
  data: Float32Array;
}

/** Build a matrix, checking that the shape matches the data length. */
export function createMatrix(rows: number, dim: number, data?: Float32Array): EmbeddingMatrix {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`matrix: invalid row count ${rows}`);
  if (!Number.isInteger(dim) || dim < 0) throw new RangeError(`matrix: invalid dimension ${dim}`);
  const values = data ?? new Float32Array(rows * dim);
  if (values.length !== rows * dim) {
    throw new RangeError(`matrix: ${rows}×${dim} needs ${rows * dim} values, got ${values.length}`);
  }
  return { rows, dim, data: values };
}

/** Throws unless `m` is internally consistent (shape agrees with data length). */
export function assertMatrix(m: EmbeddingMatrix): void {
  createMatrix(m.rows, m.dim, m.data);
}

/** Row i as a view into the matrix's buffer (no copy; writes go through). */
export function row(m: EmbeddingMatrix, i: number): Float32Array {
  if (!Number.isInteger(i) || i < 0 || i >= m.rows) throw new RangeError(`matrix: row ${i} out of range 0..${m.rows - 1}`);
  return m.data.subarray(i * m.dim, (i + 1) * m.dim);
}

/**
 * A copy of `m` with every row scaled to unit L2 norm, so that squared Euclidean
 * distance = 2 − 2·cosine. All-zero rows stay zero.
 */
export function l2NormalizeRows(m: EmbeddingMatrix): EmbeddingMatrix {
  const { rows, dim, data } = m;
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++) {
    const off = i * dim;
    let sum = 0;
    for (let j = 0; j < dim; j++) {
      const v = data[off + j] as number;
      sum += v * v;
    }
    if (sum === 0) continue;
    const inv = 1 / Math.sqrt(sum);
    for (let j = 0; j < dim; j++) out[off + j] = (data[off + j] as number) * inv;
  }
  return { rows, dim, data: out };
}

/** Nested arrays (one number[] per row), as ml-kmeans and ml-pca take them. */
export function toArrays(m: EmbeddingMatrix): number[][] {
  const out: number[][] = new Array<number[]>(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = Array.from(m.data.subarray(i * m.dim, (i + 1) * m.dim));
  return out;
}

/** Pack nested arrays (all the same length) into a matrix. */
export function fromArrays(points: readonly (readonly number[])[]): EmbeddingMatrix {
  const rows = points.length;
  const dim = rows === 0 ? 0 : (points[0] as readonly number[]).length;
  const data = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    const p = points[i] as readonly number[];
    if (p.length !== dim) throw new RangeError(`matrix: row ${i} has ${p.length} values, expected ${dim}`);
    data.set(p, i * dim);
  }
  return { rows, dim, data };
}
