// The run store on Redis (key layout in keys.ts).
//
// Counts are idempotent under at-least-once delivery: done keys are a SET and failures
// a HASH (key → JSON), so done = SCARD and failed = HLEN and a redelivered batch counts
// once. Marking a key done removes its failure (a retry succeeded); a failure reported
// for a key already done is ignored (a late duplicate of an attempt that later
// succeeded), so a key is never both done and failed.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { UserError } from '../errors.js';
import { isRedisConnectionError } from '../queue/connection.js';
import { DatasetRegistry } from './datasets.js';
import { StoreKeys } from './keys.js';
import { withMetrics } from './metrics.js';
import { asNumber, asStringRecord, execAll, keyError } from './redis-util.js';
import {
  CorruptRecordError,
  itemFailureInputSchema,
  newRunSchema,
  parseInput,
  parseStored,
  runHashSchema,
  runIdSchema,
  type RunHash,
  statusExtraSchema,
  statusSchema,
  storedFailureSchema,
} from './schema.js';
import {
  TERMINAL_STATUSES,
  type DatasetRecord,
  type ItemFailure,
  type NewDataset,
  type NewItemFailure,
  type NewRun,
  type RunCounts,
  type RunRecord,
  type RunStatus,
  type StatusExtra,
  type WaitOptions,
} from './types.js';

/** The run does not exist (never created, or deleted). */
export class RunNotFoundError extends UserError {
  override readonly name: string = 'RunNotFoundError';
  constructor(readonly runId: string) {
    super(`Run "${runId}" not found`);
  }
}

/** waitFor gave up; `run` is the last record read. */
export class RunWaitTimeoutError extends UserError {
  override readonly name: string = 'RunWaitTimeoutError';
  constructor(
    readonly run: RunRecord,
    timeoutMs: number,
  ) {
    super(
      `Run "${run.id}" did not finish within ${timeoutMs} ms (status ${run.status}, done ${run.done}/${run.total}, failed ${run.failed})`,
    );
  }
}

/** A new run id: time in base 36 (sorts by creation until 2059) + 6 random hex digits. */
export function newRunId(nowMs: number = Date.now()): string {
  return `${nowMs.toString(36)}-${randomBytes(3).toString('hex')}`;
}

// Atomically: record failures for keys not already done; refuse a run that does not exist.
// KEYS: run hash, done set, failed hash. ARGV: now, then key/JSON pairs.
// Returns {done, failed} counts, or -1 when the run is missing.
const MARK_FAILED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
for i = 2, #ARGV, 2 do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  end
end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1])
return {redis.call('SCARD', KEYS[2]), redis.call('HLEN', KEYS[3])}
`;

// Delete the lock only if it is still ours (it may have expired and been taken).
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
const LOCK_TTL_MS = 10_000;
const LOCK_WAIT_MS = 15_000;

export class RunStore {
  private readonly keys: StoreKeys;
  private readonly datasets: DatasetRegistry;

  constructor(
    private readonly redis: Redis,
    prefix = 'imgsim',
  ) {
    if (!/^[A-Za-z0-9_-]+$/.test(prefix)) {
      throw new UserError(`Invalid Redis key prefix: expected letters, digits, - or _, received ${JSON.stringify(prefix)}`);
    }
    this.keys = new StoreKeys(prefix);
    this.datasets = new DatasetRegistry(redis, this.keys);
  }

  // ---- runs ----------------------------------------------------------------------------

  async create(input: NewRun): Promise<RunRecord> {
    const parsed = parseInput(newRunSchema, input, 'run');
    const now = new Date();
    const id = newRunId(now.getTime());
    const at = now.toISOString();
    const hash: Record<string, string> = {
      id,
      dataset: parsed.dataset,
      source: parsed.source,
      mode: parsed.mode,
      status: 'queued',
      total: '0',
      createdAt: at,
      updatedAt: at,
    };
    if (parsed.modelId !== undefined) hash.modelId = parsed.modelId;
    if (parsed.task !== undefined) hash.task = parsed.task;
    const k = this.keys.run(id);
    await execAll(
      this.redis.multi().hset(k.run, hash).zadd(this.keys.runs, now.getTime(), id).sadd(this.keys.activeRuns, id),
      [k.run, this.keys.runs, this.keys.activeRuns],
    );
    return toRecord(parseStored(runHashSchema, hash, k.run, 'run record'), 0, 0);
  }

  /**
   * The active run doing this work, or a new one: check and create happen under a
   * short Redis lock per (dataset, source, mode, model), so enqueues racing from several
   * processes create one run between them and the others join it.
   */
  async createOrJoin(input: NewRun): Promise<{ run: RunRecord; created: boolean }> {
    const parsed = parseInput(newRunSchema, input, 'run');
    const lock = this.keys.enqueueLock(JSON.stringify([parsed.dataset, parsed.source, parsed.mode, parsed.modelId ?? '', parsed.task ?? '']));
    const token = randomBytes(8).toString('hex');
    const deadline = Date.now() + LOCK_WAIT_MS;
    while ((await this.redis.set(lock, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new Error(`Could not take the enqueue lock ${lock} within ${LOCK_WAIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
    }
    try {
      const active = await this.findActive(parsed.dataset, parsed.source, parsed.mode, parsed.modelId, parsed.task);
      if (active) return { run: active, created: false };
      return { run: await this.create(parsed), created: true };
    } finally {
      await this.redis.eval(RELEASE_LOCK, 1, lock, token);
    }
  }

  /**
   * The newest run with these parameters that is neither completed nor failed, so a
   * re-enqueue joins it instead of starting a duplicate (createOrJoin does both atomically).
   */
  async findActive(dataset: string, source: string, mode: NewRun['mode'], modelId?: string, task?: string): Promise<RunRecord | undefined> {
    let ids: string[];
    try {
      ids = await this.redis.smembers(this.keys.activeRuns);
    } catch (error) {
      throw keyError(error, this.keys.activeRuns);
    }
    const runs = await this.getMany(ids);
    const stale = ids.filter((_, i) => runs[i] === undefined);
    if (stale.length > 0) await this.redis.srem(this.keys.activeRuns, ...stale);
    return runs
      .filter((r): r is RunRecord => r !== undefined)
      .filter(
        (r) =>
          !TERMINAL_STATUSES.has(r.status) &&
          r.dataset === dataset &&
          r.source === source &&
          r.mode === mode &&
          r.modelId === modelId &&
          r.task === task,
      )
      .sort(newestFirst)[0];
  }

  /** The run with its done/failed counts (no throughput; see progress), or undefined. */
  async get(id: string): Promise<RunRecord | undefined> {
    const [run] = await this.getMany([this.checkId(id)]);
    return run;
  }

  /** Newest first. */
  async list(options: { limit?: number; offset?: number } = {}): Promise<RunRecord[]> {
    const limit = options.limit ?? 20;
    const offset = options.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1) throw new UserError(`Invalid limit: expected an integer ≥ 1, received ${limit}`);
    if (!Number.isInteger(offset) || offset < 0) throw new UserError(`Invalid offset: expected an integer ≥ 0, received ${offset}`);
    let ids: string[];
    try {
      ids = await this.redis.zrevrange(this.keys.runs, offset, offset + limit - 1);
    } catch (error) {
      throw keyError(error, this.keys.runs);
    }
    return (await this.getMany(ids)).filter((r): r is RunRecord => r !== undefined);
  }

  /**
   * Move the run to `status`. The first status other than queued sets startedAt, the first
   * embedding sets embeddingStartedAt, completed/failed set finishedAt; any other status
   * reopens the run (finishedAt and error cleared), e.g. to retry its failures. heldBack is
   * cleared by any status change that does not set it again.
   */
  async setStatus(id: string, status: RunStatus, extra: StatusExtra = {}): Promise<RunRecord> {
    const k = this.keys.run(this.checkId(id));
    const next = parseInput(statusSchema, status, 'run status');
    const details = parseInput(statusExtraSchema, extra, 'run status details');
    await this.requireRun(id);
    const now = new Date().toISOString();
    const fields: Record<string, string> = { status: next, updatedAt: now };
    if (details.error !== undefined) fields.error = details.error;
    if (details.heldBack !== undefined) fields.heldBack = details.heldBack;
    if (details.modelId !== undefined) fields.modelId = details.modelId;
    if (details.collection !== undefined) fields.collection = details.collection;

    const m = this.redis.multi().hset(k.run, fields);
    const keys = [k.run];
    if (next !== 'queued') {
      m.hsetnx(k.run, 'startedAt', now);
      keys.push(k.run);
    }
    if (next === 'embedding') {
      m.hsetnx(k.run, 'embeddingStartedAt', now);
      keys.push(k.run);
    }
    if (TERMINAL_STATUSES.has(next)) {
      m.hsetnx(k.run, 'finishedAt', now).srem(this.keys.activeRuns, id);
    } else {
      m.hdel(k.run, 'finishedAt').sadd(this.keys.activeRuns, id);
    }
    keys.push(k.run, this.keys.activeRuns);
    if (next !== 'failed' && details.error === undefined) {
      m.hdel(k.run, 'error');
      keys.push(k.run);
    }
    if (details.heldBack === undefined) {
      m.hdel(k.run, 'heldBack');
      keys.push(k.run);
    }
    await execAll(m, keys);
    return this.mustGet(id);
  }

  async setTotal(id: string, total: number): Promise<void> {
    const k = this.keys.run(this.checkId(id));
    if (!Number.isSafeInteger(total) || total < 0) {
      throw new UserError(`Invalid run total: expected an integer ≥ 0, received ${total}`);
    }
    await this.requireRun(id);
    await execAll(this.redis.multi().hset(k.run, { total: String(total), updatedAt: new Date().toISOString() }), [k.run]);
  }

  /** Record keys processed successfully (idempotent); clears their failures. */
  async markDone(id: string, keys: readonly string[]): Promise<RunCounts> {
    const k = this.keys.run(this.checkId(id));
    checkItemKeys(keys);
    await this.requireRun(id);
    const m = this.redis.multi();
    const names: string[] = [];
    if (keys.length > 0) {
      m.sadd(k.done, ...keys).hdel(k.failed, ...keys).hset(k.run, 'updatedAt', new Date().toISOString());
      names.push(k.done, k.failed, k.run);
    }
    m.scard(k.done).hlen(k.failed);
    names.push(k.done, k.failed);
    const replies = await execAll(m, names);
    return { done: asNumber(replies.at(-2)), failed: asNumber(replies.at(-1)) };
  }

  /**
   * Record failed keys (idempotent: a key fails once however often it is reported; the
   * latest reason/message wins). Keys already done are left alone.
   */
  async markFailed(id: string, failures: readonly NewItemFailure[]): Promise<RunCounts> {
    const k = this.keys.run(this.checkId(id));
    const at = new Date().toISOString();
    const args: string[] = [at];
    failures.forEach((failure, i) => {
      const f = parseInput(itemFailureInputSchema, failure, `failure #${i}`);
      args.push(f.key, JSON.stringify({ reason: f.reason, message: f.message, at }));
    });
    let reply: unknown;
    try {
      reply = await this.redis.eval(MARK_FAILED, 3, k.run, k.done, k.failed, ...args);
    } catch (error) {
      throw keyError(error, `${k.run} (or its :done/:failed keys)`);
    }
    if (reply === -1) throw new RunNotFoundError(id);
    const [done, failed] = (Array.isArray(reply) ? reply : []) as unknown[];
    return { done: asNumber(done), failed: asNumber(failed) };
  }

  /** One page of the run's failures, oldest first (then by key). */
  async failures(id: string, options: { offset?: number; limit?: number } = {}): Promise<{ total: number; items: ItemFailure[] }> {
    const k = this.keys.run(this.checkId(id));
    const offset = options.offset ?? 0;
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 0) throw new UserError(`Invalid limit: expected an integer ≥ 0, received ${limit}`);
    if (!Number.isInteger(offset) || offset < 0) throw new UserError(`Invalid offset: expected an integer ≥ 0, received ${offset}`);
    let hash: Record<string, string>;
    try {
      hash = await this.redis.hgetall(k.failed);
    } catch (error) {
      throw keyError(error, k.failed);
    }
    const items = Object.entries(hash).map(([key, json]): ItemFailure => {
      let value: unknown;
      try {
        value = JSON.parse(json);
      } catch {
        value = json;
      }
      const stored = parseStored(storedFailureSchema, value, `${k.failed} field ${JSON.stringify(key)}`, 'item failure');
      return { key, ...stored };
    });
    items.sort((a, b) => (a.at === b.at ? compare(a.key, b.key) : compare(a.at, b.at)));
    return { total: items.length, items: items.slice(offset, offset + limit) };
  }

  /** The recorded failure of each of `keys` (undefined where the key has not failed), in order. */
  async failuresOf(id: string, keys: readonly string[]): Promise<Array<NewItemFailure | undefined>> {
    const k = this.keys.run(this.checkId(id));
    if (keys.length === 0) return [];
    let values: Array<string | null>;
    try {
      values = await this.redis.hmget(k.failed, ...keys);
    } catch (error) {
      throw keyError(error, k.failed);
    }
    return values.map((json, i) => {
      if (json === null) return undefined;
      const key = keys[i] as string;
      let value: unknown;
      try {
        value = JSON.parse(json);
      } catch {
        value = json;
      }
      const { reason, message } = parseStored(storedFailureSchema, value, `${k.failed} field ${JSON.stringify(key)}`, 'item failure');
      return { key, reason, message };
    });
  }

  /** Keys of every failed item, sorted (what "retry failed" re-enqueues). */
  async failedKeys(id: string): Promise<string[]> {
    const k = this.keys.run(this.checkId(id));
    try {
      return (await this.redis.hkeys(k.failed)).sort();
    } catch (error) {
      throw keyError(error, k.failed);
    }
  }

  /** Forget failures (before retrying them); returns how many were removed. */
  async clearFailures(id: string, keys: readonly string[]): Promise<number> {
    const k = this.keys.run(this.checkId(id));
    checkItemKeys(keys);
    if (keys.length === 0) return 0;
    try {
      return await this.redis.hdel(k.failed, ...keys);
    } catch (error) {
      throw keyError(error, k.failed);
    }
  }

  /** The run with counts, throughput and ETA; RunNotFoundError when it does not exist. */
  async progress(id: string): Promise<RunRecord> {
    return withMetrics(await this.mustGet(id));
  }

  /**
   * Poll until the run is completed or failed; resolves its final record. A poll that
   * fails because Redis is unreachable (restarting, a network blip) is not the end: the
   * connection reconnects by itself and polling goes on until the deadline (whoever owns
   * the connection reports the outage, e.g. a RedisWatch).
   */
  async waitFor(id: string, options: WaitOptions = {}): Promise<RunRecord> {
    const timeoutMs = options.timeoutMs ?? 30 * 60_000;
    const pollMs = options.pollMs ?? 1_000;
    const deadline = Date.now() + timeoutMs;
    let last: RunRecord | undefined;
    for (;;) {
      let run: RunRecord | undefined;
      try {
        run = await this.progress(id);
      } catch (error) {
        if (!isRedisConnectionError(error)) throw error;
        if (Date.now() >= deadline) {
          if (last) throw new RunWaitTimeoutError(last, timeoutMs);
          throw error;
        }
      }
      if (run) {
        last = run;
        options.onProgress?.(run);
        if (TERMINAL_STATUSES.has(run.status)) return run;
      }
      const left = deadline - Date.now();
      // Past the deadline without any record read: one more poll answers or throws.
      if (left <= 0 && last) throw new RunWaitTimeoutError(last, timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(pollMs, left))));
    }
  }

  /** Remove the run and everything it owns; true when it existed. */
  async delete(id: string): Promise<boolean> {
    const k = this.keys.run(this.checkId(id));
    const [deleted] = await execAll(
      this.redis.multi().del(k.run).del(k.done, k.failed).zrem(this.keys.runs, id).srem(this.keys.activeRuns, id),
      [k.run, k.done, this.keys.runs, this.keys.activeRuns],
    );
    return deleted === 1;
  }

  // ---- dataset registry ----------------------------------------------------------------

  setDataset(input: NewDataset): Promise<DatasetRecord> {
    return this.datasets.set(input);
  }

  getDataset(name: string): Promise<DatasetRecord | undefined> {
    return this.datasets.get(name);
  }

  listDatasets(): Promise<DatasetRecord[]> {
    return this.datasets.list();
  }

  deleteDataset(name: string): Promise<boolean> {
    return this.datasets.delete(name);
  }

  // ---- internals -----------------------------------------------------------------------

  private checkId(id: string): string {
    return parseInput(runIdSchema, id, 'run id');
  }

  private async requireRun(id: string): Promise<void> {
    const key = this.keys.run(id).run;
    let exists: number;
    try {
      exists = await this.redis.exists(key);
    } catch (error) {
      throw keyError(error, key);
    }
    if (exists === 0) throw new RunNotFoundError(id);
  }

  private async mustGet(id: string): Promise<RunRecord> {
    const run = await this.get(id);
    if (!run) throw new RunNotFoundError(id);
    return run;
  }

  /** Records of these ids (undefined where missing), each read atomically with its counts. */
  private async getMany(ids: readonly string[]): Promise<Array<RunRecord | undefined>> {
    if (ids.length === 0) return [];
    const m = this.redis.multi();
    const names: string[] = [];
    for (const id of ids) {
      const k = this.keys.run(id);
      m.hgetall(k.run).scard(k.done).hlen(k.failed);
      names.push(k.run, k.done, k.failed);
    }
    const replies = await execAll(m, names);
    return ids.map((id, i) => {
      const key = names[i * 3] as string;
      const hash = asStringRecord(replies[i * 3]);
      if (Object.keys(hash).length === 0) return undefined;
      const parsed = parseStored(runHashSchema, hash, key, 'run record');
      if (parsed.id !== id) {
        throw new CorruptRecordError(key, `Redis key "${key}" holds the record of run "${parsed.id}", not "${id}"`);
      }
      return toRecord(parsed, asNumber(replies[i * 3 + 1]), asNumber(replies[i * 3 + 2]));
    });
  }
}

function toRecord(hash: RunHash, done: number, failed: number): RunRecord {
  return { ...hash, done, failed };
}

function checkItemKeys(keys: readonly string[]): void {
  keys.forEach((key, i) => {
    if (typeof key !== 'string' || key.length === 0) {
      throw new UserError(`Invalid item key #${i}: expected a non-empty string, received ${JSON.stringify(key)}`);
    }
  });
}

function newestFirst(a: RunRecord, b: RunRecord): number {
  return a.createdAt === b.createdAt ? compare(b.id, a.id) : compare(b.createdAt, a.createdAt);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
