// The collections a dataset has served, most recently live first: entry 0 is the live
// one, the next ones are kept for `imgsim dataset rollback`. Stored in Redis next to the
// dataset registry (key layout in keys.ts):
//
//   <prefix>:dataset:<name>:history      LIST  collection names, most recently live first
//   <prefix>:dataset:<name>:collections  HASH  collection → JSON HistoryEntry
//
// Every change is one Lua script (atomic, no WATCH on a shared connection).
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { StoreKeys } from './keys.js';
import { CorruptRecordError } from './schema.js';

export const historyEntrySchema = z.object({
  collection: z.string().min(1),
  modelId: z.string().min(1),
  /** The run that built it ('' for a collection adopted from before history was kept). */
  runId: z.string(),
  /** When that run was created (ISO 8601): orders builds, so an older build never replaces a newer one. */
  builtAt: z.string(),
  /** When it last became live (ISO 8601). */
  activatedAt: z.string(),
});

export type HistoryEntry = z.infer<typeof historyEntrySchema>;

// KEYS[1] list, KEYS[2] hash; ARGV[1] collection, ARGV[2] entry JSON, ARGV[3] keep (≥ 1).
// Moves (or inserts) the collection to the front, drops the entries beyond `keep` and
// returns the dropped collection names.
const ACTIVATE = `
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local keep = tonumber(ARGV[3])
local dropped = redis.call('LRANGE', KEYS[1], keep, -1)
redis.call('LTRIM', KEYS[1], 0, keep - 1)
for _, c in ipairs(dropped) do redis.call('HDEL', KEYS[2], c) end
return dropped
`;

export class CollectionHistory {
  private readonly storeKeys: StoreKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.storeKeys = new StoreKeys(prefix);
  }

  private keys(dataset: string): { list: string; entries: string } {
    return { list: this.storeKeys.datasetHistory(dataset), entries: this.storeKeys.datasetCollections(dataset) };
  }

  /** Most recently live first. */
  async entries(dataset: string): Promise<HistoryEntry[]> {
    const k = this.keys(dataset);
    const names = await this.redis.lrange(k.list, 0, -1);
    if (names.length === 0) return [];
    const values = await this.redis.hmget(k.entries, ...names);
    const out: HistoryEntry[] = [];
    names.forEach((name, i) => {
      const raw = values[i];
      if (raw === null || raw === undefined) return; // written half by hand: skip
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        json = undefined;
      }
      const parsed = historyEntrySchema.safeParse(json);
      if (!parsed.success) {
        throw new CorruptRecordError(k.entries, `Redis key "${k.entries}" field "${name}" is not a collection history entry; it was written by something else under this key prefix`);
      }
      out.push(parsed.data);
    });
    return out;
  }

  /**
   * Make `entry` the live one (moved or inserted at the front) and forget the entries
   * beyond `keep`; returns the collections forgotten (the caller deletes them).
   */
  async activate(dataset: string, entry: HistoryEntry, keep: number): Promise<string[]> {
    if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be an integer ≥ 1, got ${keep}`);
    const k = this.keys(dataset);
    const parsed = historyEntrySchema.parse(entry);
    const dropped = (await this.redis.eval(ACTIVATE, 2, k.list, k.entries, parsed.collection, JSON.stringify(parsed), String(keep))) as string[];
    return dropped;
  }

  /** Forget one collection (it no longer exists). */
  async remove(dataset: string, collection: string): Promise<void> {
    const k = this.keys(dataset);
    await this.redis.multi().lrem(k.list, 0, collection).hdel(k.entries, collection).exec();
  }
}
