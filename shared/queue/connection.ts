// Redis connections for BullMQ (ioredis), and the start-up check BullMQ needs:
// maxmemory-policy must be noeviction, or Redis may silently drop job keys.
import { Redis } from 'ioredis';
import { errorMessage, UserError } from '../errors.js';

/** Redis URL with any password replaced, for messages and logs. */
export function displayRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid redis url>';
  }
}

/**
 * A connection suitable for BullMQ workers (maxRetriesPerRequest: null, so blocking
 * commands wait through reconnects instead of failing).
 */
export function createRedis(url: string, options: { forWorker?: boolean } = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: options.forWorker ? null : 3,
    enableReadyCheck: true,
    lazyConnect: true,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  });
}

/** Connect, or fail with a message naming Redis and its address. */
export async function connectRedis(redis: Redis, url: string): Promise<void> {
  // ioredis reports the cause (ECONNREFUSED…) as an 'error' event, not in connect()'s
  // rejection; keep a listener so the cause reaches the message and nothing is printed.
  let lastError: unknown;
  redis.on('error', (error: unknown) => {
    lastError = error;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new UserError(`Redis at ${displayRedisUrl(url)} is unreachable: ${errorMessage(lastError ?? error)}`);
  }
}

/** Refuse to run on a Redis that may evict keys (BullMQ would lose jobs). */
export async function assertNoEviction(redis: Redis, url: string): Promise<void> {
  const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
  const policy = reply[1];
  if (policy !== 'noeviction') {
    throw new UserError(
      `Redis at ${displayRedisUrl(url)} has maxmemory-policy "${policy ?? 'unknown'}"; BullMQ needs "noeviction" (CONFIG SET maxmemory-policy noeviction, or set it in redis.conf)`,
    );
  }
}
