// A real redis-server for integration tests: a child process on a free port, with no
// persistence (--save '' --appendonly no), its working directory in a fresh temporary
// directory that stop() removes, and maxmemory-policy noeviction unless told otherwise
// (BullMQ needs noeviction; tests of the start-up check ask for another policy).
//
// restart() stops the server and starts a new one on the same port: the URL stays valid
// but, as nothing is persisted, the data is gone. Every server still running when the
// test process exits (or is interrupted) is killed, so no redis-server outlives its file.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface RedisTestServer {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Kill the server (SIGTERM, then SIGKILL after 3 s) and remove its directory. Idempotent. */
  stop(): Promise<void>;
  /** Stop and start again on the same port (data is not kept). */
  restart(): Promise<void>;
}

export interface RedisTestServerOptions {
  /** maxmemory-policy of the server; default noeviction. */
  maxmemoryPolicy?: string;
  /** How long to wait for "Ready to accept connections". Default 10 s. */
  startTimeoutMs?: number;
}

const BINARY = 'redis-server';
const KILL_GRACE_MS = 3_000;
const READY_LINE = 'Ready to accept connections';

/** Servers started by this process and not yet stopped: killed when the process exits. */
const live = new Set<ChildProcess>();

export async function startRedis(options: RedisTestServerOptions = {}): Promise<RedisTestServer> {
  const binary = await findOnPath(BINARY);
  if (!binary) {
    throw new Error(
      `${BINARY} is not on PATH; the Redis integration tests start their own server. Install it (apt-get install redis-server) and run them again.`,
    );
  }
  installExitHooks();

  const policy = options.maxmemoryPolicy ?? 'noeviction';
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const directory = await mkdtemp(path.join(tmpdir(), 'imgsim-redis-'));

  // The free port may be taken by someone else between our probe and the server's bind:
  // pick another one a few times before giving up.
  let port = 0;
  let child: ChildProcess | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    try {
      child = await launch(binary, port, directory, policy, timeoutMs);
    } catch (error) {
      lastError = error;
      if (!(error instanceof AddressInUseError)) break;
    }
  }
  if (!child) {
    await rm(directory, { recursive: true, force: true });
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  let current: ChildProcess | undefined = child;
  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      const running = current;
      current = undefined;
      if (running) await killChild(running);
      await rm(directory, { recursive: true, force: true });
    },
    async restart(): Promise<void> {
      if (stopped) throw new Error('redis test server: restart() after stop()');
      const running = current;
      current = undefined;
      if (running) await killChild(running);
      // The port was just released; the kernel may need a moment before another bind.
      for (let attempt = 0; ; attempt++) {
        try {
          current = await launch(binary, port, directory, policy, timeoutMs);
          return;
        } catch (error) {
          if (!(error instanceof AddressInUseError) || attempt >= 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
  };
}

class AddressInUseError extends Error {}

/** Spawn the server and resolve once it accepts connections. */
async function launch(
  binary: string,
  port: number,
  directory: string,
  policy: string,
  timeoutMs: number,
): Promise<ChildProcess> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--maxmemory-policy', policy,
    '--dir', directory,
    '--daemonize', 'no',
    '--logfile', '', // log to stdout, where the ready line is read
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));

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
        child.off('exit', onExit);
        child.off('error', onError);
        if (error) reject(error);
        else resolve();
      };
      stdout.on('line', onLine);
      child.once('exit', onExit);
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

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    live.delete(child);
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  await exited;
  clearTimeout(timer);
  live.delete(child);
}

let hooksInstalled = false;

/** Kill every live server when this process exits or is interrupted. */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = (): void => {
    for (const child of live) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    live.clear();
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      process.off(signal, onSignal);
      // Nobody else handles it: die of the signal as if we had not listened.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
