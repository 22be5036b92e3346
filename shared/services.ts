// Build the adapters a worker, the server or a command needs from the configuration:
// Redis (checked for noeviction, its outages reported by a RedisWatch), the run store,
// the artefact store, Qdrant and the job scheduler.
//
// Only Redis is connected here. The artefact store and the sources open on first use,
// and the BullMQ queues are created on first use: run state lives in Redis, so
// `run-status`, `runs`, `schedule`… work while S3 is down, and a command fails only when
// it touches a service it needs and that service is unreachable. A failed open is retried
// on the next use (S3 may be back by then). Qdrant is an HTTP client: lazy already.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import type { Config } from './config/index.js';
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';
import { assertNoEviction, connectRedis, createRedis, queueErrorListener, RedisWatch, type RedisWatchOptions } from './queue/connection.js';
import { retryPolicyFrom } from './queue/retry-policy.js';
import { BullScheduler } from './queue/scheduler.js';
import { RunStore } from './runs/index.js';
import { openSource, s3ConfigFrom, type OpenOptions } from './storage/open.js';
import { formatS3Uri, isS3Uri, parseS3Uri } from './storage/s3/index.js';
import type { ListOptions, ObjectInfo, Storage } from './storage/types.js';
import { QDRANT_RETRY, QDRANT_RETRY_INTERACTIVE, QdrantStore } from './vectors/qdrant/index.js';

/**
 * Everything connectServices builds. It is what a stage's dependencies are made of
 * (pipelines/distributed/deps.ts StageDeps is a subset of these fields), declared here
 * without importing pipelines/: shared/ depends on nothing above it.
 */
export interface Services {
  config: Config;
  logger: Logger;
  redis: Redis;
  /** Reports Redis outages; a process adds its other connections (a worker's blocking one). */
  redisWatch: RedisWatch;
  runs: RunStore;
  /** The artefact store (models, listings, snapshots, cluster plots), opened on first use. */
  artifacts: Storage;
  qdrant: QdrantStore;
  /** BullMQ queues, created on first use. */
  scheduler: BullScheduler;
  /** The storage of a source URI (s3://… or a folder), opened once and shared. */
  openSource(uri: string): Promise<Storage>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Connection settings for BullMQ workers (commands wait through reconnects). */
  forWorker?: boolean;
  /** How Redis outages are reported; default: a warn line and an info line on `logger`. */
  redisWatch?: RedisWatchOptions;
}

export async function connectServices(config: Config, logger: Logger, o: ConnectOptions = {}): Promise<Services> {
  const redis = createRedis(config.redisUrl, { forWorker: o.forWorker ?? false });
  await connectRedis(redis, config.redisUrl);
  const redisWatch = new RedisWatch(config.redisUrl, o.redisWatch ?? { logger }).watch(redis);
  try {
    await assertNoEviction(redis, config.redisUrl);
  } catch (error) {
    redisWatch.close();
    redis.disconnect();
    throw error;
  }
  const s3 = s3ConfigFrom(config);
  const sources = new Map<string, Promise<Storage>>();
  /** One open per URI, shared; forgotten when it fails so the next use tries again. */
  const opened = (key: string, uri: string, options: OpenOptions): Promise<Storage> => {
    let source = sources.get(key);
    if (!source) {
      source = openSource(uri, options);
      void source.catch(() => sources.delete(key));
      sources.set(key, source);
    }
    return source;
  };
  let scheduler: BullScheduler | undefined;
  return {
    config,
    logger,
    redis,
    redisWatch,
    runs: new RunStore(redis, config.queuePrefix),
    artifacts: lazyStorage(storageUri(config.artifacts), () => opened(`artifacts ${config.artifacts}`, config.artifacts, { s3, create: true })),
    // Workers ride out a Qdrant restart of a few seconds inside each call; the server and
    // the CLI answer at once (one immediate retry still covers a stale pooled socket).
    qdrant: new QdrantStore({
      url: config.qdrantUrl,
      retry: o.forWorker ? QDRANT_RETRY : QDRANT_RETRY_INTERACTIVE,
      onRetry: (info) => logger.warn({ action: info.action, attempt: info.attempt, delayMs: info.delayMs, err: errorMessage(info.error) }, 'Qdrant request failed; retrying'),
      ...(config.qdrantApiKey ? { apiKey: config.qdrantApiKey } : {}),
    }),
    get scheduler(): BullScheduler {
      if (!scheduler) {
        scheduler = new BullScheduler(redis, config.queuePrefix, retryPolicyFrom(config));
        for (const [name, queue] of Object.entries(scheduler.allQueues)) queue.on('error', queueErrorListener(logger, { queue: name }, 'queue error'));
      }
      return scheduler;
    },
    openSource(uri: string) {
      return opened(`source ${uri}`, uri, { s3 });
    },
    async close() {
      await scheduler?.close();
      redisWatch.close();
      redis.disconnect();
    },
  };
}

/**
 * A Storage that opens the real one (S3: a client and a bucket check) when first used.
 * `open` is called on every use until it succeeds; callers cache the promise.
 */
function lazyStorage(uri: string, open: () => Promise<Storage>): Storage {
  return {
    uri,
    async *list(prefix?: string, options?: ListOptions): AsyncIterable<ObjectInfo> {
      yield* (await open()).list(prefix, options);
    },
    async get(key: string) {
      return (await open()).get(key);
    },
    async getRange(key: string, start: number, end: number) {
      return (await open()).getRange(key, start, end);
    },
    async put(key: string, data: Uint8Array | string) {
      return (await open()).put(key, data);
    },
    async exists(key: string) {
      return (await open()).exists(key);
    },
    async versionOf(key: string) {
      return (await open()).versionOf(key);
    },
    async delete(key: string) {
      return (await open()).delete(key);
    },
  };
}

/** The URI the opened storage will report (file:///abs/path or s3://bucket/prefix), without opening it. */
function storageUri(source: string): string {
  try {
    if (isS3Uri(source)) return formatS3Uri(parseS3Uri(source));
    if (source.startsWith('file://')) return pathToFileURL(fileURLToPath(source)).href;
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return pathToFileURL(path.resolve(source)).href;
  } catch {
    // an invalid URI: opening it says what is wrong
  }
  return source;
}
