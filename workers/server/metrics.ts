// Prometheus metrics of the pipeline, in a registry of the server's own:
// - imgsim_queue_jobs{queue,state}: read on every scrape with queue.getJobCounts, so it
//   is exact whatever process moved the jobs;
// - imgsim_job_duration_seconds{queue,status}, imgsim_jobs_failed_total{queue},
//   imgsim_images_embedded_total, imgsim_images_failed_total: from BullMQ's global
//   QueueEvents stream ('completed' / 'failed' are written by whichever worker finished
//   the job). Durations are finishedOn − processedOn of the job, read when its event
//   arrives — measured where the work ran, not in a handler of this process. Counters
//   start at 0 when the server starts (Prometheus' rate()/increase() expect that); with
//   several server replicas every replica sees every event: aggregate with max, not sum.
// - imgsim_redis_up: 0 when the last scrape could not read the queues.
import { QueueEvents, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { errorMessage } from '../../shared/errors.js';
import { STAGES, type Stage } from '../../shared/jobs/contracts.js';
import type { Logger } from '../../shared/logger.js';

export const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

const SCRAPE_TIMEOUT_MS = 3_000;

export interface Metrics {
  registry: Registry;
  close(): Promise<void>;
}

export function createMetrics(o: {
  queues: Readonly<Record<Stage, Queue>>;
  redis: Redis;
  /** False while the shared connection is down: the scrape skips the queues at once. */
  redisUp: () => boolean;
  prefix: string;
  logger: Logger;
}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'imgsim_server_' });

  const redisUp = new Gauge({ name: 'imgsim_redis_up', help: '1 when the last scrape could read the queues from Redis', registers: [registry] });
  new Gauge({
    name: 'imgsim_queue_jobs',
    help: 'jobs in each queue by state (read from Redis at scrape time)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!o.redisUp()) {
        redisUp.set(0);
        return;
      }
      try {
        const counts = await withTimeout(
          Promise.all(STAGES.map(async (stage) => [stage, await o.queues[stage].getJobCounts(...JOB_STATES)] as const)),
          SCRAPE_TIMEOUT_MS,
        );
        for (const [queue, byState] of counts) {
          for (const state of JOB_STATES) this.set({ queue, state }, byState[state] ?? 0);
        }
        redisUp.set(1);
      } catch (error) {
        redisUp.set(0);
        o.logger.warn({ err: errorMessage(error) }, 'metrics: cannot read queue depths');
      }
    },
  });

  const durations = new Histogram({
    name: 'imgsim_job_duration_seconds',
    help: 'time from a job starting to finishing (last attempt), by queue and outcome',
    labelNames: ['queue', 'status'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'imgsim_jobs_failed_total',
    help: 'jobs that failed for good (retries exhausted or unrecoverable), by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const embedded = new Counter({ name: 'imgsim_images_embedded_total', help: 'images embedded by completed embed jobs', registers: [registry] });
  const imagesFailed = new Counter({ name: 'imgsim_images_failed_total', help: 'images embed jobs recorded as failed (undecodable…)', registers: [registry] });
  for (const stage of STAGES) {
    failures.inc({ queue: stage }, 0);
    durations.zero({ queue: stage, status: 'completed' });
  }

  const observe = async (stage: Stage, jobId: string, status: 'completed' | 'failed'): Promise<void> => {
    const job = await o.queues[stage].getJob(jobId);
    if (job?.processedOn !== undefined && job.finishedOn !== undefined) {
      durations.observe({ queue: stage, status }, Math.max(0, job.finishedOn - job.processedOn) / 1000);
    }
  };
  const startedAt = Date.now();
  const events = STAGES.map((stage) => {
    // QueueEvents blocks on XREAD: it needs a connection of its own.
    const connection = o.redis.duplicate({ maxRetriesPerRequest: null, lazyConnect: false });
    connection.on('error', () => undefined); // reconnects by itself; readyz reports Redis
    // Read from now on, even before the first XREAD is sent (the default '$' would miss
    // events that arrive in between).
    const qe = new QueueEvents(stage, { connection, prefix: o.prefix, lastEventId: `${startedAt}-0` });
    qe.on('error', (error) => o.logger.debug({ stage, err: errorMessage(error) }, 'metrics: queue events error'));
    qe.on('completed', ({ jobId, returnvalue }) => {
      if (stage === 'embed') {
        const r = returnvalue as unknown as { embedded?: unknown; failed?: unknown } | null;
        if (typeof r?.embedded === 'number') embedded.inc(r.embedded);
        if (typeof r?.failed === 'number') imagesFailed.inc(r.failed);
      }
      observe(stage, jobId, 'completed').catch(() => undefined);
    });
    qe.on('failed', ({ jobId }) => {
      failures.inc({ queue: stage });
      observe(stage, jobId, 'failed').catch(() => undefined);
    });
    return { qe, connection };
  });

  return {
    registry,
    async close() {
      await Promise.allSettled(events.map(({ qe }) => qe.close()));
      for (const { connection } of events) connection.disconnect();
    },
  };
}

/** `promise`, or a rejection after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
