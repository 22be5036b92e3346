// A BullMQ Worker for one stage: parses the payload before anything else, runs the
// stage, and maps failures onto BullMQ's semantics: thrown errors are retried with
// backoff; an invalid payload or a UserError (bad input that will not fix itself) is an
// UnrecoverableError, failed at once.
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { errorMessage, UserError } from '../errors.js';
import { InvalidPayloadError, parsePayload, type JobPayload, type Stage } from '../jobs/contracts.js';
import type { Logger } from '../logger.js';

export type StageHandler<S extends Stage> = (payload: JobPayload<S>, job: Job) => Promise<unknown>;

export interface StageWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** How long a job's lock lasts between renewals (renewed every half of it). */
  lockDuration: number;
  logger: Logger;
  /** Called once a job has failed for good (no retry left, or unrecoverable). */
  onFinalFailure?: (job: Job, error: Error) => Promise<void>;
}

export function isPermanent(error: unknown): boolean {
  return error instanceof UserError || error instanceof InvalidPayloadError || error instanceof UnrecoverableError;
}

export function startStageWorker<S extends Stage>(stage: S, handler: StageHandler<S>, o: StageWorkerOptions): Worker {
  const worker = new Worker(
    stage,
    async (job: Job) => {
      try {
        return await handler(parsePayload(stage, job.data), job);
      } catch (error) {
        if (isPermanent(error)) throw new UnrecoverableError(errorMessage(error));
        throw error;
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
    },
  );
  worker.on('completed', (job) => o.logger.info({ stage, jobId: job.id }, `${stage} job done`));
  worker.on('failed', (job, error) => {
    if (!job) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    o.logger.warn({ stage, jobId: job.id, attempt: job.attemptsMade, final, err: error.message }, `${stage} job failed`);
    if (final && o.onFinalFailure) {
      o.onFinalFailure(job, error).catch((e: unknown) => o.logger.error({ err: errorMessage(e) }, 'failure hook failed'));
    }
  });
  worker.on('error', (error) => o.logger.error({ stage, err: error.message }, 'worker error'));
  return worker;
}
