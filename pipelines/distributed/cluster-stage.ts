// Cluster stage, once every batch of a run is indexed: read the dataset's vectors back
// from Qdrant, PCA → t-SNE → k-means, write cluster/x/y into each point's payload and
// clusters.json/png to the artefact store, make the collection live (one atomic alias
// swap, unless a newer build superseded it; old collections beyond keep-last-N are
// deleted, see reindex.ts) and complete the run.
import type { JobPayload } from '../../shared/jobs/contracts.js';
import { clusterEmbeddings } from '../cluster.js';
import { renderScatterPlot } from '../../shared/images/scatter-plot.js';
import type { StageDeps } from './deps.js';
import type { CollectionHistory } from './history.js';
import { readCollectionVectors } from './collection-vectors.js';
import { artifactKeys } from './naming.js';
import { publishBuild, restoreClusters, type PublishResult } from './reindex.js';

export async function runClusterStage(
  p: JobPayload<'cluster'>,
  deps: StageDeps,
  history: CollectionHistory,
): Promise<{ points: number; k?: number; live: boolean; deleted: string[] }> {
  const { qdrant, config: c } = deps;
  await deps.runs.setStatus(p.runId, 'clustering');
  const { keys, dim, vectors } = (await qdrant.collectionExists(p.collection))
    ? await readCollectionVectors(qdrant, p.collection, p.dataset)
    : { keys: [], dim: 0, vectors: new Float32Array(0) };
  let k: number | undefined;
  if (keys.length >= 3) {
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
    // Stored with the collection; copied to datasets/<name>/clusters.* while it is live.
    const clusters = JSON.stringify({ modelId: p.modelId, collection: p.collection, k: result.k, silhouette: result.silhouette, points: byKey });
    await deps.artifacts.put(artifactKeys.collectionClusters(p.dataset, p.collection), clusters);
    await deps.artifacts.put(
      artifactKeys.collectionClusterPlot(p.dataset, p.collection),
      await renderScatterPlot(result.points, { title: `${p.dataset}: ${keys.length} images, ${result.k} clusters` }),
    );
  }
  let published: PublishResult = { live: false, deleted: [], reason: 'nothing was indexed' };
  if (await qdrant.collectionExists(p.collection)) {
    published = await publishBuild({ dataset: p.dataset, collection: p.collection, modelId: p.modelId, runId: p.runId }, { ...deps, history });
    if (published.live) await restoreClusters(p.dataset, p.collection, deps);
    else deps.logger.warn({ runId: p.runId, collection: p.collection, reason: published.reason }, 'cluster: the collection does not go live');
  }
  await deps.runs.setStatus(p.runId, 'completed');
  deps.logger.info({ runId: p.runId, points: keys.length, k, live: published.live, previous: published.previous, deleted: published.deleted }, 'cluster: run completed');
  return { points: keys.length, ...(k !== undefined ? { k } : {}), live: published.live, deleted: published.deleted };
}
