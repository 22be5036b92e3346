// The scheduling port: how a stage asks for follow-up jobs without knowing the queue.
// Declared next to the job contracts it carries; implemented on BullMQ by
// shared/queue/scheduler.ts (BullScheduler) and by tests with their own fakes.
import type { JobPayload } from './contracts.js';

/** An object of a source, pinned to the version (etag) that was listed. */
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
  /** The batches, produced as they are scheduled (a large listing is never held whole). */
  batches: AsyncIterable<ObjectRef[]>;
  /** Distinguishes a retry's jobs and snapshots from the original fan-out ('' for the first). */
  attempt: string;
}

export interface JobScheduler {
  ingest(payload: JobPayload<'ingest'>): Promise<void>;
  train(payload: JobPayload<'train'>): Promise<void>;
  /**
   * embed(batch) → index(batch) for every batch, then one publish job after all — not
   * before the last batch is scheduled. Calling it again with the same run, attempt and
   * batches completes a fan-out that was cut short (and is a no-op after a complete one).
   */
  fanOut(plan: FanOut): Promise<void>;
  /** The cluster map of a published collection (a follow-up job: search does not wait for it). */
  cluster(payload: JobPayload<'cluster'>): Promise<void>;
}

/** A duplicates pass's fan-out: fingerprint(batch i) for every batch, then its pairs step once they have all finished. */
export interface FingerprintFanOut {
  passId: string;
  dataset: string;
  source: string;
  /** The batches, produced as they are scheduled (the live collection is never held whole). */
  batches: AsyncIterable<ObjectRef[]>;
  /** The pairs step, run after every fingerprint job (done, or given up). */
  pairs: Extract<JobPayload<'duplicates'>, { step: 'pairs' }>;
}

/** A duplicates pass's verification: verify(chunk i) for i < chunks, then its merge step once they have all finished. */
export interface VerifyFanOut {
  passId: string;
  dataset: string;
  chunks: number;
  merge: Extract<JobPayload<'duplicates'>, { step: 'merge' }>;
}

/**
 * The scheduling port of duplicates passes (pipelines/distributed/duplicates-*.ts), beside
 * JobScheduler: BullScheduler implements both.
 */
export interface DuplicatesScheduler {
  /** The plan step of a pass (one job per pass id: adding it again is a no-op). */
  duplicates(payload: Extract<JobPayload<'duplicates'>, { step: 'plan' }>): Promise<void>;
  /**
   * fingerprint(batch) for every batch, then the pairs step after all — not before the last
   * batch is scheduled. Calling it again with the same pass completes a fan-out cut short.
   */
  fingerprintFanOut(plan: FingerprintFanOut): Promise<void>;
  /** verify(chunk) for every chunk, then the merge step after all; completes a fan-out cut short as fingerprintFanOut does. */
  verifyFanOut(plan: VerifyFanOut): Promise<void>;
}
