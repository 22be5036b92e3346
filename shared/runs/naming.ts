// Names shared by the distributed stages, the server and the CLI: Qdrant collections and
// aliases, and where artefacts live in the artefact store. (Redis keys: keys.ts.)

/**
 * The collection a run builds: one per (dataset, model, run), so a full re-index never
 * writes into the live collection (searches keep using it through the alias until the
 * build completes). Incremental `missing` runs update the live collection in place
 * instead (pipelines/distributed/handlers.ts, ingest). Qdrant names allow letters, digits,
 * - and _.
 */
export function collectionName(dataset: string, modelId: string, runId: string): string {
  return `imgsim_${dataset}__${modelId.replace(/[^A-Za-z0-9_-]/g, '_')}__${runId}`;
}

/** The alias searches use; it points at the dataset's live collection. */
export function aliasName(dataset: string): string {
  return `imgsim_${dataset}`;
}

export const artifactKeys = {
  model: (modelId: string) => `models/${modelId}/`,
  listing: (runId: string) => `runs/${runId}/listing.json`,
  snapshot: (runId: string, attempt: string, batch: number) => `runs/${runId}/batches/${attempt}${String(batch).padStart(6, '0')}.npy`,
  snapshotIds: (runId: string, attempt: string, batch: number) => `runs/${runId}/batches/${attempt}${String(batch).padStart(6, '0')}.json`,
  clusters: (dataset: string) => `datasets/${dataset}/clusters.json`,
  clusterPlot: (dataset: string) => `datasets/${dataset}/clusters.png`,
  /** Per-collection copies, restored by a rollback to that collection. */
  /** A collection's own artefacts (clusters.json/png), restored by a rollback to it. */
  collectionDir: (dataset: string, collection: string) => `datasets/${dataset}/collections/${collection}/`,
  collectionClusters: (dataset: string, collection: string) => `datasets/${dataset}/collections/${collection}/clusters.json`,
  collectionClusterPlot: (dataset: string, collection: string) => `datasets/${dataset}/collections/${collection}/clusters.png`,
};
