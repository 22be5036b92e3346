// The Barnes-Hut repulsion step of t-SNE (tsne.ts), the part that takes ~95 % of an
// iteration, on one thread or split over worker threads.
//
// Every participant (this thread and each worker) builds its own quadtree over the
// shared layout (a build is ~5 % of a step: cheaper than sharing one tree and waiting
// for it), then takes chunks of points in Morton order from a shared counter until none
// are left, writing each point's force and its Σq into shared arrays. Z is summed
// afterwards by this thread in Morton order, so the result is bit-identical whatever the
// number of threads or the way chunks were shared out.
//
// The caller (runTsne) is synchronous, in the clustering child process, so this thread
// waits with Atomics.wait (blocking is that process's job) and the workers are driven
// through a shared Int32 control block rather than messages. Measured (2-core box,
// bench:scale, 20k-point map): see docs/performance.md.
import { writeSync } from 'node:fs';
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { spawnModuleThread } from '../spawn-module.js';
import { QuadTree } from './quadtree.js';

/** Points per chunk taken from the shared counter. */
export const CHUNK = 256;
/** Below this many points a step is a few milliseconds: threads are not worth starting. */
export const PARALLEL_MIN_POINTS = 5000;

// Slots of the control block.
export const GEN = 0; // step number, bumped by the caller to start a step
export const DONE = 1; // steps finished, summed over workers
export const NEXT = 2; // next chunk to take
export const READY = 3; // workers started
export const STOP = 4; // 1: workers exit
export const ERROR = 5; // 1: a worker failed a step or exited
export const CRASH_AT = 6; // tests only: a worker throws at this step (0: never)
const CONTROL_SLOTS = 8;

export interface RepulsionTimeouts {
  /** How long the workers may take to start before this thread works alone (default 30 s). */
  startMs?: number;
  /** How long a step may wait for a worker before this thread redoes it alone (default 120 s). */
  stepMs?: number;
}

/**
 * What a worker receives (workerData): shared memory only. Results are stored by rank in
 * `order` (the point at order[r] has its force at repulse[2r..2r+1], its Σq at sumQ[r]):
 * a chunk's writes are then contiguous, and two threads never write the same cache line
 * (indexing by point, their writes interleaved and a step took 30 % longer on 2 threads
 * than on one).
 */
export interface RepulsionShared {
  control: Int32Array;
  y: Float64Array;
  order: Int32Array;
  repulse: Float64Array;
  sumQ: Float64Array;
  n: number;
  theta2: number;
}

/**
 * Take chunks from the shared counter and compute their points' repulsion with `tree`
 * (already built); returns the chunks taken. A worker (`worker` true) stops taking chunks
 * once told to stop: the caller may be redoing the step alone and moving on.
 */
export function repulsionChunks(s: RepulsionShared, tree: QuadTree, force: Float64Array, worker = false): number {
  const { control, y, order, repulse, sumQ, n, theta2 } = s;
  for (let taken = 0; ; taken++) {
    if (worker && Atomics.load(control, STOP) !== 0) return taken;
    const start = Atomics.add(control, NEXT, 1) * CHUNK;
    if (start >= n) return taken;
    const end = Math.min(n, start + CHUNK);
    for (let r = start; r < end; r++) {
      const i = order[r] as number;
      force[0] = 0;
      force[1] = 0;
      sumQ[r] = tree.repulsion(y[2 * i] as number, y[2 * i + 1] as number, theta2, force);
      repulse[2 * r] = force[0];
      repulse[2 * r + 1] = force[1];
    }
  }
}

/** Shared arrays for an n-point layout (SharedArrayBuffer-backed whether or not threads start). */
export function repulsionShared(n: number, theta: number): RepulsionShared {
  const shared = (bytes: number): SharedArrayBuffer => new SharedArrayBuffer(Math.max(bytes, 8));
  return {
    control: new Int32Array(shared(CONTROL_SLOTS * 4)),
    y: new Float64Array(shared(2 * n * 8)),
    order: new Int32Array(shared(n * 4)),
    repulse: new Float64Array(shared(2 * n * 8)),
    sumQ: new Float64Array(shared(n * 8)),
    n,
    theta2: theta * theta,
  };
}

/** Worker threads to use by default: one per core beyond this one, at most 3. */
export function defaultRepulsionThreads(): number {
  return Math.max(0, Math.min(3, os.availableParallelism() - 1));
}

/**
 * The repulsion step. Threads are a speed-up only: a worker that does not start, fails a
 * step, exits or stalls is stopped, one line says so on stderr, and this thread redoes the
 * step and carries on alone (a step is a pure function of the layout, so the result is the
 * same). Worker errors are caught here ('error' listener): the caller blocks in
 * Atomics.wait while a worker dies, and an unhandled worker error would kill the process
 * at its next turn of the event loop.
 */
export class RepulsionStep {
  private readonly tree = new QuadTree();
  private readonly force = new Float64Array(2);
  private workers: Worker[] = [];
  private startedAt = 0;
  private steps = 0;
  private readonly startMs: number;
  private readonly stepMs: number;

  /** `threads`: worker threads besides this one (0: this thread only). */
  constructor(
    readonly shared: RepulsionShared,
    threads: number,
    timeouts: RepulsionTimeouts = {},
  ) {
    this.startMs = timeouts.startMs ?? 30_000;
    this.stepMs = timeouts.stepMs ?? 120_000;
    if (threads > 0 && shared.n >= PARALLEL_MIN_POINTS) {
      this.startedAt = performance.now();
      try {
        for (let t = 0; t < threads; t++) {
          const w = spawnModuleThread(import.meta.url, 'tsne-repulsion-thread', { workerData: shared });
          w.on('error', () => Atomics.store(shared.control, ERROR, 1)); // reported by the thread itself
          this.workers.push(w);
        }
      } catch (error) {
        this.fallBack(`a thread did not start (${error instanceof Error ? error.message : String(error)})`);
      }
    }
  }

  /** Worker threads in use (0 once this thread works alone). */
  get threads(): number {
    return this.workers.length;
  }

  /** One step: repulse and sumQ (by rank in order) for every point of the layout in shared.y. */
  run(): void {
    const s = this.shared;
    const c = s.control;
    if (this.workers.length > 0 && !this.ready()) this.fallBack(Atomics.load(c, ERROR) !== 0 ? 'a thread failed to start' : `the threads did not start within ${this.startMs / 1000} s`);
    if (this.workers.length > 0) {
      Atomics.store(c, NEXT, 0);
      this.steps++;
      Atomics.store(c, GEN, this.steps);
      Atomics.notify(c, GEN);
      this.tree.build(s.y, s.n);
      repulsionChunks(s, this.tree, this.force);
      const failure = this.awaitWorkers();
      if (failure === undefined) return;
      this.fallBack(failure); // then redo the whole step here
    }
    Atomics.store(c, NEXT, 0);
    this.tree.build(s.y, s.n);
    repulsionChunks(s, this.tree, this.force);
  }

  /** Stop the workers (idempotent). */
  close(): void {
    if (this.workers.length === 0) return;
    const c = this.shared.control;
    Atomics.store(c, STOP, 1);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    for (const w of this.workers) {
      w.unref();
      void w.terminate().catch(() => undefined);
    }
    this.workers = [];
  }

  /** Wait until every worker finished this step; a reason when one failed or stalled. */
  private awaitWorkers(): string | undefined {
    const c = this.shared.control;
    const expected = this.steps * this.workers.length;
    const deadline = performance.now() + this.stepMs;
    for (;;) {
      if (Atomics.load(c, ERROR) !== 0) return 'a thread failed';
      const done = Atomics.load(c, DONE);
      if (done >= expected) return undefined;
      const left = deadline - performance.now();
      if (left <= 0) return `a thread did not finish its step within ${this.stepMs / 1000} s`;
      Atomics.wait(c, DONE, done, Math.min(left, 1000));
    }
  }

  /** Wait (blocking, bounded) until every worker has started; false when they did not or one failed. */
  private ready(): boolean {
    const c = this.shared.control;
    const want = this.workers.length;
    const deadline = this.startedAt + this.startMs;
    for (;;) {
      if (Atomics.load(c, ERROR) !== 0) return false;
      const ready = Atomics.load(c, READY);
      if (ready >= want) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(c, READY, ready, Math.min(left, 1000));
    }
  }

  private fallBack(why: string): void {
    this.close();
    // Synchronous: this thread may block again at once, and the process may end soon after.
    writeSync(2, `imgsim: t-SNE continues on one thread: ${why}\n`);
  }
}
