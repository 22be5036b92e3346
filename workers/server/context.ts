// What the routes share: the injected services, the encoder cache for uploaded queries,
// and the Redis connection state (requests fail fast with 503 while Redis is away).
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/config/index.js';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { displayRedisUrl } from '../../shared/queue/connection.js';
import type { BullScheduler } from '../../shared/queue/scheduler.js';
import type { RunStore } from '../../shared/runs/index.js';
import type { Storage } from '../../shared/storage/types.js';
import type { QdrantStore } from '../../shared/vectors/qdrant/index.js';
import type { ModelCache } from '../../shared/model/cache.js';

/** The services the server uses (shared/services.ts connectServices gives them all). */
export interface ServerDeps {
  config: Config;
  logger: Logger;
  redis: Redis;
  runs: RunStore;
  artifacts: Storage;
  qdrant: QdrantStore;
  scheduler: BullScheduler;
  /** The storage of a dataset's source (feature search reads the candidates' images). */
  openSource(uri: string): Promise<Storage>;
}

export interface RouteContext {
  deps: ServerDeps;
  models: ModelCache;
  redis: RedisState;
  uploadLimitBytes: number;
}

/**
 * Follows the shared connection: ioredis reconnects by itself, and while it is not ready
 * requests get a 503 at once instead of waiting in its offline queue.
 */
export class RedisState {
  private lastError: string | undefined;
  private readonly onError = (error: unknown): void => {
    this.lastError = errorMessage(error);
  };

  constructor(
    private readonly redis: Redis,
    private readonly url: string,
  ) {
    redis.on('error', this.onError);
  }

  get up(): boolean {
    return this.redis.status === 'ready';
  }

  /** Why Redis is not usable now. */
  reason(): string {
    return `Redis at ${displayRedisUrl(this.url)} is unreachable (connection ${this.redis.status}${this.lastError ? `: ${this.lastError}` : ''})`;
  }

  dispose(): void {
    this.redis.off('error', this.onError);
  }
}
