// A real S3-compatible server for integration tests: @20minutes/s3rver in a separate
// Node process (test/support/s3rver-process.mjs) on a free port, storing into a fresh
// temporary directory (on /dev/shm when present) that stop() removes.
//
// Facts this relies on (see design notes §4):
// - the child runs with --openssl-legacy-provider: s3rver's ListObjectsV2 continuation
//   tokens are DES-encrypted, which OpenSSL 3 only has in its legacy provider;
// - SigV4 checking is relaxed (allowMismatchedSignatures) unless strictSignatures is set;
//   unknown access key ids are rejected (InvalidAccessKeyId) either way;
// - s3rver 5 declares engines node >= 24, but runs unchanged on Node 20.
//
// Outages, all on the same port and the same store (the endpoint stays valid, buckets and
// objects survive):
// - pause(): kill the server process (SIGKILL: a crash; on a clean exit the launcher
//   deletes its store) and leave it down: connections are refused, so a request through
//   shared/storage/s3 fails with a transient S3UnreachableError. s3rver writes an object's
//   files before it answers the PUT, so nothing acknowledged is lost; a PUT cut short is
//   removed on resume() (dropUnacknowledgedWrites). A no-op when paused.
// - resume(): start a new server process on the same port and store; resolves once it
//   listens. A no-op when not paused. seedObjects() and createBucket() need it running.
// - restart(): pause() then resume(). outage(ms): pause(), wait ms, resume().
// Binding the port again right after the old process died can fail with EADDRINUSE for a
// moment: the start is retried every 100 ms for up to ~3 s. While paused the port is free,
// so another process could take it; resume() then fails saying so.
// stop() ends the server and removes its store, paused or not. When the test process exits
// (or is interrupted) every server process still running, restarted ones included, is
// killed and every store not yet removed is removed; a child whose parent died without
// that (SIGKILL) sees its stdin close and cleans up itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../shared/storage/s3/client.js';
import { forgetDirectory, killChild, serialQueue, trackChild, trackDirectory } from './server-processes.js';

export interface S3TestServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The server's store (kept across pause/resume/restart, removed by stop()). */
  readonly directory: string;
  /** True between pause() and resume(). */
  readonly paused: boolean;
  /** The server process's id (undefined while paused or stopped), e.g. to read its memory. */
  readonly pid: number | undefined;
  createBucket(name: string): Promise<void>;
  /**
   * Test set-up shortcut: writes objects straight into the server's store (no HTTP, no
   * signing): 1,203 objects in ~0.9 s against ~8 s through the SDK. The bucket must exist. Reads go
   * through the S3 API, so use it to prepare listings, never to test writes.
   */
  seedObjects(bucket: string, objects: ReadonlyArray<{ key: string; body: Uint8Array | string }>): Promise<void>;
  /** End the server and remove its store. Idempotent. */
  stop(): Promise<void>;
  /** Kill the server process and leave it down (port closed, store kept). No-op when paused. */
  pause(): Promise<void>;
  /** Start it again on the same port and store; resolves once it listens. No-op when running. */
  resume(): Promise<void>;
  /** pause() then resume(). */
  restart(): Promise<void>;
  /** pause(), wait `ms`, resume(). */
  outage(ms: number): Promise<void>;
}

export interface S3TestServerOptions {
  /** Verify SigV4 signatures (reject a wrong secret key). Default false, as the design notes prescribe. */
  strictSignatures?: boolean;
  /** How long to wait for the server to print its port. Default 15 s. */
  startTimeoutMs?: number;
}

const METADATA_SUFFIX = '._S3rver_metadata.json';

/**
 * After a crash (pause() kills the server): remove the objects whose PUT the kill cut
 * short. s3rver writes an object's content, then its md5, then its metadata.json, and
 * answers the PUT after that; a kill in between leaves a truncated metadata.json, which
 * s3rver then answers with HTTP 500 on every GET of the object and every listing that
 * includes it (a drill's runs failed that way after an outage). Those PUTs were never
 * acknowledged, so a real store would not have them either.
 */
async function dropUnacknowledgedWrites(directory: string): Promise<void> {
  const files = (await readdir(directory, { recursive: true })).filter((f) => f.endsWith(METADATA_SUFFIX));
  for (const rel of files) {
    const metadata = path.join(directory, rel);
    try {
      JSON.parse(await readFile(metadata, 'utf8'));
    } catch {
      const base = metadata.slice(0, -METADATA_SUFFIX.length);
      await Promise.all([metadata, `${base}._S3rver_object`, `${base}._S3rver_object.md5`].map((f) => rm(f, { force: true })));
    }
  }
}

const LAUNCHER = fileURLToPath(new URL('./s3rver-process.mjs', import.meta.url));
/** s3rver's built-in account. */
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';
const REGION = 'us-east-1';
/** Rebinding a port a process just released: tries 100 ms apart for up to 3 s. */
const REBIND_WINDOW_MS = 3_000;
const REBIND_DELAY_MS = 100;

interface Launched {
  child: ChildProcess;
  lines: LineReader;
  port: number;
}

export async function startS3Server(options: S3TestServerOptions = {}): Promise<S3TestServer> {
  const directory = await mkdtemp(path.join(await dataRoot(), 'imgsim-s3rver-'));
  trackDirectory(directory);
  const strict = options.strictSignatures ?? false;
  const timeoutMs = options.startTimeoutMs ?? 15_000;

  let current: Launched | undefined;
  try {
    current = await launch(directory, 0, strict, timeoutMs);
  } catch (error) {
    forgetDirectory(directory);
    await rm(directory, { recursive: true, force: true });
    throw error;
  }

  const port = current.port;
  const endpoint = `http://127.0.0.1:${port}`;
  // One client per server process: a new process gets a client with no pooled sockets.
  const newClient = (): S3Client =>
    createS3Client({
      endpoint,
      region: REGION,
      accessKeyId: ACCESS_KEY_ID,
      secretAccessKey: SECRET_ACCESS_KEY,
      forcePathStyle: true,
      timeoutMs: 5_000,
      maxAttempts: 1,
    });
  let client = newClient();

  let stopped = false;
  // stop/pause/resume run one after another, never interleaved.
  const serially = serialQueue();
  const running = (method: string): Launched => {
    if (stopped) throw new Error(`s3 test server: ${method}() after stop()`);
    if (!current) throw new Error(`s3 test server: ${method}() while paused; resume() first`);
    return current;
  };
  const pause = async (): Promise<void> => {
    if (stopped) throw new Error('s3 test server: pause() after stop()');
    if (!current) return;
    const { child, lines } = current;
    current = undefined;
    client.destroy();
    lines.close();
    // SIGKILL: on SIGTERM the launcher would delete the store.
    await killChild(child, 'SIGKILL');
  };
  const resume = async (): Promise<void> => {
    if (stopped) throw new Error('s3 test server: resume() after stop()');
    if (current) return;
    await dropUnacknowledgedWrites(directory);
    current = await relaunchOnPort(directory, port, strict, timeoutMs);
    client = newClient();
  };

  const server: S3TestServer = {
    endpoint,
    port,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    region: REGION,
    directory,
    get paused(): boolean {
      return !stopped && !current;
    },
    get pid(): number | undefined {
      return current?.child.pid;
    },
    async createBucket(name: string): Promise<void> {
      running('createBucket');
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async seedObjects(bucket, objects): Promise<void> {
      await running('seedObjects').lines.command({
        op: 'seed',
        bucket,
        objects: objects.map((o) => ({ key: o.key, base64: Buffer.from(o.body).toString('base64') })),
      });
    },
    stop: () =>
      serially(async () => {
        if (stopped) return;
        stopped = true;
        client.destroy();
        const last = current;
        current = undefined;
        if (last) {
          last.lines.close();
          await killChild(last.child, 'SIGTERM');
        }
        forgetDirectory(directory);
        await rm(directory, { recursive: true, force: true });
      }),
    pause: () => serially(pause),
    resume: () => serially(resume),
    restart: () =>
      serially(async () => {
        await pause();
        await resume();
      }),
    async outage(ms: number): Promise<void> {
      await server.pause();
      await new Promise((resolve) => setTimeout(resolve, ms));
      await server.resume();
    },
  };
  return server;
}

class AddressInUseError extends Error {}

/** Start a server process on `port` (0: any) over `directory`; resolves once it listens. */
async function launch(directory: string, port: number, strict: boolean, timeoutMs: number): Promise<Launched> {
  const args = ['--openssl-legacy-provider', LAUNCHER, directory];
  if (strict) args.push('--strict-signatures');
  if (port !== 0) args.push('--port', String(port));
  // The child must not inherit --import tsx or test-runner flags through NODE_OPTIONS.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  trackChild(child);

  const lines = new LineReader(child);
  try {
    return { child, lines, port: await lines.waitForPort(timeoutMs) };
  } catch (error) {
    lines.close();
    // SIGKILL: a SIGTERM would make the launcher delete the store, which a restart keeps.
    await killChild(child, 'SIGKILL');
    if (error instanceof Error && /EADDRINUSE/.test(error.message)) throw new AddressInUseError(error.message);
    throw error;
  }
}

/**
 * Start on a port a process of ours just released. A start costs a Node process (~0.5 s),
 * so wait until the port can be bound here first, then start, and retry a start that
 * still meets EADDRINUSE, all within REBIND_WINDOW_MS.
 */
async function relaunchOnPort(directory: string, port: number, strict: boolean, timeoutMs: number): Promise<Launched> {
  const deadline = Date.now() + REBIND_WINDOW_MS;
  for (;;) {
    try {
      if (await portIsFree(port)) return await launch(directory, port, strict, timeoutMs);
    } catch (error) {
      if (!(error instanceof AddressInUseError)) throw error;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `s3 test server: port ${port} is still in use after ${REBIND_WINDOW_MS / 1000} s; another process took it while the server was down`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, REBIND_DELAY_MS));
  }
}

/** Whether 127.0.0.1:port can be bound right now (bound and released at once). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(false);
      else reject(error);
    });
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** The child's stdout: the ready line with the port, then answers to stdin commands. */
class LineReader {
  private stderr = '';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private readonly lines;
  private onPort: ((port: number) => void) | undefined;

  constructor(private readonly child: ChildProcess) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4_000);
    });
    this.lines = createInterface({ input: child.stdout! });
    this.lines.on('line', (line) => this.onLine(line));
    child.once('exit', (code, signal) => {
      const error = new Error(`s3rver exited (code ${code}, signal ${signal})${this.stderrTail()}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
  }

  waitForPort(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        finish(new Error(`s3rver did not start within ${timeoutMs} ms${this.stderrTail()}`));
      }, timeoutMs);
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        finish(new Error(`s3rver exited before listening (code ${code}, signal ${signal})${this.stderrTail()}`));
      };
      const onError = (error: Error): void => finish(error);
      // 'close', not 'exit': by then stderr has been read to its end (EADDRINUSE…).
      this.child.once('close', onExit);
      this.child.once('error', onError);
      this.onPort = (port) => finish(undefined, port);

      const finish = (error: Error | undefined, port?: number): void => {
        clearTimeout(timer);
        this.child.off('close', onExit);
        this.child.off('error', onError);
        this.onPort = undefined;
        if (error) reject(error);
        else resolve(port as number);
      };
    });
  }

  command(body: Record<string, unknown>): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin?.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  close(): void {
    this.lines.close();
  }

  private onLine(line: string): void {
    let message: { port?: unknown; id?: unknown; ok?: unknown; error?: unknown };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return; // not one of ours
    }
    if (typeof message.port === 'number') {
      this.onPort?.(message.port);
      return;
    }
    if (typeof message.id !== 'number') return;
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.ok === true) waiting.resolve();
    else waiting.reject(new Error(`s3rver seed failed: ${String(message.error)}`));
  }

  private stderrTail(): string {
    return this.stderr ? `: ${this.stderr.trim()}` : '';
  }
}

/**
 * Where the server keeps its files: tmpfs (/dev/shm) when there is one. s3rver writes
 * three files per object, and creating files on this machine's disk costs ~1 ms each
 * (3,600 small files: 4.7 s on disk, 0.4 s on tmpfs).
 */
async function dataRoot(): Promise<string> {
  const shm = '/dev/shm';
  try {
    await access(shm, constants.W_OK);
    return shm;
  } catch {
    return tmpdir();
  }
}
