// clusterEmbeddings in a child process. PCA, t-SNE and k-means on a few thousand points
// take seconds to minutes of pure CPU, and a worker process must keep its event loop
// turning meanwhile (BullMQ lock renewal; pooled Qdrant/S3 sockets that servers close
// after a few idle seconds: the cause of every failed 3.5k-image run before).
//
// A child process rather than a worker thread: a terminated thread leaves its memory in
// glibc's per-thread malloc arenas, and the cluster worker's RSS grew ~40 MiB per run
// (230 → 770 MiB over 10 runs of 3,500 × 1,024 vectors, measured with
// `npm run bench:cluster-soak`); a child's memory is returned whole when it exits, and
// a crash or an out-of-memory kill there fails the job, not the worker. Start-up costs
// well under a second beside a clustering step of seconds to minutes.
import type { ChildProcess } from 'node:child_process';
import { UserError } from '../errors.js';
import { forkModuleProcess } from '../spawn-module.js';
import type { ClusterMapOptions, ClusterProgress, ClusterResult, VectorMatrix } from './cluster-map.js';
import type { StreamedMapOptions, StreamedMapResult } from './streamed-map.js';

export type ClusterChildOptions = Omit<ClusterMapOptions, 'onProgress'>;

export interface ClusterChildRequest {
  keys: string[];
  dim: number;
  vectors: Float32Array;
  options: ClusterChildOptions;
}

export type ClusterChildReply =
  | { type: 'progress'; progress: ClusterProgress }
  | { type: 'result'; result: ClusterResult }
  | { type: 'error'; message: string; user: boolean; stack?: string };

/** Children still computing: killed if this process exits first (a worker stopped past its deadline). */
const running = new Set<ChildProcess>();
let exitHook = false;

function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of running) c.kill('SIGKILL');
  });
}

/** clusterEmbeddings off the event loop, in a child process that exits when done. */
export function clusterInSubprocess(e: VectorMatrix, o: ClusterChildOptions, onProgress?: (p: ClusterProgress) => void): Promise<ClusterResult> {
  const child = forkModuleProcess(import.meta.url, 'cluster-child');
  track(child);
  return new Promise<ClusterResult>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    child.on('message', (m: ClusterChildReply) => {
      switch (m.type) {
        case 'progress':
          onProgress?.(m.progress);
          return;
        case 'result':
          settled = true; // let it exit on its own (it disconnects after this message)
          resolve(m.result);
          return;
        case 'error': {
          const error = m.user ? new UserError(m.message) : new Error(`clustering process: ${m.message}`);
          if (m.stack && !m.user) error.stack = `${error.message}\n${m.stack}`;
          finish(() => reject(error));
          return;
        }
      }
    });
    child.on('error', (error) => finish(() => reject(error)));
    child.on('exit', (code, signal) =>
      finish(() => reject(new Error(`clustering process exited (${signal ?? `code ${code}`}) before it answered${signal === 'SIGKILL' ? ': out of memory?' : ''}`))),
    );
    const request: ClusterChildRequest = { keys: e.keys, dim: e.dim, vectors: e.vectors, options: o };
    child.send(request);
  });
}

// ---------------------------------------------------------------------------
// The streamed map (more points than the map sample): the child keeps running while
// the caller streams the index to it — the sample first, then every point in chunks
// (stream-child.ts, streamed-map.ts) — so neither process ever holds every vector at
// full width. Each chunk is sent once the previous one is written to the pipe: a
// child busy projecting stops reading, and the caller's scan waits (backpressure).

export interface StreamStart {
  type: 'start';
  n: number;
  dim: number;
  sampleRanks: Int32Array;
  sample: Float32Array;
  options: StreamedMapOptions;
}

export type StreamRequest = StreamStart | { type: 'chunk'; vectors: Float32Array; ranks: Int32Array } | { type: 'finish' };

export type StreamReply =
  | { type: 'progress'; progress: ClusterProgress }
  | { type: 'result'; result: StreamedMapResult }
  | { type: 'error'; message: string; user: boolean; stack?: string };

export class ClusterStream {
  private failure: Error | undefined;
  private readonly result: Promise<StreamedMapResult>;

  private constructor(private readonly child: ChildProcess, onProgress: ((p: ClusterProgress) => void) | undefined) {
    this.result = new Promise<StreamedMapResult>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        this.failure = error;
        reject(error);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      };
      child.on('message', (m: StreamReply) => {
        switch (m.type) {
          case 'progress':
            onProgress?.(m.progress);
            return;
          case 'result':
            settled = true;
            resolve(m.result);
            return;
          case 'error': {
            const error = m.user ? new UserError(m.message) : new Error(`clustering process: ${m.message}`);
            if (m.stack && !m.user) error.stack = `${error.message}\n${m.stack}`;
            fail(error);
            return;
          }
        }
      });
      child.on('error', fail);
      child.on('exit', (code, signal) =>
        fail(new Error(`clustering process exited (${signal ?? `code ${code}`}) before it answered${signal === 'SIGKILL' ? ': out of memory?' : ''}`)),
    );
    });
    this.result.catch(() => undefined); // observed through add()/finish()
  }

  /** Start the child with the sample: it fits PCA and waits for the points. */
  static async start(init: Omit<StreamStart, 'type'>, onProgress?: (p: ClusterProgress) => void): Promise<ClusterStream> {
    const child = forkModuleProcess(import.meta.url, 'stream-child');
    track(child);
    const stream = new ClusterStream(child, onProgress);
    await stream.send({ type: 'start', ...init });
    return stream;
  }

  /** One chunk of unit vectors (row-major) with their key ranks. */
  async add(vectors: Float32Array, ranks: Int32Array): Promise<void> {
    await this.send({ type: 'chunk', vectors, ranks });
  }

  /** Every point sent: the map. */
  async finish(): Promise<StreamedMapResult> {
    await this.send({ type: 'finish' });
    return this.result;
  }

  /** Stop the child (the caller failed while streaming). */
  abort(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private send(m: StreamRequest): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.child.send(m, undefined, {}, (error) => {
        if (this.failure) reject(this.failure);
        else if (error) reject(error);
        else resolve();
      });
    });
  }
}
