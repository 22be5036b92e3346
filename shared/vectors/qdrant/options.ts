// The Qdrant adapter's options and retry budgets: how long a request keeps trying
// before it fails as transient for the job-level retry (shared/queue/retry-policy.ts).
import type { RetryInfo, RetryPolicy } from '../../retry.js';

export interface QdrantStoreOptions {
  url: string;
  apiKey?: string;
  /** Per-request timeout (ms); default 300 000 as in the client. */
  timeoutMs?: number;
  /** Retries of failed requests: changes to QDRANT_RETRY, or false for none. */
  retry?: Partial<RetryPolicy> | false;
  /** Called before each retry, for a log line. */
  onRetry?: (info: QdrantRetryInfo) => void;
}

export interface QdrantRetryInfo extends RetryInfo {
  /** What the failed request was doing, as error messages say it ("upsert 12 points into …"). */
  action: string;
}

/**
 * The adapter's retry budget per request: 6 attempts, the first retry at once, then full-
 * jitter backoff of at most 1, 2, 4 and 8 s (≤ 15 s of waiting, ~7.5 s on average), and no
 * retry starting more than 20 s after the first attempt. That rides out a stale socket, a
 * reset, or a restart/failover of a few seconds; longer outages fail the call (transient)
 * for the job-level retry, which waits minutes. A request that itself timed out after the
 * client's timeout (default 300 s) is therefore not repeated here.
 */
export const QDRANT_RETRY: Readonly<Required<RetryPolicy>> = Object.freeze({
  attempts: 6,
  baseDelayMs: 1_000,
  maxDelayMs: 8_000,
  maxElapsedMs: 20_000,
  immediateFirstRetry: true,
});

/**
 * The budget for a caller that answers a person and has its own deadline (the HTTP API's
 * search and readiness checks): one immediate retry, which still covers a stale pooled
 * socket, and no backoff: a Qdrant that is down is reported at once (503), not after 15 s.
 */
export const QDRANT_RETRY_INTERACTIVE: Readonly<Required<RetryPolicy>> = Object.freeze({ ...QDRANT_RETRY, attempts: 2 });
