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
