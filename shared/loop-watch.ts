// Watch a worker process's event loop: BullMQ renews job locks and HTTP clients reuse
// pooled sockets only while the loop turns, so a long synchronous step is a bug (heavy
// math belongs in a worker thread). A timer measures how late it fires; a delay above
// the threshold is logged as one warn line, and the worst delay seen is kept for the
// shutdown log and tests.
import type { Logger } from './logger.js';
import { formatDuration } from './human-format.js';

export interface LoopWatch {
  /** The longest time the loop was blocked since start (ms). */
  worstMs(): number;
  stop(): void;
}

export function watchEventLoop(logger: Logger, o: { thresholdMs?: number; intervalMs?: number } = {}): LoopWatch {
  const threshold = o.thresholdMs ?? 2000;
  const interval = o.intervalMs ?? 250;
  let worst = 0;
  let expected = performance.now() + interval;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - expected;
    expected = now + interval;
    if (late > worst) worst = late;
    if (late > threshold) logger.warn({ blockedMs: Math.round(late) }, `event loop blocked for ${formatDuration(late / 1000)}: lock renewals and pooled sockets waited`);
  }, interval);
  timer.unref();
  return {
    worstMs: () => Math.round(worst),
    stop: () => clearInterval(timer),
  };
}
