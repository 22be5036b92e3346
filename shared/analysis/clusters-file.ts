// clusters.json, the cluster map of an index: one schema whichever driver wrote it (a
// local run folder, or a collection's folder in the artefact store served by the API).
import { z } from 'zod';

export const CLUSTERS_FILE = 'clusters.json';
export const CLUSTER_PLOT_FILE = 'clusters.png';

export const clustersFileSchema = z.object({
  version: z.literal(1).optional().describe('1 (absent in files written before the format was versioned)'),
  /** The model whose vectors were mapped (local files written before version 1 lack it: search then ignores their labels). */
  modelId: z.string(),
  /** The Qdrant collection mapped (queued datasets); absent for a local index. */
  collection: z.string().optional(),
  /** Points mapped. */
  count: z.number().int().optional(),
  k: z.number().int(),
  silhouette: z.number().optional(),
  /** Share of the variance the PCA components kept. */
  explainedVariance: z.number().optional(),
  points: z.record(z.string(), z.object({ x: z.number(), y: z.number(), label: z.number().int() })).describe('key → 2-D t-SNE coordinates and k-means label'),
});

export type ClustersFile = z.infer<typeof clustersFileSchema>;
