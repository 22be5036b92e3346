// The cluster map of more points than the map's sample (issue 12): what the clustering
// child process computes when the index holds more than `mapSample` points. The
// parent streams the index twice (pipelines/cluster.ts); this side
//   1. fits PCA on the key-hash sample (≤ PCA_FIT_ROWS of it, evenly spaced in key
//      order) — pca-fit.ts;
//   2. projects every point as its chunk arrives, into an N × components Float32 matrix
//      indexed by the point's rank in key order (1M × 50: 200 MB; raw vectors are never
//      all held: 1M × 1,024 would be 4 GB);
//   3. runs t-SNE on the sample's rows only, with approximate nearest neighbours above
//      `exactBelow` sample points (nn-descent.ts);
//   4. places every other point from its nearest sample points (place.ts);
//   5. labels every point by mini-batch k-means, k chosen on a sample (minibatch-kmeans.ts).
// Below the sample size none of this runs: clusterEmbeddings (cluster-map.ts) maps
// every point exactly, as before.
import type { ClusterMapOptions, ClusterProgress } from './cluster-map.js';
import { miniBatchKMeans } from './minibatch-kmeans.js';
import { neighbourGraph } from './nn-descent.js';
import { fitPca, projectRows, type PcaModel } from './pca-fit.js';
import { placeOnMap } from './place.js';
import { runTsne } from './tsne.js';

/** PCA is fitted on at most this many sample rows: 10k × 1,024 ≈ 4 s (20k: 8 s at 100k points in bench:scale, for the same 50 components to within noise). */
export const PCA_FIT_ROWS = 10_000;

export interface StreamedMapOptions extends Omit<ClusterMapOptions, 'onProgress'> {
  /** Exact kNN for the sample's t-SNE up to this many points (default 10,000). */
  exactBelow?: number;
}

export interface StreamedMapResult {
  k: number;
  silhouette?: number;
  explainedVariance: number;
  /** N × 2 positions, by rank in key order. */
  coords: Float64Array;
  /** N labels, by rank in key order. */
  labels: Int32Array;
}

export class StreamedMap {
  private readonly model: PcaModel;
  private readonly projected: Float32Array;
  private readonly seen: Uint8Array;
  private received = 0;

  /**
   * `sample`: the sample's unit vectors (row-major, key order); `sampleRanks`: each
   * sample row's rank among all n keys (ascending).
   */
  constructor(
    readonly n: number,
    readonly dim: number,
    private readonly sampleRanks: Int32Array,
    sample: Float32Array,
    private readonly o: StreamedMapOptions,
    private readonly onProgress?: (p: ClusterProgress) => void,
  ) {
    const m = sampleRanks.length;
    onProgress?.({ phase: 'pca', done: 0, total: 1 });
    const step = Math.max(1, Math.ceil(m / PCA_FIT_ROWS));
    const fitRows = Math.ceil(m / step);
    const fit = step === 1 ? sample : new Float32Array(fitRows * dim);
    if (step > 1) for (let r = 0; r < fitRows; r++) fit.set(sample.subarray(r * step * dim, (r * step + 1) * dim), r * dim);
    this.model = fitPca(fit, fitRows, dim, o.pcaComponents);
    this.projected = new Float32Array(n * this.model.components);
    this.seen = new Uint8Array(n);
    onProgress?.({ phase: 'pca', done: 1, total: 1 });
  }

  /** Project a chunk of unit vectors (row-major) whose key ranks are `ranks`. */
  add(vectors: Float32Array, ranks: Int32Array): void {
    const c = this.model.components;
    const rows = ranks.length;
    const out = projectRows(this.model, vectors, rows);
    for (let i = 0; i < rows; i++) {
      const r = ranks[i] as number;
      if (r < 0 || r >= this.n) throw new RangeError(`streamed map: rank ${r} outside 0..${this.n - 1}`);
      if (!this.seen[r]) this.received++;
      this.seen[r] = 1;
      this.projected.set(out.subarray(i * c, (i + 1) * c), r * c);
    }
    this.onProgress?.({ phase: 'project', done: this.received, total: this.n });
  }

  finish(): StreamedMapResult {
    if (this.received !== this.n) throw new Error(`streamed map: ${this.received} of ${this.n} points arrived (did the index change while it was read?)`);
    const { n, o } = this;
    const c = this.model.components;
    const m = this.sampleRanks.length;
    const sample = new Float32Array(m * c);
    for (let i = 0; i < m; i++) {
      const r = this.sampleRanks[i] as number;
      sample.set(this.projected.subarray(r * c, (r + 1) * c), i * c);
    }
    const sampleMatrix = { rows: m, dim: c, data: sample };
    const annOptions = { seed: o.seed, exactBelow: o.exactBelow ?? 10_000 };
    this.onProgress?.({ phase: 'knn', done: 0, total: 1 });
    let graph: ReturnType<typeof neighbourGraph> | undefined;
    const sampleCoords = runTsne(sampleMatrix, {
      perplexity: o.perplexity,
      iterations: o.iterations,
      seed: o.seed,
      knn: (x, k) => {
        graph = neighbourGraph(x, k, annOptions);
        this.onProgress?.({ phase: 'knn', done: 1, total: 1 });
        return graph.knn;
      },
      onProgress: (i) => this.onProgress?.({ phase: 'tsne', done: i, total: o.iterations }),
    });
    graph ??= neighbourGraph(sampleMatrix, Math.min(90, m - 1), annOptions); // t-SNE of < 4 points asks for none

    const coords = new Float64Array(2 * n);
    const inSample = new Uint8Array(n);
    for (let i = 0; i < m; i++) {
      const r = this.sampleRanks[i] as number;
      inSample[r] = 1;
      coords[2 * r] = sampleCoords[2 * i] as number;
      coords[2 * r + 1] = sampleCoords[2 * i + 1] as number;
    }
    const rest = new Int32Array(n - m);
    let at = 0;
    for (let r = 0; r < n; r++) if (!inSample[r]) rest[at++] = r;
    placeOnMap(sampleMatrix, sampleCoords, graph, this.projected, rest, coords, {
      onProgress: (done, total) => this.onProgress?.({ phase: 'place', done, total }),
    });

    const km = miniBatchKMeans(this.projected, n, c, {
      k: o.clusters === 'auto' ? 'auto' : Math.min(o.clusters, n),
      seed: o.seed,
      onProgress: (done, total) => this.onProgress?.({ phase: 'kmeans', done, total }),
    });
    this.onProgress?.({ phase: 'done', done: 1, total: 1 });
    return {
      k: km.k,
      ...(km.silhouette !== undefined ? { silhouette: km.silhouette } : {}),
      explainedVariance: this.model.explainedVariance.reduce((a, b) => a + b, 0),
      coords,
      labels: km.labels,
    };
  }
}
