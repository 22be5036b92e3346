// A run's items: the keys processed successfully and the keys that failed, with why
// (key layout in keys.ts).
//
// Counts are idempotent under at-least-once delivery: done keys are a SET and failures
// a HASH (key → JSON), so done = SCARD and failed = HLEN and a redelivered batch counts
// once. Marking a key done removes its failure (a retry succeeded); a failure reported
// for a key already done is ignored (a late duplicate of an attempt that later
// succeeded), so a key is never both done and failed.
import type { Redis } from 'ioredis';
import { UserError } from '../errors.js';
import type { StoreKeys } from './keys.js';
import { asNumber, execAll, keyError } from './redis-util.js';
import { checkRunId, compareStrings, RunNotFoundError, type RunRecords } from './run-records.js';
import { itemFailureInputSchema, parseInput, parseStored, storedFailureSchema } from './schema.js';
import type { ItemFailure, NewItemFailure, RunCounts } from './types.js';

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

export class ItemLedger {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StoreKeys,
    private readonly records: RunRecords,
  ) {}

  /** Record keys processed successfully (idempotent); clears their failures. */
  async markDone(id: string, keys: readonly string[]): Promise<RunCounts> {
    const k = this.keys.run(checkRunId(id));
    checkItemKeys(keys);
    await this.records.require(id);
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
    const k = this.keys.run(checkRunId(id));
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
    const k = this.keys.run(checkRunId(id));
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
    const items = Object.entries(hash).map(([key, json]): ItemFailure => ({ key, ...this.parseFailure(k.failed, key, json) }));
    items.sort((a, b) => (a.at === b.at ? compareStrings(a.key, b.key) : compareStrings(a.at, b.at)));
    return { total: items.length, items: items.slice(offset, offset + limit) };
  }

  /** The recorded failure of each of `keys` (undefined where the key has not failed), in order. */
  async failuresOf(id: string, keys: readonly string[]): Promise<Array<NewItemFailure | undefined>> {
    const k = this.keys.run(checkRunId(id));
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
      const { reason, message } = this.parseFailure(k.failed, key, json);
      return { key, reason, message };
    });
  }

  /** Keys of every failed item, sorted (what "retry failed" re-enqueues). */
  async failedKeys(id: string): Promise<string[]> {
    const k = this.keys.run(checkRunId(id));
    try {
      return (await this.redis.hkeys(k.failed)).sort();
    } catch (error) {
      throw keyError(error, k.failed);
    }
  }

  /** Forget failures (before retrying them); returns how many were removed. */
  async clearFailures(id: string, keys: readonly string[]): Promise<number> {
    const k = this.keys.run(checkRunId(id));
    checkItemKeys(keys);
    if (keys.length === 0) return 0;
    try {
      return await this.redis.hdel(k.failed, ...keys);
    } catch (error) {
      throw keyError(error, k.failed);
    }
  }

  /** One stored failure (JSON that does not parse is reported with its key and field). */
  private parseFailure(hashKey: string, key: string, json: string): Omit<ItemFailure, 'key'> {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      value = json;
    }
    return parseStored(storedFailureSchema, value, `${hashKey} field ${JSON.stringify(key)}`, 'item failure');
  }
}

function checkItemKeys(keys: readonly string[]): void {
  keys.forEach((key, i) => {
    if (typeof key !== 'string' || key.length === 0) {
      throw new UserError(`Invalid item key #${i}: expected a non-empty string, received ${JSON.stringify(key)}`);
    }
  });
}
