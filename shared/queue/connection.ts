// Redis connections for BullMQ (ioredis), the start-up check BullMQ needs
// (maxmemory-policy must be noeviction, or Redis may silently drop job keys), and the
// watcher that reports a Redis outage as one warn line and one info line.
import { Redis } from 'ioredis';
import { errorMessage, isTransient, UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import { formatDuration } from '../human-format.js';

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

/**
 * True for the errors a Redis client or BullMQ reports while the server is away
 * (refused/reset connections, "Connection is closed.", exhausted per-command retries):
 * the connection watcher reports the outage, so these need no log line of their own.
 */
export function isRedisConnectionError(error: unknown): boolean {
  if (isTransient(error)) return true;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'MaxRetriesPerRequestError' || name === 'ConnectionClosedError') return true;
  return /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|enableOfflineQueue options is false/.test(errorMessage(error));
}

/**
 * A listener for BullMQ's Queue/Worker 'error' events: connection errors go to debug
 * (one outage is one warn line from the RedisWatch, not one line per queue per attempt);
 * anything else is logged at error as one line. A Queue without an 'error' listener has
 * BullMQ print every failed reconnect attempt as a multi-line dump on stderr.
 */
export function queueErrorListener(logger: Logger, fields: Record<string, unknown>, message: string): (error: Error) => void {
  return (error: Error) => {
    if (isRedisConnectionError(error)) logger.debug({ ...fields, err: errorMessage(error) }, message);
    else logger.error({ ...fields, err: errorMessage(error) }, message);
  };
}

export interface RedisOutage {
  /** Redis's URL, password masked. */
  redis: string;
  /** Why it is unreachable (the first error of the outage, or "connection closed"). */
  cause: string;
}

export interface RedisRecovery {
  redis: string;
  /** From the moment the first connection dropped until the last was ready again. */
  awayMs: number;
  /** Reconnect attempts of the connection that needed the most. */
  attempts: number;
}

export interface RedisWatchOptions {
  /** Default reporting: one warn line when Redis goes away, one info line when it is back. */
  logger?: Logger;
  /** Instead of the logger's warn line. */
  onDown?(outage: RedisOutage): void;
  /** Instead of the logger's info line. */
  onUp?(recovery: RedisRecovery): void;
}

interface Watched {
  down: boolean;
  attempts: number;
  closedAt?: number;
  detach(): void;
}

/**
 * Follows the ioredis connections of one process to one Redis and reports an outage
 * once: a warn line (URL and cause) when the first connection loses the server, an info
 * line (how long, how many reconnect attempts) when every connection is ready again, and
 * the errors of the attempts in between at debug. Its 'error' listener also keeps ioredis
 * from printing "[ioredis] Unhandled error event" dumps. A connection closed on purpose
 * (quit/disconnect) is not an outage: ioredis does not try to reconnect it.
 */
export class RedisWatch {
  private readonly connections = new Map<Redis, Watched>();
  private outage: { since: number; attempts: number; reported: boolean; cause?: string } | undefined;
  private readonly display: string;

  constructor(
    url: string,
    private readonly o: RedisWatchOptions = {},
  ) {
    this.display = displayRedisUrl(url);
  }

  /** Every watched connection is connected (no outage in progress). */
  get up(): boolean {
    return this.outage === undefined;
  }

  watch(redis: Redis): this {
    if (this.connections.has(redis)) return this;
    const state: Watched = { down: false, attempts: 0, detach: () => undefined };
    const onClose = (): void => {
      state.closedAt ??= Date.now();
    };
    const onReconnecting = (): void => {
      state.attempts += 1;
      if (!state.down) {
        state.down = true;
        this.outage ??= { since: state.closedAt ?? Date.now(), attempts: 0, reported: false };
      }
      if (this.outage) this.outage.attempts = Math.max(this.outage.attempts, state.attempts);
    };
    const onError = (error: unknown): void => {
      if (this.outage && !this.outage.reported) {
        this.outage.cause = errorMessage(error);
        this.reportDown();
      } else {
        this.o.logger?.debug({ redis: this.display, err: errorMessage(error) }, 'Redis connection error');
      }
    };
    const onReady = (): void => {
      state.closedAt = undefined;
      if (!state.down) return;
      state.down = false;
      state.attempts = 0;
      this.maybeBack();
    };
    const onEnd = (): void => this.unwatch(redis);
    redis.on('close', onClose);
    redis.on('reconnecting', onReconnecting);
    redis.on('error', onError);
    redis.on('ready', onReady);
    redis.on('end', onEnd);
    state.detach = () => {
      redis.off('close', onClose);
      redis.off('reconnecting', onReconnecting);
      redis.off('error', onError);
      redis.off('ready', onReady);
      redis.off('end', onEnd);
    };
    this.connections.set(redis, state);
    return this;
  }

  /** Stop following a connection (it was closed); an outage only it had ends silently. */
  unwatch(redis: Redis): void {
    const state = this.connections.get(redis);
    if (!state) return;
    state.detach();
    this.connections.delete(redis);
    if (this.outage && ![...this.connections.values()].some((s) => s.down)) this.outage = undefined;
  }

  /** Stop following every connection. */
  close(): void {
    for (const redis of [...this.connections.keys()]) this.unwatch(redis);
    this.outage = undefined;
  }

  private reportDown(): void {
    if (!this.outage || this.outage.reported) return;
    this.outage.reported = true;
    const outage: RedisOutage = { redis: this.display, cause: this.outage.cause ?? 'connection closed' };
    if (this.o.onDown) this.o.onDown(outage);
    else this.o.logger?.warn(outage, 'Redis unreachable; reconnecting');
  }

  private maybeBack(): void {
    if (!this.outage || [...this.connections.values()].some((s) => s.down)) return;
    // Back before a reconnect attempt failed: still one warn line, then the info line.
    this.reportDown();
    const recovery: RedisRecovery = { redis: this.display, awayMs: Date.now() - this.outage.since, attempts: this.outage.attempts };
    this.outage = undefined;
    if (this.o.onUp) this.o.onUp(recovery);
    else {
      const plural = recovery.attempts === 1 ? '' : 's';
      this.o.logger?.info(recovery, `Redis is back after ${formatDuration(recovery.awayMs / 1000)} (${recovery.attempts} reconnect attempt${plural})`);
    }
  }
}
