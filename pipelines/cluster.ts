// Cluster: PCA (to ~50 components) → Barnes-Hut t-SNE to 2-D for the picture, and
// k-means on the PCA-reduced vectors for the labels (clustering the t-SNE coordinates
// would cluster an artefact of the layout). Output: clusters.json (key → x, y, label)
// and a scatter plot coloured by cluster.
import { reducePca } from '../shared/analysis/pca.js';
import { runTsne } from '../shared/analysis/tsne.js';
import { clusterKMeans } from '../shared/analysis/kmeans.js';
import { UserError } from '../shared/errors.js';
import { renderScatterPlot } from '../shared/images/scatter-plot.js';
import type { Logger } from '../shared/logger.js';
import { createProgress } from '../shared/progress.js';
import type { Storage } from '../shared/storage/types.js';
import type { Embeddings } from './embed.js';
import { OUTPUT } from './layout.js';

export interface ClusterOptions {
  pcaComponents: number;
  perplexity: number;
  iterations: number;
  clusters: number | 'auto';
  seed: number;
  logger?: Logger;
  progressBar?: boolean;
  /** Called as the work advances (cluster-child.ts forwards it to the job's progress). */
  onProgress?: (p: ClusterProgress) => void;
}

export interface ClusterProgress {
  phase: 'pca' | 'tsne' | 'kmeans' | 'done';
  /** Within the phase (t-SNE: iterations). */
  done: number;
  total: number;
}

export interface ClusterPoint {
  key: string;
  x: number;
  y: number;
  label: number;
}

export interface ClusterResult {
  k: number;
  silhouette?: number;
  explainedVariance: number;
  points: ClusterPoint[];
}

export function clusterEmbeddings(e: Embeddings, o: ClusterOptions): ClusterResult {
  const n = e.keys.length;
  if (n < 3) throw new UserError(`Clustering needs at least 3 images, found ${n}`);
  o.onProgress?.({ phase: 'pca', done: 0, total: 1 });
  const pca = reducePca({ rows: n, dim: e.dim, data: e.vectors }, o.pcaComponents);
  const explained = pca.explainedVariance.reduce((a, b) => a + b, 0);
  o.logger?.info({ components: pca.data.dim, explainedVariance: explained }, 'PCA done');
  const progress = createProgress({ label: 't-SNE', total: o.iterations, logger: o.logger, bar: o.progressBar });
  const coords = runTsne(pca.data, {
    perplexity: o.perplexity,
    iterations: o.iterations,
    seed: o.seed,
    onProgress: (i) => {
      progress.update(i);
      o.onProgress?.({ phase: 'tsne', done: i, total: o.iterations });
    },
  });
  progress.stop();
  o.onProgress?.({ phase: 'kmeans', done: 0, total: 1 });
  const km = clusterKMeans(pca.data, { k: o.clusters === 'auto' ? 'auto' : Math.min(o.clusters, n), seed: o.seed });
  o.logger?.info({ k: km.k, silhouette: km.silhouette }, 'k-means done');
  o.onProgress?.({ phase: 'done', done: 1, total: 1 });
  return {
    k: km.k,
    ...(km.silhouette !== undefined ? { silhouette: km.silhouette } : {}),
    explainedVariance: explained,
    points: e.keys.map((key, i) => ({ key, x: coords[2 * i] as number, y: coords[2 * i + 1] as number, label: km.labels[i] as number })),
  };
}

export async function writeClusters(storage: Storage, result: ClusterResult, title: string): Promise<void> {
  const byKey = Object.fromEntries(result.points.map((p) => [p.key, { x: p.x, y: p.y, label: p.label }]));
  await storage.put(
    OUTPUT.clusters,
    JSON.stringify({ k: result.k, silhouette: result.silhouette, explainedVariance: result.explainedVariance, points: byKey }, null, 1),
  );
  await storage.put(OUTPUT.clusterPlot, await renderScatterPlot(result.points, { title }));
}
