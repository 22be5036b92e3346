// Names shared by the queue handlers, the server and the CLI: Qdrant collections and
// aliases, and where artefacts live in the artefact store. (Redis keys: keys.ts.)
import { CLUSTER_PLOT_FILE, CLUSTERS_FILE } from '../analysis/clusters-file.js';

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

/** A collection's own artefacts (clusters.json/png), restored by a rollback to it. */
const collectionDir = (dataset: string, collection: string): string => `datasets/${dataset}/collections/${collection}/`;

/** A dataset's duplicates pass artefacts (pipelines/distributed/duplicates-store.ts). */
const duplicatesDir = (dataset: string): string => `datasets/${dataset}/duplicates/`;

export const artifactKeys = {
  model: (modelId: string) => `models/${modelId}/`,
  /** The listing of a run as one JSON array: written by imgsim before listing pages, still read. */
  legacyListing: (runId: string) => `runs/${runId}/listing.json`,
  listingManifest: (runId: string) => `runs/${runId}/listing/manifest.json`,
  listingPage: (runId: string, page: number) => `runs/${runId}/listing/${String(page).padStart(6, '0')}.json`,
  snapshot: (runId: string, attempt: string, batch: number) => `runs/${runId}/batches/${attempt}${String(batch).padStart(6, '0')}.npy`,
  snapshotIds: (runId: string, attempt: string, batch: number) => `runs/${runId}/batches/${attempt}${String(batch).padStart(6, '0')}.json`,
  clusters: (dataset: string) => `datasets/${dataset}/${CLUSTERS_FILE}`,
  clusterPlot: (dataset: string) => `datasets/${dataset}/${CLUSTER_PLOT_FILE}`,
  collectionDir,
  collectionClusters: (dataset: string, collection: string) => `${collectionDir(dataset, collection)}${CLUSTERS_FILE}`,
  collectionClusterPlot: (dataset: string, collection: string) => `${collectionDir(dataset, collection)}${CLUSTER_PLOT_FILE}`,
  duplicatesDir,
  /** The latest pass's pairs (every tier, before dismissals) and what they were found with. */
  duplicatesReport: (dataset: string) => `${duplicatesDir(dataset)}report.json`,
  /** Which fingerprint file holds each image's current fingerprint (key + ETag). */
  duplicatesLedger: (dataset: string) => `${duplicatesDir(dataset)}fingerprints/ledger.json`,
  duplicatesFingerprints: (dataset: string, file: string) => `${duplicatesDir(dataset)}fingerprints/${file}`,
  /** What a pass fingerprints and what it found gone (written by its plan step). */
  duplicatesPlan: (dataset: string, passId: string) => `${duplicatesDir(dataset)}passes/${passId}.json`,
  /** Pairs marked "not a duplicate" (shared/duplicates/dismissals.ts), kept across passes and re-indexes. */
  duplicatesDismissed: (dataset: string) => `${duplicatesDir(dataset)}dismissed-duplicates.json`,
};
