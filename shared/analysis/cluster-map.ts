// The cluster map of a set of vectors: PCA (to ~50 components) → Barnes-Hut t-SNE to
// 2-D for the picture, and k-means on the PCA-reduced vectors for the labels
// (clustering the t-SNE coordinates would cluster an artefact of the layout).
// Synchronous, seconds to minutes of CPU: callers off a worker's event loop run it in a
// child process (cluster-subprocess.ts).
import { UserError } from '../errors.js';
import { clusterKMeans } from './kmeans.js';
import { reducePca } from './pca.js';
import { runTsne } from './tsne.js';
import type { VectorMatrix } from '../vectors/read-all.js';

export type { VectorMatrix } from '../vectors/read-all.js';

export interface ClusterMapOptions {
  pcaComponents: number;
  perplexity: number;
  iterations: number;
  clusters: number | 'auto';
  seed: number;
  /** Called as the work advances (the child process forwards it to its parent). */
  onProgress?: (p: ClusterProgress) => void;
}

export interface ClusterProgress {
  /**
   * Every point mapped (≤ the map sample): pca → tsne → kmeans → done. A streamed map
   * (streamed-map.ts) adds read (the index's first pass: points), project (the second
   * pass: points), knn (the sample's neighbour graph) and place (points placed from the
   * sample): read → pca → project → knn → tsne → place → kmeans → done.
   */
  phase: 'read' | 'pca' | 'project' | 'knn' | 'tsne' | 'place' | 'kmeans' | 'done';
  /** Within the phase (t-SNE: iterations; read, project, place: points). */
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

export function clusterEmbeddings(e: VectorMatrix, o: ClusterMapOptions): ClusterResult {
  const n = e.keys.length;
  if (n < 3) throw new UserError(`Clustering needs at least 3 images, found ${n}`);
  o.onProgress?.({ phase: 'pca', done: 0, total: 1 });
  const pca = reducePca({ rows: n, dim: e.dim, data: e.vectors }, o.pcaComponents);
  const explained = pca.explainedVariance.reduce((a, b) => a + b, 0);
  const coords = runTsne(pca.data, {
    perplexity: o.perplexity,
    iterations: o.iterations,
    seed: o.seed,
    onProgress: (i) => o.onProgress?.({ phase: 'tsne', done: i, total: o.iterations }),
  });
  o.onProgress?.({ phase: 'kmeans', done: 0, total: 1 });
  const km = clusterKMeans(pca.data, { k: o.clusters === 'auto' ? 'auto' : Math.min(o.clusters, n), seed: o.seed });
  o.onProgress?.({ phase: 'done', done: 1, total: 1 });
  return {
    k: km.k,
    ...(km.silhouette !== undefined ? { silhouette: km.silhouette } : {}),
    explainedVariance: explained,
    points: e.keys.map((key, i) => ({ key, x: coords[2 * i] as number, y: coords[2 * i + 1] as number, label: km.labels[i] as number })),
  };
}
