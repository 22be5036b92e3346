// Waiting for a run to finish: poll its progress until it is completed or failed (and,
// when asked, until its cluster map is done or failed).
import { UserError } from '../errors.js';
import { isRedisConnectionError } from '../queue/connection.js';
import { mapSettled, TERMINAL_STATUSES, type RunRecord, type WaitOptions } from './types.js';

/** waitFor gave up; `run` is the last record read. */
export class RunWaitTimeoutError extends UserError {
  override readonly name: string = 'RunWaitTimeoutError';
  constructor(
    readonly run: RunRecord,
    timeoutMs: number,
  ) {
    super(
      `Run "${run.id}" did not finish within ${timeoutMs} ms (status ${run.status}, done ${run.done}/${run.total}, failed ${run.failed})`,
    );
  }
}

/**
 * Poll `progress` until the run is completed or failed; resolves its final record. A poll
 * that fails because Redis is unreachable (restarting, a network blip) is not the end: the
 * connection reconnects by itself and polling goes on until the deadline (whoever owns
 * the connection reports the outage, e.g. a RedisWatch).
 */
export async function waitForRun(progress: () => Promise<RunRecord>, options: WaitOptions = {}): Promise<RunRecord> {
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const pollMs = options.pollMs ?? 1_000;
  const deadline = Date.now() + timeoutMs;
  let last: RunRecord | undefined;
  for (;;) {
    let run: RunRecord | undefined;
    try {
      run = await progress();
    } catch (error) {
      if (!isRedisConnectionError(error)) throw error;
      if (Date.now() >= deadline) {
        if (last) throw new RunWaitTimeoutError(last, timeoutMs);
        throw error;
      }
    }
    if (run) {
      last = run;
      options.onProgress?.(run);
      if (TERMINAL_STATUSES.has(run.status) && (options.until !== 'mapped' || mapSettled(run))) return run;
    }
    const left = deadline - Date.now();
    // Past the deadline without any record read: one more poll answers or throws.
    if (left <= 0 && last) throw new RunWaitTimeoutError(last, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(pollMs, left))));
  }
}
