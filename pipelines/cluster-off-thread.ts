// clusterEmbeddings in a worker thread: PCA, t-SNE and k-means on a few thousand points
// take seconds to minutes of pure CPU, and a worker process must keep its event loop
// turning meanwhile (BullMQ lock renewal; pooled Qdrant/S3 sockets that servers close
// after a few idle seconds: the cause of every failed 3.5k-image run before). The thread
// exits when done, so its heap goes with it (the cluster worker's memory stays flat).
import { UserError } from '../shared/errors.js';
import { spawnModuleThread } from '../shared/threads.js';
import type { ClusterOptions, ClusterProgress, ClusterResult } from './cluster.js';
import type { Embeddings } from './embed.js';

export type ClusterThreadOptions = Omit<ClusterOptions, 'logger' | 'progressBar' | 'onProgress'>;

export interface ClusterThreadRequest {
  keys: string[];
  dim: number;
  vectors: ArrayBuffer;
  options: ClusterThreadOptions;
}

export type ClusterThreadReply =
  | { type: 'progress'; progress: ClusterProgress }
  | { type: 'result'; result: ClusterResult }
  | { type: 'error'; message: string; user: boolean; stack?: string };

/** clusterEmbeddings off the event loop. The vectors are copied once into the thread. */
export function clusterOffThread(e: Embeddings, o: ClusterThreadOptions, onProgress?: (p: ClusterProgress) => void): Promise<ClusterResult> {
  const worker = spawnModuleThread(import.meta.url, 'cluster-thread');
  return new Promise<ClusterResult>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (m: ClusterThreadReply) => {
      switch (m.type) {
        case 'progress':
          onProgress?.(m.progress);
          return;
        case 'result':
          finish(() => resolve(m.result));
          return;
        case 'error': {
          const error = m.user ? new UserError(m.message) : new Error(`clustering thread: ${m.message}`);
          if (m.stack && !m.user) error.stack = `${error.message}\n${m.stack}`;
          finish(() => reject(error));
          return;
        }
      }
    });
    worker.on('error', (error) => finish(() => reject(error)));
    worker.on('exit', (code) => finish(() => reject(new Error(`clustering thread exited (code ${code}) before it answered`))));
    const copy = e.vectors.slice();
    const request: ClusterThreadRequest = { keys: e.keys, dim: e.dim, vectors: copy.buffer, options: o };
    worker.postMessage(request, [copy.buffer]);
  });
}
