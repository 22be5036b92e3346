// A BullMQ Worker for one stage: parses the payload before anything else, runs the
// stage, and maps failures onto BullMQ's semantics (retry-policy.ts): a permanent fault
// (invalid payload, UserError) fails at once as an UnrecoverableError; a transient one
// (a service unreachable or failing) is retried with capped exponential backoff for
// minutes; anything else a few times. The attempt that gives up calls onFinalFailure
// BEFORE the job is moved to failed, so a parent job (index after embed, cluster after
// index) always sees what its children recorded.
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { errorMessage } from '../errors.js';
import { parsePayload, type Stage } from '../jobs/contracts.js';
import type { StageHandler } from '../jobs/handlers.js';
import type { Logger } from '../logger.js';
import { queueErrorListener } from './connection.js';
import { createRetryLog } from './retry-log.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, failureKind, isFinalAttempt, type FailureKind, type RetryPolicy } from './retry-policy.js';

export interface FinalFailure {
  error: Error;
  kind: FailureKind;
  /** Attempts made, this one included. */
  attempts: number;
}

export interface StageWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** How long a job's lock lasts between renewals (renewed every half of it). */
  lockDuration: number;
  logger: Logger;
  /** Default: the configuration's defaults. */
  retry?: RetryPolicy;
  /** Called once by the attempt that gives up (no retry left, or unrecoverable), before the job fails. */
  onFinalFailure?: (job: Job, failure: FinalFailure) => Promise<void>;
}

export function startStageWorker<S extends Stage>(stage: S, handler: StageHandler<S>, o: StageWorkerOptions): Worker {
  /** Jobs whose give-up the processor recorded (the 'failed' listener records the others). */
  const recorded = new Set<string>();
  const record = async (job: Job, failure: FinalFailure): Promise<void> => {
    if (!o.onFinalFailure) return;
    await o.onFinalFailure(job, failure).catch((e: unknown) =>
      o.logger.error({ stage, jobId: job.id, err: errorMessage(e) }, 'could not record the failed job on its run'),
    );
  };
  const worker = new Worker(
    stage,
    async (job: Job) => {
      try {
        return await handler(parsePayload(stage, job.data), job);
      } catch (thrown) {
        const error = thrown instanceof Error ? thrown : new Error(String(thrown));
        const kind = failureKind(error);
        if (!isFinalAttempt(error, job.attemptsMade, job.opts.attempts ?? 1)) throw error;
        if (job.id !== undefined) recorded.add(job.id);
        await record(job, { error, kind, attempts: job.attemptsMade + 1 });
        // Give up now, whatever attempts the job has left (BullMQ keeps the message).
        throw error instanceof UnrecoverableError ? error : new UnrecoverableError(`${kind === 'transient' ? 'gave up after transient faults: ' : ''}${error.message}`);
      }
    },
    {
      connection: o.connection,
      prefix: o.prefix,
      concurrency: o.concurrency,
      lockDuration: o.lockDuration,
      // Check for stalled jobs (a worker that died holding one) as often as locks expire.
      stalledInterval: Math.min(30_000, o.lockDuration),
      maxStalledCount: 2,
      autorun: true,
      settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade, o.retry ?? DEFAULT_RETRY_POLICY) },
    },
  );
  worker.on('completed', (job) => o.logger.info({ stage, jobId: job.id }, `${stage} job done`));
  const retries = createRetryLog(o.logger, stage);
  worker.on('failed', (job, error) => {
    if (!job) return;
    const final = error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) {
      retries.failed({ jobId: job.id, attempt: job.attemptsMade, of: job.opts.attempts, err: error.message });
      return;
    }
    o.logger.warn({ stage, jobId: job.id, attempt: job.attemptsMade, of: job.opts.attempts, err: error.message }, `${stage} job failed for good`);
    // Failed without the processor deciding it: BullMQ fails a job that stalled more than
    // maxStalledCount times (its worker died again and again) without running it.
    if (job.id !== undefined && recorded.delete(job.id)) return;
    const kind = failureKind(error);
    void record(job, { error, kind: kind === 'permanent' ? 'error' : kind, attempts: job.attemptsMade });
  });
  worker.on('closed', () => retries.flush());
  worker.on('stalled', (jobId) =>
    o.logger.warn({ stage, jobId }, `${stage} job ${jobId} stalled (its worker died or stopped renewing the lock); it runs again`),
  );
  // Connection errors at debug: the process's RedisWatch reports an outage once.
  const onError = queueErrorListener(o.logger, { stage }, 'worker error');
  worker.on('error', (error) => {
    // The job's lock expired while it ran (Redis was away, or the loop was blocked past
    // IMGSIM_JOB_LOCK_MS): BullMQ hands it to another attempt, and every stage is
    // idempotent on point ids, so this is a warning, not an error.
    if (/Missing lock for job|could not renew lock/i.test(error.message)) {
      o.logger.warn({ stage, err: error.message }, `${stage} job lost its lock; it runs again (idempotent)`);
      return;
    }
    onError(error);
  });
  return worker;
}
