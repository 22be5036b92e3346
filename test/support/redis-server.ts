// A real redis-server for integration tests: a child process on a free port, its working
// directory in a fresh temporary directory that stop() removes, and maxmemory-policy
// noeviction unless told otherwise (BullMQ needs noeviction; tests of the start-up check
// ask for another policy).
//
// Persistence (option `persistence`):
// - 'none' (default): --save '' --appendonly no. Nothing reaches the disk, so every
//   restart() / pause()+resume() comes back empty.
// - 'aof': --appendonly yes --appendfsync always (still no RDB snapshots). Redis writes
//   and fsyncs the append-only file before it answers a write, so every acknowledged
//   write survives restart(), pause()+resume() and outage(), even when the pause is a
//   crash (signal SIGKILL). 'everysec' would let a crash drop up to the last second or
//   two of writes: fine for production, a coin toss in a test.
//
// Outages, all on the same port and the same data directory (the URL stays valid):
// - restart(): stop the process (SIGTERM) and start a new one at once.
// - pause({ signal }): stop the process (SIGTERM: a clean shutdown, the default; SIGKILL: a
//   crash) and leave it down: connections are refused until resume().
// - resume(): start it again (reloading the AOF with 'aof'); a no-op when not paused.
// - outage(ms, { signal }): pause, wait ms, resume.
// Binding the port again right after the old process died can fail with "Address already
// in use" for a moment: the start is retried every 100 ms for up to ~3 s. While paused the
// port is free, so another process could take it; resume() then fails saying so.
// stop() kills the server and removes its directory, paused or not. Every server still
// running when the test process exits (or is interrupted) is killed and every directory
// not yet removed is removed, restarted children included, so no redis-server outlives
// its file.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { forgetDirectory, killChild, serialQueue, trackChild, trackDirectory } from './server-processes.js';

export type RedisPersistence = 'none' | 'aof';

/** How a pause stops the process: SIGTERM is a clean shutdown, SIGKILL a crash. */
export interface RedisPauseOptions {
  /** Default SIGTERM. */
  signal?: 'SIGTERM' | 'SIGKILL';
}

export interface RedisTestServer {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** The server's working directory (with 'aof', its appendonlydir/ lives here). */
  readonly directory: string;
  readonly persistence: RedisPersistence;
  /** True between pause() and resume(). */
  readonly paused: boolean;
  /** The server process's id (undefined while paused or stopped), e.g. to read its memory. */
  readonly pid: number | undefined;
  /** Kill the server (SIGTERM, then SIGKILL after 3 s) and remove its directory. Idempotent. */
  stop(): Promise<void>;
  /** Stop and start again on the same port and directory (data kept only with persistence 'aof'). */
  restart(): Promise<void>;
  /**
   * Stop the process and leave it stopped: the port is closed (connections are refused),
   * the directory is kept. Resolves once the process has exited. A no-op when already paused.
   */
  pause(options?: RedisPauseOptions): Promise<void>;
  /**
   * Start again on the same port and directory; resolves once it accepts connections
   * (with 'aof', after the data is loaded). A no-op when not paused.
   */
  resume(): Promise<void>;
  /** pause(options), wait `ms`, resume(). */
  outage(ms: number, options?: RedisPauseOptions): Promise<void>;
}

export interface RedisTestServerOptions {
  /** maxmemory-policy of the server; default noeviction. */
  maxmemoryPolicy?: string;
  /** How long to wait for "Ready to accept connections". Default 10 s. */
  startTimeoutMs?: number;
  /** 'aof' keeps the data across restart() and pause()/resume(); default 'none'. */
  persistence?: RedisPersistence;
}

const BINARY = 'redis-server';
const READY_LINE = 'Ready to accept connections';
/** Rebinding a port a process just released: tries 100 ms apart for up to 3 s. */
const REBIND_WINDOW_MS = 3_000;
const REBIND_DELAY_MS = 100;

interface LaunchSettings {
  binary: string;
  directory: string;
  policy: string;
  persistence: RedisPersistence;
  timeoutMs: number;
}

export async function startRedis(options: RedisTestServerOptions = {}): Promise<RedisTestServer> {
  const binary = await findOnPath(BINARY);
  if (!binary) {
    throw new Error(
      `${BINARY} is not on PATH; the Redis integration tests start their own server. Install it (apt-get install redis-server) and run them again.`,
    );
  }

  const directory = await mkdtemp(path.join(tmpdir(), 'imgsim-redis-'));
  trackDirectory(directory);
  const settings: LaunchSettings = {
    binary,
    directory,
    policy: options.maxmemoryPolicy ?? 'noeviction',
    persistence: options.persistence ?? 'none',
    timeoutMs: options.startTimeoutMs ?? 10_000,
  };

  // The free port may be taken by someone else between our probe and the server's bind:
  // pick another one a few times before giving up.
  let port = 0;
  let child: ChildProcess | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    try {
      child = await launch(settings, port);
    } catch (error) {
      lastError = error;
      if (!(error instanceof AddressInUseError)) break;
    }
  }
  if (!child) {
    forgetDirectory(directory);
    await rm(directory, { recursive: true, force: true });
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  let current: ChildProcess | undefined = child;
  let paused = false;
  let stopped = false;
  // pause/resume/restart/stop run one after another, never interleaved.
  const serially = serialQueue();
  const assertNotStopped = (method: string): void => {
    if (stopped) throw new Error(`redis test server: ${method}() after stop()`);
  };
  const halt = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    const running = current;
    current = undefined;
    if (running) await killChild(running, signal);
  };
  const relaunch = async (): Promise<void> => {
    current = await relaunchOnPort(settings, port);
  };

  const server: RedisTestServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    directory,
    persistence: settings.persistence,
    get paused(): boolean {
      return paused;
    },
    get pid(): number | undefined {
      return current?.pid;
    },
    stop: () =>
      serially(async () => {
        if (stopped) return;
        stopped = true;
        await halt('SIGTERM');
        forgetDirectory(directory);
        await rm(directory, { recursive: true, force: true });
      }),
    restart: () =>
      serially(async () => {
        assertNotStopped('restart');
        await halt('SIGTERM');
        paused = true; // if the start fails, resume() may try again
        await relaunch();
        paused = false;
      }),
    pause: (pauseOptions = {}) =>
      serially(async () => {
        assertNotStopped('pause');
        if (paused) return;
        paused = true;
        await halt(pauseOptions.signal ?? 'SIGTERM');
      }),
    resume: () =>
      serially(async () => {
        assertNotStopped('resume');
        if (!paused) return;
        await relaunch();
        paused = false;
      }),
    async outage(ms: number, pauseOptions?: RedisPauseOptions): Promise<void> {
      await server.pause(pauseOptions);
      await new Promise((resolve) => setTimeout(resolve, ms));
      await server.resume();
    },
  };
  return server;
}

/** Start on a port a process of ours just released, retrying while the bind fails. */
async function relaunchOnPort(settings: LaunchSettings, port: number): Promise<ChildProcess> {
  const deadline = Date.now() + REBIND_WINDOW_MS;
  for (;;) {
    try {
      return await launch(settings, port);
    } catch (error) {
      if (!(error instanceof AddressInUseError)) throw error;
      if (Date.now() >= deadline) {
        throw new Error(
          `redis test server: port ${port} is still in use after ${REBIND_WINDOW_MS / 1000} s; another process took it while the server was down`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, REBIND_DELAY_MS));
    }
  }
}

class AddressInUseError extends Error {}

/** Spawn the server and resolve once it accepts connections. */
async function launch(settings: LaunchSettings, port: number): Promise<ChildProcess> {
  const { binary, directory, policy, persistence, timeoutMs } = settings;
  const persistenceArgs =
    persistence === 'aof'
      ? ['--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no'];
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    ...persistenceArgs,
    '--maxmemory-policy', policy,
    '--dir', directory,
    '--daemonize', 'no',
    '--logfile', '', // log to stdout, where the ready line is read
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);

  let output = '';
  const remember = (line: string): void => {
    output = `${output}${line}\n`.slice(-4_000);
  };
  const stdout = createInterface({ input: child.stdout });
  const stderr = createInterface({ input: child.stderr });
  stderr.on('line', remember);

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        finish(new Error(`redis-server on port ${port} did not start within ${timeoutMs} ms${tail(output)}`));
      }, timeoutMs);
      const onLine = (line: string): void => {
        remember(line);
        if (line.includes(READY_LINE)) finish();
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        const message = `redis-server exited before accepting connections (code ${code}, signal ${signal})${tail(output)}`;
        finish(/address already in use/i.test(output) ? new AddressInUseError(message) : new Error(message));
      };
      const onError = (error: Error): void => finish(error);
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        stdout.off('line', onLine);
        child.off('close', onExit);
        child.off('error', onError);
        if (error) reject(error);
        else resolve();
      };
      stdout.on('line', onLine);
      // 'close', not 'exit': by then the output has been read to its end ("Address already in use").
      child.once('close', onExit);
      child.once('error', onError);
    });
  } catch (error) {
    stdout.close();
    stderr.close();
    await killChild(child);
    throw error;
  }

  // Keep draining the output (a full pipe would block the server), but let the test
  // process end even if a test forgets stop(): the exit hook kills the server then.
  stdout.on('line', remember);
  child.unref();
  (child.stdout as Socket | null)?.unref();
  (child.stderr as Socket | null)?.unref();
  return child;
}

function tail(output: string): string {
  const text = output.trim();
  return text ? `:\n${text}` : '';
}

/** A port that was free a moment ago: listen on port 0, read it, close. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a probe socket'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
