// Build the adapters a worker or command needs from the configuration: Redis (checked
// for noeviction), the run store, the artefact store, Qdrant and the job scheduler.
import type { Redis } from 'ioredis';
import type { Config } from '../shared/config/index.js';
import type { Logger } from '../shared/logger.js';
import { assertNoEviction, connectRedis, createRedis } from '../shared/queue/connection.js';
import { BullScheduler } from '../shared/queue/scheduler.js';
import { RunStore } from '../shared/runs/index.js';
import { openSource, s3ConfigFrom } from '../shared/storage/open.js';
import type { Storage } from '../shared/storage/types.js';
import { QdrantStore } from '../shared/vectors/qdrant/index.js';
import type { StageDeps } from '../pipelines/distributed/deps.js';

export interface Services extends StageDeps {
  redis: Redis;
  scheduler: BullScheduler;
  close(): Promise<void>;
}

export async function connectServices(config: Config, logger: Logger, o: { forWorker?: boolean } = {}): Promise<Services> {
  const redis = createRedis(config.redisUrl, { forWorker: o.forWorker ?? false });
  await connectRedis(redis, config.redisUrl);
  try {
    await assertNoEviction(redis, config.redisUrl);
    const s3 = s3ConfigFrom(config);
    const artifacts = await openSource(config.artifacts, { s3, create: true });
    const scheduler = new BullScheduler(redis, config.queuePrefix);
    const qdrant = new QdrantStore({ url: config.qdrantUrl, ...(config.qdrantApiKey ? { apiKey: config.qdrantApiKey } : {}) });
    const sources = new Map<string, Promise<Storage>>();
    return {
      config,
      logger,
      redis,
      runs: new RunStore(redis, config.queuePrefix),
      artifacts,
      qdrant,
      scheduler,
      openSource(uri: string) {
        let source = sources.get(uri);
        if (!source) {
          source = openSource(uri, { s3 });
          void source.catch(() => sources.delete(uri));
          sources.set(uri, source);
        }
        return source;
      },
      async close() {
        await scheduler.close();
        redis.disconnect();
      },
    };
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}
