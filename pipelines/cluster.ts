// The cluster stage: the map of everything in a vector index. Reads every vector
// (the local FlatIndex, or the collection's points in Qdrant), sorted by key and scaled
// to length 1 (shared/vectors/read-all.ts: the cosine geometry search uses), then PCA → t-SNE → k-means in a child process
// (shared/analysis/cluster-subprocess.ts: the caller's event loop keeps serving job
// locks and sockets), records each point's label and place on the index, and writes
// clusters.json (shared/analysis/clusters-file.ts) and clusters.png under `prefix` of
// `out`. Sorting and scaling make the result independent of the index's order and of
// how it stores vectors: both drivers write the same clusters.json for the same vectors.
import type { Config } from '../shared/config/index.js';
import type { ClusterProgress, ClusterResult } from '../shared/analysis/cluster-map.js';
import { clusterInSubprocess } from '../shared/analysis/cluster-subprocess.js';
import { CLUSTER_PLOT_FILE, CLUSTERS_FILE, type ClustersFile } from '../shared/analysis/clusters-file.js';
import { renderScatterPlot } from '../shared/images/scatter-plot.js';
import type { Logger } from '../shared/logger.js';
import { createProgress } from '../shared/progress.js';
import type { Storage } from '../shared/storage/types.js';
import { readAllVectors } from '../shared/vectors/read-all.js';
import type { VectorIndex } from '../shared/vectors/types.js';

export type { ClusterProgress, ClusterResult } from '../shared/analysis/cluster-map.js';

export type ClusterSettings = Pick<Config, 'pcaComponents' | 'perplexity' | 'tsneIterations' | 'clusters' | 'seed'>;

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
}

/** The map, or undefined when the index holds fewer than 3 points (nothing is written). */
export async function clusterIndex(input: ClusterInput): Promise<ClusterResult | undefined> {
  const matrix = await readAllVectors(input.index, { unit: true });
  const n = matrix.keys.length;
  if (n < 3) return undefined;
  const s = input.settings;
  const bar = createProgress({ label: 't-SNE', total: s.tsneIterations, logger: input.logger, bar: input.progressBar });
  let phase = '';
  const result = await clusterInSubprocess(
    matrix,
    { pcaComponents: s.pcaComponents, perplexity: s.perplexity, iterations: s.tsneIterations, clusters: s.clusters, seed: s.seed },
    (p) => {
      if (p.phase !== phase) {
        phase = p.phase;
        input.logger?.info({ points: n, phase }, `cluster: ${phase === 'done' ? 'map computed' : `${phase} started`}`);
      }
      if (p.phase === 'tsne') bar.update(p.done);
      input.onProgress?.(p);
    },
  ).finally(() => bar.stop());
  input.logger?.info({ k: result.k, silhouette: result.silhouette, explainedVariance: result.explainedVariance }, 'cluster: k-means done');
  await input.index.setClusters(result.points);
  const prefix = input.prefix ?? '';
  const file: ClustersFile = {
    version: 1,
    modelId: input.modelId,
    ...(input.collection !== undefined ? { collection: input.collection } : {}),
    count: n,
    k: result.k,
    ...(result.silhouette !== undefined ? { silhouette: result.silhouette } : {}),
    explainedVariance: result.explainedVariance,
    points: Object.fromEntries(result.points.map((p) => [p.key, { x: p.x, y: p.y, label: p.label }])),
  };
  await input.out.put(prefix + CLUSTERS_FILE, JSON.stringify(file));
  await input.out.put(prefix + CLUSTER_PLOT_FILE, await renderScatterPlot(result.points, { title: `${input.title}: ${n} images, ${result.k} clusters` }));
  return result;
}
