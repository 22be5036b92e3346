// What the test servers that run as child processes (redis-server.ts, s3-server.ts)
// share: a registry of their live processes and data directories, cleaned up when the
// test process exits or is interrupted (a paused server has no child left to clean up
// after it); a kill that waits for the exit; and a queue that runs a server's
// pause/resume/restart/stop one after another, never interleaved.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const KILL_GRACE_MS = 3_000;

/** Server processes started and not yet exited: killed when the test process exits. */
const live = new Set<ChildProcess>();
/** Data directories not yet removed: removed when the test process exits. */
const directories = new Set<string>();

/** Kill this child (and remove nothing) if the test process exits while it runs. */
export function trackChild(child: ChildProcess): void {
  installExitHooks();
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Remove this directory if the test process exits before `forgetDirectory`. */
export function trackDirectory(directory: string): void {
  installExitHooks();
  directories.add(directory);
}

export function forgetDirectory(directory: string): void {
  directories.delete(directory);
}

/** Send `signal` (SIGKILL after 3 s if SIGTERM is not enough) and wait for the exit. */
export async function killChild(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  live.delete(child);
}

/** A runner of steps one after another: a step starts when the previous one settled. */
export function serialQueue(): <T>(step: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return <T>(step: () => Promise<T>): Promise<T> => {
    const result = queue.then(step);
    queue = result.catch(() => undefined);
    return result;
  };
}

let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const cleanUp = (): void => {
    for (const child of live) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    live.clear();
    for (const directory of directories) {
      try {
        rmSync(directory, { recursive: true, force: true, maxRetries: 2 });
      } catch {
        // best effort: the process is going away
      }
    }
    directories.clear();
  };
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      cleanUp();
      process.off(signal, onSignal);
      // Nobody else handles it: die of the signal as if we had not listened.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
