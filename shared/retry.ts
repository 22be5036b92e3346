// Retrying a call that failed for a reason that may pass (a dropped connection, a timeout,
// a 5xx): bounded attempts, exponential backoff with full jitter, a cap on each wait and
// on the time spent in all. Only for calls that are safe to repeat (idempotent): the caller
// decides which failures qualify (`isRetryable`), and says why repeating is safe.
//
// Full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015): the n-th
// backed-off wait is uniform in [0, min(maxDelayMs, baseDelayMs · 2^(n-1))], which spreads
// the retries of many clients that failed together. `immediateFirstRetry`: the first retry
// goes at once, for failures that a fresh attempt fixes right away (a pooled keep-alive
// socket the server had already closed); backoff starts with the second retry.
//
// Written here because no dependency offers it: p-retry is not one, BullMQ's backoff is
// for jobs, and the AWS SDK's strategy is internal to its clients.
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  /** Attempts in all, the first included (1 = no retry). */
  attempts: number;
  /** The backoff's base: the n-th backed-off wait is at most baseDelayMs · 2^(n-1). */
  baseDelayMs: number;
  /** The longest single wait. */
  maxDelayMs: number;
  /** No retry starts later than this after the first attempt began (waits included). Default: no limit. */
  maxElapsedMs?: number;
  /** The first retry follows at once; backoff starts with the second. Default false. */
  immediateFirstRetry?: boolean;
}

export interface RetryInfo {
  /** The attempt that just failed (1 = the first). */
  attempt: number;
  /** Attempts allowed in all. */
  attempts: number;
  /** The wait before the next attempt (0: at once). */
  delayMs: number;
  error: unknown;
}

export interface RetryOptions extends RetryPolicy {
  /** Whether this failure may pass on another attempt. Anything else is thrown at once. */
  isRetryable(error: unknown): boolean;
  /** A wait the failure itself asks for (a Retry-After), used when longer than the backoff's. */
  delayHint?(error: unknown): number | undefined;
  /** Called before each retry (for a log line). */
  onRetry?(info: RetryInfo): void;
  /** Uniform in [0, 1): for tests. Default Math.random. */
  random?: () => number;
}

/** The wait before retry number `retry` (1 = the first retry) under `policy`. */
export function retryDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  let n = retry;
  if (policy.immediateFirstRetry) {
    if (n <= 1) return 0;
    n -= 1;
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
  return Math.round(random() * ceiling);
}

/** The longest time `policy` can spend waiting between attempts (every wait at its ceiling). */
export function maxTotalDelay(policy: RetryPolicy): number {
  let total = 0;
  for (let retry = 1; retry < policy.attempts; retry++) total += retryDelay(retry, policy, () => 1);
  return policy.maxElapsedMs !== undefined ? Math.min(total, policy.maxElapsedMs) : total;
}

/**
 * Runs `run` until it succeeds, its failure is not retryable, `attempts` are used up or the
 * next retry would start after `maxElapsedMs`; then throws the last failure unchanged.
 */
export async function withRetry<T>(run: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  checkPolicy(options);
  const random = options.random ?? Math.random;
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !options.isRetryable(error)) throw error;
      const hint = options.delayHint?.(error);
      const backoff = retryDelay(attempt, options, random);
      const delayMs = hint !== undefined && Number.isFinite(hint) && hint > backoff ? Math.min(hint, options.maxDelayMs) : backoff;
      if (options.maxElapsedMs !== undefined && performance.now() - started + delayMs > options.maxElapsedMs) throw error;
      options.onRetry?.({ attempt, attempts: options.attempts, delayMs, error });
      if (delayMs > 0) await sleep(delayMs);
    }
  }
}

/** Throws on a policy that cannot work (a programming error, not a user's). */
export function checkPolicy(policy: RetryPolicy): void {
  const problem = (name: string, value: unknown, expected: string): never => {
    throw new Error(`retry policy: ${name} must be ${expected}, got ${String(value)}`);
  };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) problem('attempts', policy.attempts, 'an integer >= 1');
  if (!Number.isFinite(policy.baseDelayMs) || policy.baseDelayMs < 0) problem('baseDelayMs', policy.baseDelayMs, 'a finite number >= 0');
  if (!Number.isFinite(policy.maxDelayMs) || policy.maxDelayMs < 0) problem('maxDelayMs', policy.maxDelayMs, 'a finite number >= 0');
  if (policy.maxElapsedMs !== undefined && !(policy.maxElapsedMs >= 0)) problem('maxElapsedMs', policy.maxElapsedMs, 'a number >= 0');
}
