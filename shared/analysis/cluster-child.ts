// Child-process side of clusterInSubprocess (cluster-subprocess.ts): receives the
// vectors, runs clusterEmbeddings, sends progress and the result, and exits.
import { UserError } from '../errors.js';
import { clusterEmbeddings } from './cluster-map.js';
import type { ClusterChildReply, ClusterChildRequest } from './cluster-subprocess.js';

function send(message: ClusterChildReply): Promise<void> {
  return new Promise((resolve) => process.send?.(message, undefined, {}, () => resolve()) ?? resolve());
}

process.once('message', (m: ClusterChildRequest) => {
  let reply: ClusterChildReply;
  try {
    const result = clusterEmbeddings(
      { keys: m.keys, dim: m.dim, vectors: m.vectors },
      { ...m.options, onProgress: (progress) => void send({ type: 'progress', progress }) },
    );
    reply = { type: 'result', result };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    reply = { type: 'error', message: e.message, user: e instanceof UserError, ...(e.stack ? { stack: e.stack } : {}) };
  }
  void send(reply).then(() => process.disconnect());
});
