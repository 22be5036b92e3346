// Barnes-Hut t-SNE to 2-D (van der Maaten 2014), written here because no maintained
// npm package does Barnes-Hut: tsne-js, tsne and @keckelt/tsne are exact O(N²) per
// iteration, and bhtsne is a node-gyp wrapper around the C++ binary. The recipe
// follows scikit-learn / openTSNE so layouts look like theirs:
//   - input > 50-D is first PCA-reduced to 50-D (denoises, and makes the kNN cheap);
//   - affinities from the k = min(N−1, ⌈3·perplexity⌉) exact nearest neighbours with a
//     per-point bandwidth matching the perplexity, symmetrised (affinities.ts). The
//     kNN is brute force, O(N²·50): ≈20 s at 20k points, the practical limit
//     (see knn.ts);
//   - initialisation: the first 2 principal components scaled to std 1e-4 ('pca',
//     default), or a seeded Gaussian with std 1e-4 ('random', also the fallback when
//     the data has no variance). `seed` drives every random choice, so a run is
//     reproducible; with PCA init the result does not depend on it at all;
//   - gradient descent with early exaggeration 12 for the first 250 iterations,
//     momentum 0.5 then 0.8, per-coordinate gains (+0.2 / ×0.8, floor 0.01),
//     learning rate 'auto' = max(N / 12 / 4, 50) (sklearn's; its gradient carries
//     the factor 4 used here too);
//   - repulsion by a Barnes-Hut quadtree with θ = 0.5 (quadtree.ts), points visited
//     in Morton order for cache locality, split over worker threads from 5,000 points
//     (tsne-repulsion.ts; the layout is the same whatever the number of threads).
// Measured (one core, 2-vCPU dev box): N = 3500, 50-D, perplexity 30, 1000
// iterations ≈ 16.5 s CPU (≈1.5 s of it kNN + affinities); ~16 ms per iteration.
import { conditionalAffinities, symmetrise, type SparseAffinities } from './affinities.js';
import { exactKnn, type KnnResult } from './knn.js';
import type { EmbeddingMatrix } from './matrix.js';
import { reducePca } from './pca.js';
import { boundingBox } from './quadtree.js';
import { createRng, gaussian } from './rng.js';
import { defaultRepulsionThreads, RepulsionStep, repulsionShared } from './tsne-repulsion.js';

export interface TsneOptions {
  /** Effective number of neighbours; clamped to (N−1)/3. Must be ≥ 1. */
  perplexity: number;
  /** Total gradient-descent iterations (default 1000; the first 250 exaggerated). */
  iterations?: number;
  seed: number;
  /** Barnes-Hut accuracy/speed trade-off (default 0.5; 0 = exact). */
  theta?: number;
  /** 'pca' (default) or 'random' initial layout. */
  init?: 'pca' | 'random';
  /** Step size; 'auto' (default) = max(N / 48, 50). */
  learningRate?: number | 'auto';
  /** Called after every iteration with (iterations done, total). */
  onProgress?: (iter: number, total: number) => void;
  /** The k-nearest-neighbour graph of the (≤ 50-D) input; default exact (knn.ts). Large maps pass an approximate one (nn-descent.ts). */
  knn?: (m: EmbeddingMatrix, k: number) => KnnResult;
  /** Worker threads for the repulsion besides this one (default: one per further core, ≤ 3; used from 5,000 points). */
  threads?: number;
}

const MAX_INPUT_DIM = 50;
const EXAGGERATION = 12;
const EXAGGERATION_ITERATIONS = 250;
const INIT_STD = 1e-4;

/** 2-D layout of the rows of `m`: returns N*2 values, point i at [2i, 2i+1]. */
export function runTsne(m: EmbeddingMatrix, opts: TsneOptions): Float64Array {
  const n = m.rows;
  const iterations = opts.iterations ?? 1000;
  const theta = opts.theta ?? 0.5;
  if (!Number.isFinite(opts.perplexity) || opts.perplexity < 1) {
    throw new RangeError(`runTsne: perplexity must be ≥ 1, got ${opts.perplexity}`);
  }
  if (!Number.isInteger(iterations) || iterations < 0) throw new RangeError(`runTsne: invalid iterations ${iterations}`);
  if (!Number.isFinite(theta) || theta < 0) throw new RangeError(`runTsne: invalid theta ${theta}`);
  if (opts.learningRate !== undefined && opts.learningRate !== 'auto' && !(Number.isFinite(opts.learningRate) && opts.learningRate > 0)) {
    throw new RangeError(`runTsne: invalid learning rate ${opts.learningRate}`);
  }
  if (m.data.length !== n * m.dim) throw new RangeError(`runTsne: ${n}×${m.dim} matrix has ${m.data.length} values`);
  if (n < 4) return tinyLayout(m);

  const threads = opts.threads ?? defaultRepulsionThreads();
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`runTsne: invalid threads ${threads}`);

  // Threads start first: they load while the neighbours are found.
  const repulsion = new RepulsionStep(repulsionShared(n, theta), iterations > 0 ? threads : 0);
  try {
    const perplexity = Math.min(opts.perplexity, (n - 1) / 3);
    const k = Math.min(n - 1, Math.ceil(3 * perplexity));
    const reduced = m.dim > MAX_INPUT_DIM ? reducePca(m, MAX_INPUT_DIM).data : m;
    const knn = (opts.knn ?? exactKnn)(reduced, k);
    const p = symmetrise(knn, conditionalAffinities(knn, n, perplexity), n);

    const y = repulsion.shared.y;
    y.set(initialLayout(reduced, opts.init ?? 'pca', opts.seed));
    const learningRate = opts.learningRate === undefined || opts.learningRate === 'auto' ? Math.max(n / EXAGGERATION / 4, 50) : opts.learningRate;
    optimise(repulsion, p, { iterations, learningRate, onProgress: opts.onProgress });
    return y.slice(); // a plain (not shared) copy: it crosses process boundaries
  } finally {
    repulsion.close();
  }
}

/** N < 4: too few points for perplexity; their exact PCA geometry (≤ 2-D) is shown. */
function tinyLayout(m: EmbeddingMatrix): Float64Array {
  const n = m.rows;
  const out = new Float64Array(2 * n);
  if (n < 2) return out;
  const pcs = reducePca(m, 2).data;
  for (let i = 0; i < n; i++) for (let c = 0; c < pcs.dim; c++) out[2 * i + c] = pcs.data[i * pcs.dim + c] as number;
  return out;
}

function initialLayout(x: EmbeddingMatrix, init: 'pca' | 'random', seed: number): Float64Array {
  const n = x.rows;
  const y = new Float64Array(2 * n);
  if (init === 'pca') {
    // PCA of the (≤ 50-D) t-SNE input: cheap, and identical to the first two columns
    // when x is already PCA scores.
    const pcs = reducePca(x, 2).data;
    if (pcs.dim > 0) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += pcs.data[i * pcs.dim] as number;
      mean /= n;
      let variance = 0;
      for (let i = 0; i < n; i++) variance += ((pcs.data[i * pcs.dim] as number) - mean) ** 2;
      const std = Math.sqrt(variance / n);
      if (std > 0) {
        const scale = INIT_STD / std;
        for (let i = 0; i < n; i++) {
          for (let c = 0; c < pcs.dim; c++) y[2 * i + c] = (pcs.data[i * pcs.dim + c] as number) * scale;
        }
        return y;
      }
    }
  }
  const rng = createRng(seed);
  for (let i = 0; i < 2 * n; i++) y[i] = gaussian(rng) * INIT_STD;
  return y;
}

interface OptimiseOptions {
  iterations: number;
  learningRate: number;
  onProgress: ((iter: number, total: number) => void) | undefined;
}

function optimise(repulsion: RepulsionStep, p: SparseAffinities, o: OptimiseOptions): void {
  const n = p.n;
  const { rowStart, columns, values } = p;
  const { y, order, repulse: repulseByRank, sumQ } = repulsion.shared;
  const repulse = new Float64Array(2 * n);
  const grad = new Float64Array(2 * n);
  const update = new Float64Array(2 * n);
  const gains = new Float64Array(2 * n).fill(1);
  const keys = new Float64Array(n);

  for (let iter = 0; iter < o.iterations; iter++) {
    const early = iter < EXAGGERATION_ITERATIONS;
    const exaggeration = early ? EXAGGERATION : 1;
    const momentum = early ? 0.5 : 0.8;

    // Attraction: Σ_j p_ij·q_ij·(y_i − y_j) over the sparse neighbour graph.
    for (let i = 0; i < n; i++) {
      const xi = y[2 * i] as number;
      const yi = y[2 * i + 1] as number;
      let ax = 0;
      let ay = 0;
      const end = rowStart[i + 1] as number;
      for (let e = rowStart[i] as number; e < end; e++) {
        const j = columns[e] as number;
        const dx = xi - (y[2 * j] as number);
        const dy = yi - (y[2 * j + 1] as number);
        const w = (values[e] as number) / (1 + dx * dx + dy * dy);
        ax += w * dx;
        ay += w * dy;
      }
      grad[2 * i] = exaggeration * ax;
      grad[2 * i + 1] = exaggeration * ay;
    }

    // Repulsion: Barnes-Hut estimate of Σ_j q_ij²·(y_i − y_j) and of Z = Σ q_ij.
    // Points are visited in Morton (Z-curve) order, refreshed every few iterations:
    // consecutive walks then share most of their path, which keeps it in cache.
    // The walks may be shared out over threads; Z is summed here in Morton order.
    if (iter % 10 === 0) mortonOrder(y, n, order, keys);
    repulsion.run();
    let z = 0;
    for (let r = 0; r < n; r++) {
      z += sumQ[r] as number;
      const i = order[r] as number;
      repulse[2 * i] = repulseByRank[2 * r] as number;
      repulse[2 * i + 1] = repulseByRank[2 * r + 1] as number;
    }
    const invZ = z > 0 ? 1 / z : 0;

    // Gradient 4·(attraction − repulsion/Z); momentum step with adaptive gains.
    for (let t = 0; t < 2 * n; t++) {
      const g = 4 * ((grad[t] as number) - (repulse[t] as number) * invZ);
      const u = update[t] as number;
      let gain = gains[t] as number;
      gain = u * g < 0 ? gain + 0.2 : gain * 0.8;
      if (gain < 0.01) gain = 0.01;
      gains[t] = gain;
      const next = momentum * u - o.learningRate * gain * g;
      update[t] = next;
      y[t] = (y[t] as number) + next;
    }

    // Keep the layout centred (the objective is translation invariant).
    let cx = 0;
    let cy = 0;
    for (let i = 0; i < n; i++) {
      cx += y[2 * i] as number;
      cy += y[2 * i + 1] as number;
    }
    cx /= n;
    cy /= n;
    for (let i = 0; i < n; i++) {
      y[2 * i] = (y[2 * i] as number) - cx;
      y[2 * i + 1] = (y[2 * i + 1] as number) - cy;
    }
    o.onProgress?.(iter + 1, o.iterations);
  }
}

/** Point indices sorted along a Z-order curve over the layout's bounding box. */
function mortonOrder(y: Float64Array, n: number, order: Int32Array, keys: Float64Array): void {
  const { minX, minY, maxX, maxY } = boundingBox(y, n);
  const scale = 65535 / Math.max(maxX - minX, maxY - minY, Number.MIN_VALUE);
  for (let i = 0; i < n; i++) {
    const code = interleave(Math.floor(((y[2 * i] as number) - minX) * scale)) | (interleave(Math.floor(((y[2 * i + 1] as number) - minY) * scale)) << 1);
    // code < 2³², index < 2²⁰ → key exact in a double; sorting keys sorts by code then index.
    keys[i] = (code >>> 0) * 1048576 + i;
  }
  keys.sort();
  for (let r = 0; r < n; r++) order[r] = (keys[r] as number) % 1048576;
}

/** Spread the low 16 bits of v to the even bit positions. */
function interleave(v: number): number {
  let x = v & 0xffff;
  x = (x | (x << 8)) & 0x00ff00ff;
  x = (x | (x << 4)) & 0x0f0f0f0f;
  x = (x | (x << 2)) & 0x33333333;
  x = (x | (x << 1)) & 0x55555555;
  return x;
}
