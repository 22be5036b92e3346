// Dataset registry: one hash per dataset (source, model, collection, alias) and a set
// of names. The ingest pipeline writes it when a build goes live; the CLI lists it.
import type { Redis } from 'ioredis';
import type { StoreKeys } from './keys.js';
import { asStringRecord, execAll, keyError } from './redis-util.js';
import { datasetHashSchema, datasetNameSchema, newDatasetSchema, parseInput, parseStored } from './schema.js';
import type { DatasetRecord, NewDataset } from './types.js';

export class DatasetRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StoreKeys,
  ) {}

  async set(input: NewDataset): Promise<DatasetRecord> {
    const parsed = parseInput(newDatasetSchema, input, 'dataset');
    const record: DatasetRecord = { ...parsed, updatedAt: new Date().toISOString() };
    const key = this.keys.dataset(record.name);
    await execAll(
      this.redis.multi().hset(key, { ...record }).sadd(this.keys.datasets, record.name),
      [key, this.keys.datasets],
    );
    return record;
  }

  async get(name: string): Promise<DatasetRecord | undefined> {
    const key = this.keys.dataset(parseInput(datasetNameSchema, name, 'dataset name'));
    let hash: Record<string, string>;
    try {
      hash = await this.redis.hgetall(key);
    } catch (error) {
      throw keyError(error, key);
    }
    return Object.keys(hash).length === 0 ? undefined : parseStored(datasetHashSchema, hash, key, 'dataset record');
  }

  /** Every registered dataset, by name. */
  async list(): Promise<DatasetRecord[]> {
    let names: string[];
    try {
      names = (await this.redis.smembers(this.keys.datasets)).sort();
    } catch (error) {
      throw keyError(error, this.keys.datasets);
    }
    if (names.length === 0) return [];
    const keys = names.map((name) => this.keys.dataset(name));
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hgetall(key);
    const hashes = (await execAll(pipeline, keys)).map(asStringRecord);
    const records: DatasetRecord[] = [];
    hashes.forEach((hash, i) => {
      const key = keys[i] as string;
      // A name without its hash (deleted by hand) is skipped, not an error.
      if (Object.keys(hash).length > 0) records.push(parseStored(datasetHashSchema, hash, key, 'dataset record'));
    });
    return records;
  }

  /** Forget a dataset; true when it was registered. */
  async delete(name: string): Promise<boolean> {
    const key = this.keys.dataset(parseInput(datasetNameSchema, name, 'dataset name'));
    const [deleted] = await execAll(this.redis.multi().del(key).srem(this.keys.datasets, name), [key, this.keys.datasets]);
    return deleted === 1;
  }
}
