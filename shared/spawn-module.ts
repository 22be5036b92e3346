// Start a module that sits next to the caller in a worker thread or a child process:
// long synchronous work (t-SNE, PCA, k-means, training shards) runs there so the
// caller's event loop keeps serving BullMQ lock renewals and pooled HTTP sockets.
//
// From TypeScript sources (tsx) the module must be loaded through tsx:
// - a thread registers tsx's loader through its API before importing the module
//   (inheriting `--import tsx` is not enough under the node:test runner, and
//   bin/imgsim.js registers tsx through the API: there is no flag to inherit);
// - a child process gets `--import <tsx's own URL>` (resolved here, so it works from any
//   working directory).
// A compiled build (.js) loads the .js module directly.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

function moduleUrl(callerUrl: string, name: string): { url: URL; ts: boolean } {
  const ts = callerUrl.endsWith('.ts');
  return { url: new URL(`./${name}${ts ? '.ts' : '.js'}`, callerUrl), ts };
}

/** `callerUrl` is the caller's import.meta.url; `name` the module's file name without extension. */
export function spawnModuleThread(callerUrl: string, name: string, options: Pick<WorkerOptions, 'workerData' | 'resourceLimits'> = {}): Worker {
  const { url, ts } = moduleUrl(callerUrl, name);
  if (!ts) return new Worker(url, options);
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { ...options, eval: true });
}

/**
 * The module as a child process with an IPC channel using the structured-clone
 * serialization (typed arrays travel as such). Its stdout/stderr are the parent's.
 */
export function forkModuleProcess(callerUrl: string, name: string): ChildProcess {
  const { url, ts } = moduleUrl(callerUrl, name);
  const execArgv = ts ? ['--import', import.meta.resolve('tsx')] : [];
  return fork(fileURLToPath(url), [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}
