// Watch an event loop: BullMQ renews job locks and HTTP clients reuse pooled sockets only
// while the loop turns, so a long synchronous step is a bug (heavy math belongs in a worker
// thread).
//   watchEventLoop  a worker process's loop: a timer measures how late it fires; a delay
//                   above the threshold is logged as one warn line, and the worst delay
//                   seen is kept for the shutdown log and tests.
//   watchStep       one step of a job (the duplicates pass's pairs and verify steps): the
//                   longest gap, the process's CPU time within it and the step it happened
//                   in, stored in the step's report.
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

/** The longest gap: ms beyond the tick, the process's CPU ms within it, the step's label. */
export interface LoopBlock {
  ms: number;
  cpuMs: number;
  during: string;
}

export interface StepWatch {
  /** Name the step the loop is in from now on (reported with the worst gap). */
  mark(label: string): void;
  /** Stops the timer and says the worst gap; again, the same answer (a step's finally stops it whether or not it got that far). */
  stop(): LoopBlock;
}

const TICK_MS = 10;

/**
 * The longest gap of a 10 ms timer while a step runs. A gap whose CPU time is close to its
 * length is work that held the loop (to slice or move off it); one with little CPU time is
 * the process waiting for a core on a loaded machine, or for the kernel — not a block of
 * ours. CPU time is the whole process's (every thread: libuv's pool and the garbage
 * collector's helpers too), so it can exceed the gap.
 */
export function watchStep(label = 'start'): StepWatch {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let during = label;
  let worst: LoopBlock = { ms: 0, cpuMs: 0, during };
  const note = (): void => {
    const now = performance.now();
    const gap = now - last - TICK_MS;
    if (gap > worst.ms) {
      const cpu = process.cpuUsage(lastCpu);
      worst = { ms: Math.round(gap), cpuMs: Math.round((cpu.user + cpu.system) / 1000), during };
    }
    last = now;
    lastCpu = process.cpuUsage();
  };
  // Unref'd: a watch never holds a process open, even one a failed step left running.
  const timer = setInterval(note, TICK_MS).unref();
  let stopped = false;
  return {
    mark(next: string): void {
      during = next;
    },
    stop(): LoopBlock {
      if (stopped) return worst;
      stopped = true;
      clearInterval(timer);
      note();
      return worst;
    },
  };
}

/** The longer of two blocks (undefined when neither is known). */
export function longerBlock(a: LoopBlock | undefined, b: LoopBlock | undefined): LoopBlock | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.ms > a.ms ? b : a;
}
