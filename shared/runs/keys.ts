// Every Redis key the project builds, in one place. <prefix> is the configured
// queuePrefix (IMGSIM_QUEUE_PREFIX, default "imgsim").
//
// The run store (store.ts and its helpers):
//   <prefix>:run:<id>                     HASH   the run's fields (RunRecord without counts)
//   <prefix>:run:<id>:done                SET    keys processed successfully
//   <prefix>:run:<id>:failed              HASH   key → JSON {reason, message, at}
//   <prefix>:runs                         ZSET   run ids scored by createdAt (ms)
//   <prefix>:runs:active                  SET    ids of runs not completed/failed (for findActive)
//   <prefix>:lock:enqueue:<p>             STRING short-lived lock around createOrJoin (p = the run's parameters)
// The dataset registry (datasets.ts):
//   <prefix>:dataset:<name>               HASH   the dataset's registry entry
//   <prefix>:datasets                     SET    dataset names
// The collection history (history.ts):
//   <prefix>:dataset:<name>:history       LIST   collection names, most recently live first
//   <prefix>:dataset:<name>:collections   HASH   collection → JSON HistoryEntry
// The dataset's duplicates pass (duplicate-passes.ts):
//   <prefix>:dataset:<name>:duplicates    HASH   the latest pass: id, mode, status, counts
//   <prefix>:lock:enqueue:duplicates:<name> STRING short-lived lock around creating a pass
//
// Not built here: BullMQ's own keys. Each queue (the stages ingest, train, embed, index,
// publish, cluster, fingerprint, duplicates, and the schedule queue) lives under
// <prefix>:<queue>:… (wait, active, delayed, job hashes, job schedulers, events…), laid out by BullMQ from the same prefix
// (shared/queue). None of the first segments above is a queue name, so the two never meet.
import { UserError } from '../errors.js';

export interface RunKeys {
  run: string;
  done: string;
  failed: string;
}

export class StoreKeys {
  constructor(readonly prefix: string) {
    if (!/^[A-Za-z0-9_-]+$/.test(prefix)) {
      throw new UserError(`Invalid Redis key prefix: expected letters, digits, - or _, received ${JSON.stringify(prefix)}`);
    }
  }

  run(id: string): RunKeys {
    const run = `${this.prefix}:run:${id}`;
    return { run, done: `${run}:done`, failed: `${run}:failed` };
  }

  get runs(): string {
    return `${this.prefix}:runs`;
  }

  get activeRuns(): string {
    return `${this.prefix}:runs:active`;
  }

  enqueueLock(params: string): string {
    return `${this.prefix}:lock:enqueue:${params}`;
  }

  dataset(name: string): string {
    return `${this.prefix}:dataset:${name}`;
  }

  get datasets(): string {
    return `${this.prefix}:datasets`;
  }

  /** The dataset's collections, most recently live first (a LIST). */
  datasetHistory(name: string): string {
    return `${this.dataset(name)}:history`;
  }

  /** The dataset's collection history entries (a HASH: collection → JSON). */
  datasetCollections(name: string): string {
    return `${this.dataset(name)}:collections`;
  }

  /** The dataset's latest duplicates pass (a HASH). */
  datasetDuplicates(name: string): string {
    return `${this.dataset(name)}:duplicates`;
  }
}
