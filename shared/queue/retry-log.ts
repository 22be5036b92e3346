// Log lines for job retries that stay readable during an outage: an S3 outage makes
// every embed job fail and retry (hundreds of attempts a minute). The first failure of
// a window is logged as it is; the next ones are counted and summarised in one line at
// the end of the window (default 10 s). Jobs that fail for good are not this module's
// business: the stage worker logs each of them.
import type { Logger } from '../logger.js';
import { formatDuration } from '../human-format.js';

export interface RetryFailure {
  jobId: string | undefined;
  attempt: number;
  of: number | undefined;
  err: string;
}

export interface RetryLog {
  failed(f: RetryFailure): void;
  /** Log what is pending now (on shutdown). */
  flush(): void;
}

export function createRetryLog(logger: Logger, stage: string, windowMs = 10_000): RetryLog {
  let windowStart = -Infinity;
  let suppressed = 0;
  let lastErr = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (suppressed === 0) return;
    logger.warn({ stage, attempts: suppressed, err: lastErr }, `${stage}: ${suppressed} more job attempt(s) failed in the last ${formatDuration(windowMs / 1000)}; retrying with backoff`);
    suppressed = 0;
  };
  return {
    failed(f) {
      const now = Date.now();
      if (now - windowStart >= windowMs) {
        flush();
        windowStart = now;
        logger.warn({ stage, jobId: f.jobId, attempt: f.attempt, of: f.of, err: f.err }, `${stage} job failed; retrying`);
        return;
      }
      suppressed++;
      lastErr = f.err;
      timer ??= setTimeout(flush, Math.max(0, windowStart + windowMs - now));
      timer.unref();
    },
    flush,
  };
}
