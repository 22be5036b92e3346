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

/** Points written per slice before the event loop gets a turn (1M points: ~50 slices). */
const SLICE = 20_000;

/**
 * The text of clusters.json — exactly JSON.stringify({...head, points}) with `points` last —
 * built a slice of points at a time, yielding between slices: at 1M points one
 * JSON.stringify (and the object it needs) held a worker's event loop ~4 s.
 */
export async function clustersJsonText(head: Omit<ClustersFile, 'points'>, points: ReadonlyArray<{ key: string; x: number; y: number; label: number }>): Promise<string> {
  const start = JSON.stringify(head);
  const parts = [start.length > 2 ? `${start.slice(0, -1)},"points":{` : '{"points":{'];
  for (let i = 0; i < points.length; i += SLICE) {
    let slice = '';
    const end = Math.min(points.length, i + SLICE);
    for (let j = i; j < end; j++) {
      const p = points[j] as { key: string; x: number; y: number; label: number };
      slice += `${j > 0 ? ',' : ''}${JSON.stringify(p.key)}:${JSON.stringify({ x: p.x, y: p.y, label: p.label })}`;
    }
    parts.push(slice);
    if (end < points.length) await new Promise((resolve) => setImmediate(resolve));
  }
  parts.push('}}');
  return parts.join('');
}
