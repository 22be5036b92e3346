// The run store on Redis: one object for callers, composed of parts with one job each
// (every key in keys.ts):
//   run-records.ts   run records: create, read, list, status, total, delete
//   item-ledger.ts   a run's done and failed items (idempotent counts, failure pages)
//   enqueue-lock.ts  the lock that makes createOrJoin one run between racing enqueues
//   wait.ts          polling a run until it finishes
//   datasets.ts      the dataset registry
import type { Redis } from 'ioredis';
import { DatasetRegistry } from './datasets.js';
import { withEnqueueLock } from './enqueue-lock.js';
import { ItemLedger } from './item-ledger.js';
import { StoreKeys } from './keys.js';
import { withMetrics } from './metrics.js';
import { RunRecords } from './run-records.js';
import { newRunSchema, parseInput } from './schema.js';
import type {
  MapState,
  DatasetRecord,
  ItemFailure,
  NewDataset,
  NewItemFailure,
  NewRun,
  RunCounts,
  RunRecord,
  RunStatus,
  StatusExtra,
  WaitOptions,
} from './types.js';
import { waitForRun } from './wait.js';

export class RunStore {
  private readonly keys: StoreKeys;
  private readonly records: RunRecords;
  private readonly items: ItemLedger;
  private readonly datasets: DatasetRegistry;

  /** `prefix`: letters, digits, - or _ (a UserError otherwise). */
  constructor(
    private readonly redis: Redis,
    prefix = 'imgsim',
  ) {
    this.keys = new StoreKeys(prefix);
    this.records = new RunRecords(redis, this.keys);
    this.items = new ItemLedger(redis, this.keys, this.records);
    this.datasets = new DatasetRegistry(redis, this.keys);
  }

  // ---- runs ----------------------------------------------------------------------------

  create(input: NewRun): Promise<RunRecord> {
    return this.records.create(input);
  }

  /**
   * The active run doing this work, or a new one: check and create happen under a
   * short Redis lock per (dataset, source, mode, model), so enqueues racing from several
   * processes create one run between them and the others join it.
   */
  async createOrJoin(input: NewRun): Promise<{ run: RunRecord; created: boolean }> {
    const p = parseInput(newRunSchema, input, 'run');
    const lock = this.keys.enqueueLock(JSON.stringify([p.dataset, p.source, p.mode, p.modelId ?? '', p.task ?? '']));
    return withEnqueueLock(this.redis, lock, async () => {
      const active = await this.records.findActive(p.dataset, p.source, p.mode, p.modelId, p.task);
      if (active) return { run: active, created: false };
      return { run: await this.records.create(p), created: true };
    });
  }

  /**
   * The newest run with these parameters that is neither completed nor failed, so a
   * re-enqueue joins it instead of starting a duplicate (createOrJoin does both atomically).
   */
  findActive(dataset: string, source: string, mode: NewRun['mode'], modelId?: string, task?: string): Promise<RunRecord | undefined> {
    return this.records.findActive(dataset, source, mode, modelId, task);
  }

  /** The run with its done/failed counts (no throughput; see progress), or undefined. */
  get(id: string): Promise<RunRecord | undefined> {
    return this.records.get(id);
  }

  /** Newest first. */
  list(options: { limit?: number; offset?: number } = {}): Promise<RunRecord[]> {
    return this.records.list(options);
  }

  /**
   * Move the run to `status`. The first status other than queued sets startedAt, the first
   * embedding sets embeddingStartedAt, completed/failed set finishedAt; any other status
   * reopens the run (finishedAt and error cleared), e.g. to retry its failures. heldBack is
   * cleared by any status change that does not set it again.
   */
  setStatus(id: string, status: RunStatus, extra: StatusExtra = {}): Promise<RunRecord> {
    return this.records.setStatus(id, status, extra);
  }

  /** Record the state of the run's cluster map (the follow-up cluster job); the run's status is not touched. */
  setMap(id: string, state: Omit<MapState, 'updatedAt'>): Promise<void> {
    return this.records.setMap(id, state);
  }

  setTotal(id: string, total: number): Promise<void> {
    return this.records.setTotal(id, total);
  }

  /** Remove the run and everything it owns; true when it existed. */
  delete(id: string): Promise<boolean> {
    return this.records.delete(id);
  }

  /** The run with counts, throughput and ETA; RunNotFoundError when it does not exist. */
  async progress(id: string): Promise<RunRecord> {
    return withMetrics(await this.records.mustGet(id));
  }

  /**
   * Poll until the run is completed or failed; resolves its final record. Polls that fail
   * because Redis is unreachable are retried until the deadline (wait.ts).
   */
  waitFor(id: string, options: WaitOptions = {}): Promise<RunRecord> {
    return waitForRun(() => this.progress(id), options);
  }

  // ---- a run's items -------------------------------------------------------------------

  /** Record keys processed successfully (idempotent); clears their failures. */
  markDone(id: string, keys: readonly string[]): Promise<RunCounts> {
    return this.items.markDone(id, keys);
  }

  /**
   * Record failed keys (idempotent: a key fails once however often it is reported; the
   * latest reason/message wins). Keys already done are left alone.
   */
  markFailed(id: string, failures: readonly NewItemFailure[]): Promise<RunCounts> {
    return this.items.markFailed(id, failures);
  }

  /** One page of the run's failures, oldest first (then by key). */
  failures(id: string, options: { offset?: number; limit?: number } = {}): Promise<{ total: number; items: ItemFailure[] }> {
    return this.items.failures(id, options);
  }

  /** The recorded failure of each of `keys` (undefined where the key has not failed), in order. */
  failuresOf(id: string, keys: readonly string[]): Promise<Array<NewItemFailure | undefined>> {
    return this.items.failuresOf(id, keys);
  }

  /** Keys of every failed item, sorted (what "retry failed" re-enqueues). */
  failedKeys(id: string): Promise<string[]> {
    return this.items.failedKeys(id);
  }

  /** Forget failures (before retrying them); returns how many were removed. */
  clearFailures(id: string, keys: readonly string[]): Promise<number> {
    return this.items.clearFailures(id, keys);
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
}
