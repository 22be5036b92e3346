// Start a worker thread on a module that sits next to the caller: long synchronous work
// (t-SNE, PCA, k-means, training shards) runs there so the caller's event loop keeps
// serving BullMQ lock renewals and pooled HTTP sockets.
//
// From TypeScript sources (tsx) the thread registers tsx's loader through its API before
// importing the module: inheriting `--import tsx` is not enough under the node:test
// runner, and bin/imgsim.js registers tsx through the API (no flag to inherit). A
// compiled build (.js) loads the .js module directly.
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `callerUrl` is the caller's import.meta.url; `name` the module's file name without extension. */
export function spawnModuleThread(callerUrl: string, name: string, options: Pick<WorkerOptions, 'workerData' | 'resourceLimits'> = {}): Worker {
  const ts = callerUrl.endsWith('.ts');
  const file = new URL(`./${name}${ts ? '.ts' : '.js'}`, callerUrl);
  if (!ts) return new Worker(file, options);
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(file.href)}); });`;
  return new Worker(code, { ...options, eval: true });
}
