// The cluster stage: the map of everything in a vector index (the local FlatIndex, or
// the collection's points in Qdrant), vectors scaled to length 1 (the cosine geometry
// search uses) and ordered by key, computed in a child process
// (shared/analysis/cluster-subprocess.ts: the caller's event loop keeps serving job
// locks and sockets); records each point's label and place on the index, and writes
// clusters.json (shared/analysis/clusters-file.ts) and clusters.png under `prefix` of
// `out`. Ordering by key and scaling make the result independent of the index's order
// and of how it stores vectors: both drivers write the same clusters.json.
//
// The index is read in bounded memory (issue 12). Pass 1 scans it page by page, keeps
// every key and a seeded sample of `mapSample` points chosen by a hash of the key
// (shared/analysis/key-sample.ts: independent of the scan order). When that sample is
// every point, the map is computed exactly as it always was (PCA → t-SNE with exact kNN
// → k-means: clusterEmbeddings). Otherwise the child fits PCA on the sample, pass 2
// streams every point to it in chunks to be projected (N × 50 floats are held, never
// N × 1,024), and it maps the sample by t-SNE with approximate neighbours, places the
// rest from their nearest sampled points and labels all by mini-batch k-means
// (shared/analysis/streamed-map.ts).
import type { Config } from '../shared/config/index.js';
import type { ClusterProgress, ClusterResult } from '../shared/analysis/cluster-map.js';
import { clusterInSubprocess, ClusterStream } from '../shared/analysis/cluster-subprocess.js';
import { KeySample, writeUnit } from '../shared/analysis/key-sample.js';
import { CLUSTER_PLOT_FILE, CLUSTERS_FILE, clustersJsonText, type ClustersFile } from '../shared/analysis/clusters-file.js';
import { renderScatterPlot } from '../shared/images/scatter-plot.js';
import type { Logger } from '../shared/logger.js';
import { createProgress, type Progress } from '../shared/progress.js';
import type { Storage } from '../shared/storage/types.js';
import type { VectorIndex } from '../shared/vectors/types.js';
import type { StreamedMapOptions } from '../shared/analysis/streamed-map.js';
import { compareKeys } from '../shared/analysis/key-sample.js';
import { MAP_SAMPLE_DEFAULT } from '../shared/config/pipeline-settings.js';

export type { ClusterProgress, ClusterResult } from '../shared/analysis/cluster-map.js';

export type ClusterSettings = Pick<Config, 'pcaComponents' | 'perplexity' | 'tsneIterations' | 'clusters' | 'seed'> & Partial<Pick<Config, 'mapSample'>>;

/** Points per chunk streamed to the clustering process in pass 2 (8 MiB at 1,024-D). */
const CHUNK_ROWS = 2048;

export interface ClusterInput {
  index: VectorIndex;
  /** clusters.json and clusters.png go to `prefix` in `out`. */
  out: Storage;
  prefix?: string;
  modelId: string;
  /** The Qdrant collection mapped (recorded in clusters.json). */
  collection?: string;
  settings: ClusterSettings;
  /** What the plot's title names (a dataset, a folder). */
  title: string;
  logger?: Logger;
  progressBar?: boolean;
  onProgress?: (p: ClusterProgress) => void;
  /** Sample t-SNE uses exact kNN up to this many points (default 10,000); benchmarks lower it to measure the approximation. */
  exactBelow?: number;
}

/** The map, or undefined when the index holds fewer than 3 points (nothing is written). */
export async function clusterIndex(input: ClusterInput): Promise<ClusterResult | undefined> {
  const s = input.settings;
  const sampleSize = s.mapSample ?? MAP_SAMPLE_DEFAULT;
  const report = throttled(input.onProgress);
  const expected = await input.index.count();

  // Pass 1: every key, and the key-hash sample's unit vectors.
  const sample = new KeySample(sampleSize, input.index.dim, s.seed);
  const seen: string[] = [];
  for await (const p of input.index.scan()) {
    seen.push(p.key);
    sample.offer(p.key, p.vector);
    if (seen.length % 10_000 === 0) report({ phase: 'read', done: seen.length, total: Math.max(expected, seen.length) });
  }
  const keys = [...new Set(seen)].sort(compareKeys);
  seen.length = 0;
  const n = keys.length;
  if (n < 3) return undefined;
  report({ phase: 'read', done: n, total: n });
  const tooMany = clustersWarning(s.clusters, n);
  if (tooMany !== undefined) input.logger?.warn({ clusters: s.clusters, points: n, sqrtN: Number(Math.sqrt(n).toFixed(1)) }, tooMany);

  // The t-SNE bar from its first iteration to its last (not over the PCA before or the k-means after).
  let bar: Progress | undefined;
  let phase = '';
  const onProgress = (p: ClusterProgress): void => {
    if (p.phase !== 'tsne') bar?.stop();
    if (p.phase !== phase) {
      phase = p.phase;
      input.logger?.info({ points: n, sample: Math.min(n, sampleSize), phase }, `cluster: ${phase === 'done' ? 'map computed' : `${phase} started`}`);
    }
    if (p.phase === 'tsne') (bar ??= createProgress({ label: 't-SNE', total: s.tsneIterations, unit: 'iterations', logger: input.logger, bar: input.progressBar })).update(p.done);
    report(p);
  };
  const options = { pcaComponents: s.pcaComponents, perplexity: s.perplexity, iterations: s.tsneIterations, clusters: s.clusters, seed: s.seed };
  const result = await (sample.length === n
    ? clusterInSubprocess({ ...sample.sorted(), dim: input.index.dim }, options, onProgress)
    : streamedMap(input.index, keys, sample, { ...options, ...(input.exactBelow !== undefined ? { exactBelow: input.exactBelow } : {}) }, onProgress)
  ).finally(() => bar?.stop());
  input.logger?.info({ k: result.k, silhouette: result.silhouette, explainedVariance: result.explainedVariance }, 'cluster: k-means done');
  await input.index.setClusters(result.points);
  const prefix = input.prefix ?? '';
  const head: Omit<ClustersFile, 'points'> = {
    version: 1,
    modelId: input.modelId,
    ...(input.collection !== undefined ? { collection: input.collection } : {}),
    count: result.points.length,
    k: result.k,
    ...(result.silhouette !== undefined ? { silhouette: result.silhouette } : {}),
    explainedVariance: result.explainedVariance,
  };
  await input.out.put(prefix + CLUSTERS_FILE, await clustersJsonText(head, result.points));
  // Every point is drawn: the plot paints dots into a fixed-size pixel buffer (O(N) time,
  // ~0.5–1 s at 1M points, no memory per point; shared/images/scatter-plot.ts).
  await input.out.put(prefix + CLUSTER_PLOT_FILE, await renderScatterPlot(result.points, { title: `${input.title}: ${n} images, ${result.k} clusters` }));
  return result;
}

/**
 * A warning when a fixed --clusters is above √N for N points (1,000 clusters of 720 images
 * are one image each: nothing to browse); undefined for auto and for k ≤ √N.
 */
export function clustersWarning(clusters: number | 'auto', n: number): string | undefined {
  if (clusters === 'auto' || clusters * clusters <= n) return undefined;
  const made = Math.min(clusters, n);
  return (
    `--clusters ${clusters} is above √N = ${Math.sqrt(n).toFixed(1)} for ${n} images` +
    (made < clusters ? ` (at most ${n} clusters can be made)` : '') +
    `: about ${(n / made).toFixed(1)} images per cluster; --clusters auto picks a k with clusters a person can browse`
  );
}

/** Pass 2 and the streamed map: every point projected in the child, chunk by chunk. */
async function streamedMap(index: VectorIndex, keys: string[], sample: KeySample, options: StreamedMapOptions, onProgress: (p: ClusterProgress) => void): Promise<ClusterResult> {
  const dim = index.dim;
  const rank = new Map<string, number>();
  keys.forEach((k, r) => rank.set(k, r));
  const chosen = sample.sorted();
  const sampleRanks = Int32Array.from(chosen.keys, (k) => rank.get(k) as number);
  const stream = await ClusterStream.start({ n: keys.length, dim, sampleRanks, sample: chosen.vectors, options }, onProgress);
  try {
    let vectors = new Float32Array(CHUNK_ROWS * dim);
    let ranks = new Int32Array(CHUNK_ROWS);
    let rows = 0;
    for await (const p of index.scan()) {
      const r = rank.get(p.key);
      if (r === undefined) continue; // added since pass 1: mapped next time
      writeUnit(p.vector, dim, vectors, rows * dim);
      ranks[rows++] = r;
      if (rows === CHUNK_ROWS) {
        await stream.add(vectors, ranks);
        vectors = new Float32Array(CHUNK_ROWS * dim);
        ranks = new Int32Array(CHUNK_ROWS);
        rows = 0;
      }
    }
    if (rows > 0) await stream.add(vectors.subarray(0, rows * dim), ranks.subarray(0, rows));
    const map = await stream.finish();
    return {
      k: map.k,
      ...(map.silhouette !== undefined ? { silhouette: map.silhouette } : {}),
      explainedVariance: map.explainedVariance,
      points: keys.map((key, i) => ({ key, x: map.coords[2 * i] as number, y: map.coords[2 * i + 1] as number, label: map.labels[i] as number })),
    };
  } catch (error) {
    stream.abort();
    throw error;
  }
}

/**
 * Progress passed on at most once a second per phase (and at each phase's first and
 * last step): a streamed map reports every chunk, and a queue handler turns each report
 * into a Redis call.
 */
function throttled(onProgress: ((p: ClusterProgress) => void) | undefined): (p: ClusterProgress) => void {
  let phase = '';
  let last = 0;
  return (p) => {
    if (!onProgress) return;
    const now = Date.now();
    if (p.phase === phase && p.done < p.total && now - last < 1000) return;
    phase = p.phase;
    last = now;
    onProgress(p);
  };
}
