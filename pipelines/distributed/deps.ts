// What the distributed stages need, passed in explicitly (workers build it from config;
// tests build it from their own services). No queue code here: scheduling follow-up
// jobs goes through the JobScheduler interface, implemented on BullMQ in shared/queue.
import type { Config } from '../../shared/config/index.js';
import type { JobPayload } from '../../shared/jobs/contracts.js';
import type { Logger } from '../../shared/logger.js';
import type { RunStore } from '../../shared/runs/index.js';
import type { Storage } from '../../shared/storage/types.js';
import type { QdrantStore } from '../../shared/vectors/qdrant/index.js';

export interface ObjectRef {
  key: string;
  etag: string;
}

export interface FanOut {
  runId: string;
  dataset: string;
  source: string;
  modelId: string;
  collection: string;
  batches: ObjectRef[][];
  /** Distinguishes a retry's jobs and snapshots from the original fan-out ('' for the first). */
  attempt: string;
}

export interface JobScheduler {
  ingest(payload: JobPayload<'ingest'>): Promise<void>;
  train(payload: JobPayload<'train'>): Promise<void>;
  /** embed(batch) → index(batch) for every batch, then one cluster job after all. */
  fanOut(plan: FanOut): Promise<void>;
}

export interface StageDeps {
  config: Config;
  logger: Logger;
  runs: RunStore;
  artifacts: Storage;
  qdrant: QdrantStore;
  scheduler: JobScheduler;
  openSource(uri: string): Promise<Storage>;
}
