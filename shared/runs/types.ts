// The run store's records. A run is one bulk enqueue (ingest of a dataset): its status,
// item counts and per-item failures live in Redis so every worker can report on it and
// the CLI can show progress, ETA and the error list, and retry the failed items.

/**
 * A run's statuses, in order. `completed` means searchable: the build went live (or was held
 * back, see heldBack); its cluster map follows as its own job (RunRecord.map). `clustering`
 * is only found on runs recorded before the map became a follow-up job.
 */
export const RUN_STATUSES = ['queued', 'listing', 'training', 'embedding', 'publishing', 'clustering', 'completed', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses a run never leaves on its own (setStatus can reopen one, e.g. to retry failures). */
export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>(['completed', 'failed']);

export const RUN_MODES = ['all', 'missing'] as const;
export type RunMode = (typeof RUN_MODES)[number];

export const MAP_STATUSES = ['pending', 'running', 'done', 'failed'] as const;
export type MapStatus = (typeof MAP_STATUSES)[number];

/** The cluster map of a run's collection, computed after the run went live (the cluster job). */
export interface MapState {
  status: MapStatus;
  /** While running: the phase (pca, tsne, kmeans…) and how far it is. */
  phase?: string;
  done?: number;
  total?: number;
  /** When done: clusters and points mapped. */
  k?: number;
  points?: number;
  /** When failed: why (the run stays completed and searchable). */
  error?: string;
  updatedAt: string;
}

export interface RunRecord {
  /** Lowercase, roughly time-sortable: `${Date.now() base 36}-${6 hex}`. */
  id: string;
  dataset: string;
  /** file:///path or s3://bucket/prefix */
  source: string;
  mode: RunMode;
  modelId?: string;
  /** What the trained model learns when not plain reconstruction, e.g. "denoise (gaussian)". */
  task?: string;
  collection?: string;
  status: RunStatus;
  /** Items to process (0 until listing has counted them). */
  total: number;
  /** Distinct items processed successfully (SCARD of the done set). */
  done: number;
  /** Distinct items failed and not since succeeded (HLEN of the failure hash). */
  failed: number;
  /** ISO 8601 timestamps. */
  createdAt: string;
  updatedAt: string;
  /** First status other than queued. */
  startedAt?: string;
  /** Set by completed/failed; cleared when the run is reopened. */
  finishedAt?: string;
  /** First time the run entered the embedding stage; throughput is measured from here. */
  embeddingStartedAt?: string;
  /** Why the run failed (status failed), or what failed after its collection went live (the cluster map). */
  error?: string;
  /**
   * Status completed, but the run's collection did not go live: why (items failed for
   * other reasons than their own bytes). `imgsim retry-failed` completes it.
   */
  heldBack?: string;
  /** The cluster map, once the run has gone live (absent before, and for runs that did not go live). */
  map?: MapState;
  /** done / seconds since embedding started (until finishedAt once finished); only from progress(). */
  imagesPerSecond?: number;
  /** (total − done − failed) / imagesPerSecond; undefined until something is done; only from progress(). */
  etaSeconds?: number;
}

export interface NewRun {
  dataset: string;
  source: string;
  mode: RunMode;
  modelId?: string;
  /** Task label of the model the run trains (absent: reconstruct). Part of the run's identity. */
  task?: string;
}

export interface ItemFailure {
  key: string;
  /** Machine-readable, e.g. an ImageFailureReason ('corrupt', 'truncated'…) or 'error'. */
  reason: string;
  message: string;
  /** ISO 8601 time of the (latest) failure. */
  at: string;
}

export type NewItemFailure = Omit<ItemFailure, 'at'>;

/** Counts right after markDone/markFailed, read atomically with the change. */
export interface RunCounts {
  done: number;
  failed: number;
}

export interface StatusExtra {
  error?: string;
  heldBack?: string;
  modelId?: string;
  collection?: string;
}

export interface WaitOptions {
  /** Give up after this long (default 30 min). */
  timeoutMs?: number;
  /** Poll interval (default 1 s). */
  pollMs?: number;
  /** Called with every record read, the last one included. */
  onProgress?: (run: RunRecord) => void;
  /**
   * 'finished' (default): completed (searchable) or failed. 'mapped': also until its
   * cluster map is done or failed, when it has one.
   */
  until?: 'finished' | 'mapped';
}

/** Whether a finished run has nothing more to wait for: no map, or a map done or failed. */
export function mapSettled(run: RunRecord): boolean {
  return run.map === undefined || run.map.status === 'done' || run.map.status === 'failed';
}

/** What the registry knows about a dataset: where it comes from and what serves it. */
export interface DatasetRecord {
  name: string;
  source: string;
  modelId: string;
  /** The Qdrant collection built for (dataset, model). */
  collection: string;
  /** The Qdrant alias that points at the live collection. */
  alias: string;
  updatedAt: string;
}

export type NewDataset = Omit<DatasetRecord, 'updatedAt'>;
