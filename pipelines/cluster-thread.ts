// Worker-thread side of clusterOffThread (cluster-off-thread.ts): receives the vectors
// (transferred, not copied), runs clusterEmbeddings and posts progress and the result.
import { parentPort } from 'node:worker_threads';
import { UserError } from '../shared/errors.js';
import { clusterEmbeddings } from './cluster.js';
import type { ClusterThreadReply, ClusterThreadRequest } from './cluster-off-thread.js';

function post(message: ClusterThreadReply): void {
  parentPort?.postMessage(message);
}

parentPort?.once('message', (m: ClusterThreadRequest) => {
  try {
    const result = clusterEmbeddings(
      { keys: m.keys, dim: m.dim, vectors: new Float32Array(m.vectors) },
      { ...m.options, onProgress: (progress) => post({ type: 'progress', progress }) },
    );
    post({ type: 'result', result });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    post({ type: 'error', message: e.message, user: e instanceof UserError, ...(e.stack ? { stack: e.stack } : {}) });
  }
});
