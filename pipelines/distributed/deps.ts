// What the queue handlers (handlers.ts) and the run operations need, passed in explicitly (workers build it from config;
// tests build it from their own services). No queue code here: scheduling follow-up
// jobs goes through the JobScheduler port (shared/jobs/scheduler.ts), implemented on
// BullMQ in shared/queue.
import type { Config } from '../../shared/config/index.js';
import type { DuplicatesScheduler, JobScheduler } from '../../shared/jobs/scheduler.js';
import type { Logger } from '../../shared/logger.js';
import type { RunStore } from '../../shared/runs/index.js';
import type { Storage } from '../../shared/storage/types.js';
import type { QdrantStore } from '../../shared/vectors/qdrant/index.js';

export interface StageDeps {
  config: Config;
  logger: Logger;
  runs: RunStore;
  artifacts: Storage;
  qdrant: QdrantStore;
  scheduler: JobScheduler & DuplicatesScheduler;
  openSource(uri: string): Promise<Storage>;
}
