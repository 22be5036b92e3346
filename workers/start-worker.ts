// Start the worker process of one stage: config → services → a BullMQ Worker calling
// the stage's pipeline function; graceful shutdown on SIGINT/SIGTERM.
import type { Job } from 'bullmq';
import type { Config } from '../shared/config/index.js';
import type { Stage } from '../shared/jobs/contracts.js';
import type { Logger } from '../shared/logger.js';
import { watchEventLoop } from '../shared/loop-watch.js';
import { initBackend } from '../shared/model/backend.js';
import { createRedis, connectRedis } from '../shared/queue/connection.js';
import { startScheduleWorker } from '../shared/queue/schedules.js';
import { retryPolicyFrom } from '../shared/queue/retry-policy.js';
import { startStageWorker, type StageHandler } from '../shared/queue/stage-worker.js';
import { runClusterStage } from '../pipelines/distributed/cluster-stage.js';
import { CollectionHistory } from '../shared/runs/history.js';
import { runEmbedStage } from '../pipelines/distributed/embed-stage.js';
import { runIndexStage } from '../pipelines/distributed/index-stage.js';
import { recordGiveUp } from '../pipelines/distributed/job-failures.js';
import { runIngestStage } from '../pipelines/distributed/ingest-stage.js';
import { ModelCache } from '../shared/model/cache.js';
import { runScheduled } from '../pipelines/distributed/schedules.js';
import { runTrainStage } from '../pipelines/distributed/train-stage.js';
import { connectServices, type Services } from '../shared/services.js';
import { onShutdown } from './shutdown.js';

/** Long stages hold their job lock longer; the lock renews while the event loop turns. */
function lockMs(stage: Stage, config: Config): number {
  const floor: Record<Stage, number> = { ingest: 0, train: 120_000, embed: 0, index: 0, cluster: 600_000 };
  return Math.max(config.jobLockMs, floor[stage]);
}

function handlerFor(stage: Stage, s: Services): StageHandler<Stage> {
  switch (stage) {
    case 'ingest':
      return (p) => runIngestStage(p as Parameters<typeof runIngestStage>[0], s);
    case 'train':
      return (p, job) =>
        runTrainStage(p as Parameters<typeof runTrainStage>[0], s, async ({ epoch, batch, batches }) => {
          if (batch === batches) await job.updateProgress({ epoch });
        });
    case 'embed': {
      const models = new ModelCache(s.artifacts);
      return (p) => runEmbedStage(p as Parameters<typeof runEmbedStage>[0], s, models);
    }
    case 'index':
      return (p) => runIndexStage(p as Parameters<typeof runIndexStage>[0], s);
    case 'cluster': {
      const history = new CollectionHistory(s.redis, s.config.queuePrefix);
      return (p, job) => runClusterStage(p as Parameters<typeof runClusterStage>[0], s, history, (progress) => job.updateProgress({ ...progress }));
    }
  }
}

export async function startWorker(stage: Stage, config: Config, logger: Logger): Promise<void> {
  if (stage === 'train' || stage === 'embed') await initBackend(config.backend, logger);
  const services = await connectServices(config, logger, { forWorker: true });
  // BullMQ workers need their own blocking connection.
  const connection = createRedis(config.redisUrl, { forWorker: true });
  await connectRedis(connection, config.redisUrl);
  services.redisWatch.watch(connection);
  const worker = startStageWorker(stage, handlerFor(stage, services), {
    connection,
    prefix: config.queuePrefix,
    concurrency: config.concurrency,
    lockDuration: lockMs(stage, config),
    logger,
    retry: retryPolicyFrom(config),
    onFinalFailure: (job: Job, failure) => recordGiveUp(stage, job.data, failure, services.runs),
  });
  // Ingest processes also run the schedule queue: a fired schedule enqueues a run.
  const scheduleConnection = stage === 'ingest' ? createRedis(config.redisUrl, { forWorker: true }) : undefined;
  if (scheduleConnection) {
    await connectRedis(scheduleConnection, config.redisUrl);
    services.redisWatch.watch(scheduleConnection);
  }
  const scheduleWorker = scheduleConnection
    ? startScheduleWorker((run) => runScheduled(run, services), { connection: scheduleConnection, prefix: config.queuePrefix, logger })
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
