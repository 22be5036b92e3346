// Run records: each run's hash (its fields and status), the runs by creation time and the
// set of active runs (key layout in keys.ts). A record is read in one MULTI with its
// done/failed counts (item-ledger.ts writes those).
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { UserError } from '../errors.js';
import type { StoreKeys } from './keys.js';
import { asNumber, asStringRecord, execAll, keyError } from './redis-util.js';
import {
  CorruptRecordError,
  newRunSchema,
  parseInput,
  parseStored,
  runHashSchema,
  mapStateSchema,
  runIdSchema,
  type RunHash,
  statusExtraSchema,
  statusSchema,
} from './schema.js';
import { TERMINAL_STATUSES, type MapState, type NewRun, type RunRecord, type RunStatus, type StatusExtra } from './types.js';

/** The run does not exist (never created, or deleted). */
export class RunNotFoundError extends UserError {
  override readonly name: string = 'RunNotFoundError';
  constructor(readonly runId: string) {
    super(`Run "${runId}" not found`);
  }
}

/** A new run id: time in base 36 (sorts by creation until 2059) + 6 random hex digits. */
export function newRunId(nowMs: number = Date.now()): string {
  return `${nowMs.toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The id, checked (a UserError naming it otherwise). */
export function checkRunId(id: string): string {
  return parseInput(runIdSchema, id, 'run id');
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class RunRecords {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StoreKeys,
  ) {}

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

  /** The newest run with these parameters that is neither completed nor failed. */
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

  async get(id: string): Promise<RunRecord | undefined> {
    const [run] = await this.getMany([checkRunId(id)]);
    return run;
  }

  /** The record; RunNotFoundError when it does not exist. */
  async mustGet(id: string): Promise<RunRecord> {
    const run = await this.get(id);
    if (!run) throw new RunNotFoundError(id);
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

  /** See RunStore.setStatus. */
  async setStatus(id: string, status: RunStatus, extra: StatusExtra = {}): Promise<RunRecord> {
    const k = this.keys.run(checkRunId(id));
    const next = parseInput(statusSchema, status, 'run status');
    const details = parseInput(statusExtraSchema, extra, 'run status details');
    await this.require(id);
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

  /** See RunStore.setMap. */
  async setMap(id: string, state: Omit<MapState, 'updatedAt'>): Promise<void> {
    const k = this.keys.run(checkRunId(id));
    const parsed = parseInput(mapStateSchema, { ...state, updatedAt: new Date().toISOString() }, 'map state');
    await this.require(id);
    await execAll(this.redis.multi().hset(k.run, { map: JSON.stringify(parsed) }), [k.run]);
  }

  async setTotal(id: string, total: number): Promise<void> {
    const k = this.keys.run(checkRunId(id));
    if (!Number.isSafeInteger(total) || total < 0) {
      throw new UserError(`Invalid run total: expected an integer ≥ 0, received ${total}`);
    }
    await this.require(id);
    await execAll(this.redis.multi().hset(k.run, { total: String(total), updatedAt: new Date().toISOString() }), [k.run]);
  }

  /** Remove the run and everything it owns; true when it existed. */
  async delete(id: string): Promise<boolean> {
    const k = this.keys.run(checkRunId(id));
    const [deleted] = await execAll(
      this.redis.multi().del(k.run).del(k.done, k.failed).zrem(this.keys.runs, id).srem(this.keys.activeRuns, id),
      [k.run, k.done, this.keys.runs, this.keys.activeRuns],
    );
    return deleted === 1;
  }

  /** RunNotFoundError unless the run exists (`id` already checked). */
  async require(id: string): Promise<void> {
    const key = this.keys.run(id).run;
    let exists: number;
    try {
      exists = await this.redis.exists(key);
    } catch (error) {
      throw keyError(error, key);
    }
    if (exists === 0) throw new RunNotFoundError(id);
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

function newestFirst(a: RunRecord, b: RunRecord): number {
  return a.createdAt === b.createdAt ? compareStrings(b.id, a.id) : compareStrings(b.createdAt, a.createdAt);
}
