// The six worker processes of the queue-driven pipeline, each a real child process
// running `imgsim worker <stage>`, for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { STAGES, type Stage } from '../../shared/jobs/contracts.js';
import { ROOT } from './cli.js';

export interface WorkerPool {
  /** stderr of every worker so far (for failure messages). */
  logs(): string;
  kill(stage: Stage, signal?: NodeJS.Signals): Promise<void>;
  /** The process id of a stage's worker (undefined when it is not running). */
  pid(stage: Stage): number | undefined;
  start(stage: Stage): void;
  stop(): Promise<void>;
}

export function startWorkers(env: Record<string, string>, stages: readonly Stage[] = STAGES): WorkerPool {
  const children = new Map<Stage, ChildProcess>();
  let logs = '';
  const start = (stage: Stage): void => {
    const env2 = { ...process.env, ...env };
    delete env2.NODE_OPTIONS;
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'imgsim.js'), 'worker', stage], { cwd: ROOT, env: env2, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (logs += `[${stage}] ${d.toString()}`));
    children.set(stage, child);
  };
  const exited = (child: ChildProcess): Promise<void> =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
  for (const stage of stages) start(stage);
  return {
    logs: () => logs,
    start,
    pid: (stage) => {
      const child = children.get(stage);
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async kill(stage, signal = 'SIGKILL') {
      const child = children.get(stage);
      if (!child) return;
      child.kill(signal);
      await exited(child);
    },
    async stop() {
      await Promise.all(
        [...children.values()].map(async (child) => {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited(child);
          clearTimeout(timer);
        }),
      );
    },
  };
}
