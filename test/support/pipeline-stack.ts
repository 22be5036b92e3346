// The services of the queue-driven pipeline for an integration test: a redis-server
// process (AOF persistence by default, so a restart keeps the queues and runs), an S3
// server process with the source and artefact buckets, the Qdrant emulator, and the
// IMGSIM_* environment that points workers and the CLI at them (with a small, fast
// model). The servers themselves are exposed so a drill can take them down and bring
// them back on the same port and data: `redis.pause()/resume()/restart()/outage(ms)`,
// `s3.pause()/resume()/outage(ms)`; the emulator takes its options (a short keep-alive).
// stop() tears everything down.
import type { S3ClientConfig } from '../../shared/storage/s3/index.js';
import { QdrantStore } from '../../shared/vectors/qdrant/index.js';
import { startQdrantEmulator, type QdrantEmulator, type QdrantEmulatorOptions } from './qdrant-emulator/index.js';
import { startRedis, type RedisPersistence, type RedisTestServer } from './redis-server.js';
import { startS3Server, type S3TestServer } from './s3-server.js';

export const SOURCE_BUCKET = 'imgsim-src';
export const ARTIFACTS_URI = 's3://imgsim-artifacts/imgsim/';

export interface PipelineStackOptions {
  /** Options of the Qdrant emulator (e.g. keepAliveTimeoutMs, advertiseKeepAlive). */
  emulator?: QdrantEmulatorOptions;
  /** Persistence of the Redis server; default 'aof' (a restart keeps every acknowledged write). */
  redisPersistence?: RedisPersistence;
}

export interface PipelineStack {
  redisUrl: string;
  /** The Redis server process: pause/resume/restart/outage on the same port and data. */
  redis: RedisTestServer;
  /** The S3 server process: pause/resume/restart/outage on the same port and store. */
  s3: S3TestServer;
  /** The Qdrant emulator (requests seen, schema errors, injected faults). */
  emulator: QdrantEmulator;
  qdrant: QdrantStore;
  /** Schema violations the emulator recorded so far. */
  qdrantErrors: () => number;
  s3cfg: S3ClientConfig;
  env: Record<string, string>;
  stop: () => Promise<void>;
}

export async function startPipelineStack(extraEnv: Record<string, string> = {}, options: PipelineStackOptions = {}): Promise<PipelineStack> {
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const redis = await startRedis({ persistence: options.redisPersistence ?? 'aof' });
    stops.push(() => redis.stop());
    const s3 = await startS3Server();
    stops.push(() => s3.stop());
    const emulator = await startQdrantEmulator(options.emulator ?? {});
    stops.push(() => emulator.close());
    await s3.createBucket(SOURCE_BUCKET);
    await s3.createBucket('imgsim-artifacts');
    return {
      redisUrl: redis.url,
      redis,
      s3,
      emulator,
      qdrant: new QdrantStore({ url: emulator.url }),
      qdrantErrors: () => emulator.errors.length,
      s3cfg: {
        endpoint: s3.endpoint,
        region: s3.region,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        forcePathStyle: true,
        timeoutMs: 10_000,
        maxAttempts: 3,
      },
      env: {
        IMGSIM_REDIS_URL: redis.url,
        IMGSIM_QDRANT_URL: emulator.url,
        IMGSIM_ARTIFACTS: ARTIFACTS_URI,
        IMGSIM_S3_ENDPOINT: s3.endpoint,
        IMGSIM_S3_ACCESS_KEY_ID: s3.accessKeyId,
        IMGSIM_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        IMGSIM_IMAGE_SIZE: '32',
        IMGSIM_FILTERS: '8,16,32',
        IMGSIM_EPOCHS: '2',
        IMGSIM_TSNE_ITERATIONS: '250',
        IMGSIM_JOB_LOCK_MS: '4000',
        IMGSIM_LOG_LEVEL: 'warn',
        ...extraEnv,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
