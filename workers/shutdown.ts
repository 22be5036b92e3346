// Graceful shutdown: on SIGINT/SIGTERM run every cleanup step (even if one throws),
// and exit anyway after a deadline so a stuck job cannot keep the process alive.
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

export function onShutdown(steps: ReadonlyArray<() => Promise<unknown>>, o: { timeoutMs: number; logger: Logger }): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    o.logger.info({ signal, timeoutMs: o.timeoutMs }, 'shutting down');
    const deadline = setTimeout(() => {
      o.logger.error({ timeoutMs: o.timeoutMs }, 'shutdown deadline passed; exiting');
      process.exit(1);
    }, o.timeoutMs);
    deadline.unref();
    void (async () => {
      for (const step of steps) {
        try {
          await step();
        } catch (error) {
          o.logger.error({ err: errorMessage(error) }, 'shutdown step failed');
        }
      }
      clearTimeout(deadline);
      process.exit(0);
    })();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
