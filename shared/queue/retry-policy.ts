// How long a job keeps trying, by what went wrong (design note: "errors say whether to
// retry"):
//   - permanent (UserError, an invalid payload, UnrecoverableError): 1 attempt;
//   - transient (a service unreachable, slow, 5xx — isTransient): `attempts` attempts,
//     exponential backoff from `baseDelayMs` doubling up to `maxDelayMs`, ±25 % jitter
//     so a fleet of workers does not come back in lock-step. The defaults (16 attempts,
//     1 s → 60 s) ride out about 10 minutes of outage (retryWindowMs);
//   - anything else (most likely a bug of ours): at most OTHER_ERROR_ATTEMPTS, so a
//     deterministic failure does not spin for 10 minutes.
// BullMQ calls `backoffDelay` through the Worker's `settings.backoffStrategy` for jobs
// whose backoff type is BACKOFF_TYPE; the stage worker decides finality itself
// (isFinalAttempt) so the run records a job that gave up before BullMQ moves it.
import { UnrecoverableError, type JobsOptions } from 'bullmq';
import { settings } from '../config/schema.js';
import { isTransient, UserError } from '../errors.js';
import { InvalidPayloadError } from '../jobs/contracts.js';

export interface RetryPolicy {
  /** Attempts of a job failing for transient reasons, the first included. */
  attempts: number;
  /** Delay before the first retry. */
  baseDelayMs: number;
  /** Longest delay between two attempts. */
  maxDelayMs: number;
}

/** Attempts of a job failing for reasons neither permanent nor transient. */
export const OTHER_ERROR_ATTEMPTS = 3;

/** The backoff type our jobs carry; the Worker's backoffStrategy implements it. */
export const BACKOFF_TYPE = 'imgsim-capped-exponential';

const JITTER = 0.25;

export function retryPolicyFrom(c: { jobAttempts: number; jobBackoffMs: number; jobBackoffMaxMs: number }): RetryPolicy {
  return { attempts: c.jobAttempts, baseDelayMs: c.jobBackoffMs, maxDelayMs: Math.max(c.jobBackoffMs, c.jobBackoffMaxMs) };
}

/** The policy of the configuration's defaults (tests and tools that build a scheduler by hand). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = retryPolicyFrom({
  jobAttempts: Number(settings.jobAttempts.default),
  jobBackoffMs: Number(settings.jobBackoffMs.default),
  jobBackoffMaxMs: Number(settings.jobBackoffMaxMs.default),
});

/** The options every job of ours is added with (attempts and backoff from the policy). */
export function jobOptions(p: RetryPolicy): JobsOptions {
  return {
    attempts: p.attempts,
    backoff: { type: BACKOFF_TYPE, delay: p.baseDelayMs },
    removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}

function isPermanent(error: unknown): boolean {
  return error instanceof UserError || error instanceof InvalidPayloadError || error instanceof UnrecoverableError;
}

export type FailureKind = 'permanent' | 'transient' | 'error';

export function failureKind(error: unknown): FailureKind {
  if (isPermanent(error)) return 'permanent';
  return isTransient(error) ? 'transient' : 'error';
}

/** The delay before retry number `retry` (1 = the first retry), without jitter. */
export function nominalDelay(retry: number, p: RetryPolicy): number {
  return Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, retry - 1));
}

/** The delay before retry number `retry` with jitter; BullMQ's backoffStrategy. */
export function backoffDelay(retry: number, p: RetryPolicy, random: () => number = Math.random): number {
  const nominal = nominalDelay(retry, p);
  return Math.round(nominal * (1 - JITTER + 2 * JITTER * random()));
}

/** How long a job failing for transient reasons keeps trying (sum of the nominal delays). */
export function retryWindowMs(p: RetryPolicy): number {
  let total = 0;
  for (let retry = 1; retry < p.attempts; retry++) total += nominalDelay(retry, p);
  return total;
}

/**
 * Whether the attempt that just failed with `error` is the job's last: `attemptsMade` is
 * BullMQ's count of attempts that failed before this one, `attempts` the job's own option.
 */
export function isFinalAttempt(error: unknown, attemptsMade: number, attempts: number): boolean {
  const attempt = attemptsMade + 1;
  switch (failureKind(error)) {
    case 'permanent':
      return true;
    case 'transient':
      return attempt >= attempts;
    case 'error':
      return attempt >= Math.min(attempts, OTHER_ERROR_ATTEMPTS);
  }
}
