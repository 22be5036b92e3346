// The worker processes of the queue-driven pipeline, each a real child process running
// `imgsim worker <stage>`, for end-to-end tests (by default the six of a run; a duplicates
// test adds fingerprint and duplicates); and watchPeakRss, which samples
// the memory of named processes (workers, servers) from /proc for the benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { RUN_STAGES, type Stage } from '../../shared/jobs/contracts.js';
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

export function startWorkers(env: Record<string, string>, stages: readonly Stage[] = RUN_STAGES): WorkerPool {
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

// ---------------------------------------------------------------------------
// Peak memory of processes, from /proc (Linux; elsewhere every figure stays 0).

/** A process's resident memory now and its peak (VmHWM, kept by the kernel), MiB; undefined once it has exited. */
export function processMemory(pid: number): { rssMiB: number; hwmMiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** The ids of a process's descendants (children, their children…): e.g. the cluster worker's map process. */
export function descendantPids(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number): void => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let children: string;
      try {
        children = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
        out.push(c);
        visit(c);
      }
    }
  };
  visit(pid);
  return out;
}

export interface PeakRss {
  /** The process's own peak (VmHWM), the largest seen over its pids (a restarted worker gets a new one). */
  hwmMiB: number;
  /** The largest sampled resident memory of the process and its descendants together. */
  treeMiB: number;
  /** The largest peak (VmHWM) of any descendant seen alive. */
  childHwmMiB: number;
}

export interface RssWatch {
  /** The peaks so far, by name. */
  peaks(): Record<string, PeakRss>;
  /** Take a last sample, stop sampling, and return the peaks. */
  stop(): Record<string, PeakRss>;
}

/**
 * Sample, every `intervalMs`, the processes `pids()` names (a name without a pid now is
 * skipped): each one's VmHWM, and the resident memory of it and its descendants together
 * (for the names in `ownOnly`, e.g. the process that started all the others, its own only).
 * VmHWM never resets, so the process's own peak is exact; the tree figure is a sampled maximum.
 */
export function watchPeakRss(pids: () => Record<string, number | undefined>, options: { intervalMs?: number; ownOnly?: readonly string[] } = {}): RssWatch {
  const peaks: Record<string, PeakRss> = {};
  const sample = (): void => {
    for (const [name, pid] of Object.entries(pids())) {
      const peak = (peaks[name] ??= { hwmMiB: 0, treeMiB: 0, childHwmMiB: 0 });
      if (pid === undefined) continue;
      const own = processMemory(pid);
      if (!own) continue;
      let tree = own.rssMiB;
      for (const child of options.ownOnly?.includes(name) ? [] : descendantPids(pid)) {
        const m = processMemory(child);
        if (!m) continue;
        tree += m.rssMiB;
        peak.childHwmMiB = Math.max(peak.childHwmMiB, m.hwmMiB);
      }
      peak.hwmMiB = Math.max(peak.hwmMiB, own.hwmMiB);
      peak.treeMiB = Math.max(peak.treeMiB, tree);
    }
  };
  sample();
  const timer = setInterval(sample, options.intervalMs ?? 1000);
  timer.unref();
  const copy = (): Record<string, PeakRss> => Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, { ...v }]));
  return {
    peaks: copy,
    stop: () => {
      sample();
      clearInterval(timer);
      return copy();
    },
  };
}
