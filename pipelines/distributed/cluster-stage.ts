// Cluster stage, once every batch of a run is indexed: read the dataset's vectors back
// from Qdrant, PCA → t-SNE → k-means, write cluster/x/y into each point's payload and
// clusters.json/png to the artefact store, point the dataset's alias at the collection
// and complete the run.
import type { JobPayload } from '../../shared/jobs/contracts.js';
import { clusterEmbeddings } from '../cluster.js';
import { renderScatterPlot } from '../../shared/images/scatter-plot.js';
import type { StageDeps } from './deps.js';
import { aliasName, artifactKeys } from './naming.js';

export async function runClusterStage(p: JobPayload<'cluster'>, deps: StageDeps): Promise<{ points: number; k?: number }> {
  const { qdrant, config: c } = deps;
  await deps.runs.setStatus(p.runId, 'clustering');
  const keys: string[] = [];
  const rows: Float32Array[] = [];
  if (await qdrant.collectionExists(p.collection)) {
    for await (const point of qdrant.scroll(p.collection, { dataset: p.dataset, withVectors: true, payloadFields: ['key'] })) {
      if (!point.vector) continue;
      keys.push(point.key);
      rows.push(point.vector);
    }
  }
  let k: number | undefined;
  if (keys.length >= 3) {
    const dim = rows[0]?.length ?? 0;
    const vectors = new Float32Array(keys.length * dim);
    rows.forEach((r, i) => vectors.set(r, i * dim));
    const result = clusterEmbeddings(
      { keys, dim, vectors },
      { pcaComponents: c.pcaComponents, perplexity: c.perplexity, iterations: c.tsneIterations, clusters: c.clusters, seed: c.seed, logger: deps.logger, progressBar: false },
    );
    k = result.k;
    await qdrant.setPayload(
      p.collection,
      p.dataset,
      result.points.map((pt) => ({ key: pt.key, payload: { cluster: pt.label, x: pt.x, y: pt.y } })),
    );
    const byKey = Object.fromEntries(result.points.map((pt) => [pt.key, { x: pt.x, y: pt.y, label: pt.label }]));
    await deps.artifacts.put(artifactKeys.clusters(p.dataset), JSON.stringify({ modelId: p.modelId, k: result.k, silhouette: result.silhouette, points: byKey }));
    await deps.artifacts.put(artifactKeys.clusterPlot(p.dataset), await renderScatterPlot(result.points, { title: `${p.dataset}: ${keys.length} images, ${result.k} clusters` }));
  }
  if (await qdrant.collectionExists(p.collection)) {
    await qdrant.swapAlias(aliasName(p.dataset), p.collection);
    const run = await deps.runs.get(p.runId);
    await deps.runs.setDataset({ name: p.dataset, source: run?.source ?? '', modelId: p.modelId, collection: p.collection, alias: aliasName(p.dataset) });
  }
  await deps.runs.setStatus(p.runId, 'completed');
  deps.logger.info({ runId: p.runId, points: keys.length, k }, 'cluster: run completed');
  return { points: keys.length, ...(k !== undefined ? { k } : {}) };
}
