// Start the worker process of one stage: config → services → a BullMQ Worker dispatching
// to that stage's queue handler (pipelines/distributed/handlers.ts, which calls the
// stage's pipeline function); graceful shutdown on SIGINT/SIGTERM.
import type { Job } from 'bullmq';
import type { Config } from '../shared/config/index.js';
import type { Stage } from '../shared/jobs/contracts.js';
import type { StageHandlers } from '../shared/jobs/handlers.js';
import type { Logger } from '../shared/logger.js';
import { watchEventLoop } from '../shared/loop-watch.js';
import { loadOpenCv } from '../shared/features/opencv.js';
import { initBackend } from '../shared/model/backend.js';
import { ModelCache } from '../shared/model/cache.js';
import { createRedis, connectRedis } from '../shared/queue/connection.js';
import { startScheduleWorker } from '../shared/queue/schedules.js';
import { retryPolicyFrom } from '../shared/queue/retry-policy.js';
import { startStageWorker, type StageWorkerOptions } from '../shared/queue/stage-worker.js';
import { DuplicatePasses } from '../shared/runs/duplicate-passes.js';
import { CollectionHistory } from '../shared/runs/history.js';
import { connectServices } from '../shared/services.js';
import { stageHandlers } from '../pipelines/distributed/handlers.js';
import { recordDuplicatesGiveUp, recordGiveUp } from '../pipelines/distributed/job-failures.js';
import { runScheduledJob } from '../pipelines/distributed/schedules.js';
import { onShutdown } from './shutdown.js';

/** Long stages hold their job lock longer; the lock renews while the event loop turns. */
function lockMs(stage: Stage, config: Config): number {
  // duplicates: the pairs step turns the loop every 50 ms, but loads and verifies for minutes.
  const floor: Record<Stage, number> = { ingest: 0, train: 120_000, embed: 0, index: 0, publish: 0, cluster: 600_000, fingerprint: 0, duplicates: 120_000 };
  return Math.max(config.jobLockMs, floor[stage]);
}

/**
 * The BullMQ worker of one stage, dispatching to that stage's handler. Generic in the
 * stage so `handlers[stage]` has the type of that one stage's handler (with `stage: Stage`
 * it would be a union of handlers no payload fits): typed, no casts.
 */
function startFor<S extends Stage>(stage: S, handlers: StageHandlers, o: StageWorkerOptions) {
  return startStageWorker(stage, handlers[stage], o);
}

export async function startWorker(stage: Stage, config: Config, logger: Logger): Promise<void> {
  if (stage === 'train' || stage === 'embed') await initBackend(config.backend, logger);
  // OpenCV's wasm compiles in one block of ~0.3–0.8 s: before the worker holds any job lock.
  if (stage === 'fingerprint' || stage === 'duplicates') await loadOpenCv();
  const services = await connectServices(config, logger, { forWorker: true });
  // BullMQ workers need their own blocking connection.
  const connection = createRedis(config.redisUrl, { forWorker: true });
  await connectRedis(connection, config.redisUrl);
  services.redisWatch.watch(connection);
  const passes = new DuplicatePasses(services.redis, config.queuePrefix);
  const handlers = stageHandlers(services, {
    models: new ModelCache(services.artifacts),
    history: new CollectionHistory(services.redis, config.queuePrefix),
    passes,
  });
  const worker = startFor(stage, handlers, {
    connection,
    prefix: config.queuePrefix,
    concurrency: config.concurrency,
    lockDuration: lockMs(stage, config),
    logger,
    retry: retryPolicyFrom(config),
    onFinalFailure: async (job: Job, failure) => {
      await recordGiveUp(stage, job.data, failure, services.runs);
      await recordDuplicatesGiveUp(stage, job.data, failure, passes);
    },
  });
  // Ingest processes also run the schedule queue: a fired schedule enqueues a run (or a duplicates pass).
  const scheduleConnection = stage === 'ingest' ? createRedis(config.redisUrl, { forWorker: true }) : undefined;
  if (scheduleConnection) {
    await connectRedis(scheduleConnection, config.redisUrl);
    services.redisWatch.watch(scheduleConnection);
  }
  const scheduleWorker = scheduleConnection
    ? startScheduleWorker((job) => runScheduledJob(job, { ...services, passes }), { connection: scheduleConnection, prefix: config.queuePrefix, logger })
    : undefined;
  const loop = watchEventLoop(logger);
  logger.info({ stage, concurrency: config.concurrency, queuePrefix: config.queuePrefix }, `${stage} worker started`);
  onShutdown(
    [
      () => worker.close(),
      async () => {
        loop.stop();
        logger.info({ stage, worstEventLoopBlockMs: loop.worstMs() }, `${stage} worker stopped`);
        return Promise.resolve();
      },
      async () => scheduleWorker?.close(),
      () => services.close(),
      async () => {
        connection.disconnect();
        scheduleConnection?.disconnect();
        return Promise.resolve();
      },
    ],
    { timeoutMs: config.shutdownTimeoutMs, logger },
  );
}
