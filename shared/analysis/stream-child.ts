// Child-process side of ClusterStream (cluster-subprocess.ts): receives the sample
// (fits PCA), then chunks of points (projects each as it arrives), then 'finish'
// (t-SNE on the sample, placement, mini-batch k-means: streamed-map.ts); sends
// progress and the result, and exits.
import { UserError } from '../errors.js';
import type { StreamReply, StreamRequest } from './cluster-subprocess.js';
import { StreamedMap } from './streamed-map.js';

function send(message: StreamReply): Promise<void> {
  return new Promise((resolve) => process.send?.(message, undefined, {}, () => resolve()) ?? resolve());
}

function fail(error: unknown): void {
  const e = error instanceof Error ? error : new Error(String(error));
  void send({ type: 'error', message: e.message, user: e instanceof UserError, ...(e.stack ? { stack: e.stack } : {}) }).then(() => process.disconnect());
}

let map: StreamedMap | undefined;
let failed = false;

process.on('message', (m: StreamRequest) => {
  if (failed) return;
  try {
    switch (m.type) {
      case 'start':
        map = new StreamedMap(m.n, m.dim, m.sampleRanks, m.sample, m.options, (progress) => void send({ type: 'progress', progress }));
        return;
      case 'chunk':
        if (!map) throw new Error('streamed map: a chunk before the start');
        map.add(m.vectors, m.ranks);
        return;
      case 'finish': {
        if (!map) throw new Error('streamed map: finish before the start');
        const result = map.finish();
        map = undefined;
        void send({ type: 'result', result }).then(() => process.disconnect());
        return;
      }
    }
  } catch (error) {
    failed = true;
    fail(error);
  }
});
