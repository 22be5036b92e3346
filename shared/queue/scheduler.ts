// The JobScheduler on BullMQ: one queue per stage, deterministic job ids (re-adding the
// same work is a no-op), retries by the retry policy (retry-policy.ts), and the fan-out
// as a flow:
//   publish ← index(batch i) ← embed(batch i)   for every batch i
// and the cluster map as a plain job that the publish handler adds once the build is live.
// A duplicates pass fans out the same way twice: duplicates(pairs) ← fingerprint(batch i),
// then duplicates(merge) ← duplicates(verify chunk i).
// A fan-out of a million images is 31k jobs: it is added in chunks, never as one flow
// held in memory. BullMQ cannot add children to a flow atomically later
// (taskforcesh/bullmq#599), so publish is added first with a gate child that no worker
// takes, the batches are added as its children chunk by chunk, and the gate is lifted
// last: publish cannot run before every batch is in. A fan-out cut short (its worker
// killed) is completed by the job's retry: same ids, so what was added is not added twice.
// Children carry ignoreDependencyOnFailure: a child that fails for good does not leave
// its parent in waiting-children forever; the parent runs and records what is missing
// (index marks an unembedded batch failed; publish holds an incomplete build back).
import { FlowProducer, Queue, type FlowJob, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { STAGES, type JobPayload, type Stage } from '../jobs/contracts.js';
import type { DuplicatesScheduler, FanOut, FingerprintFanOut, JobScheduler, ObjectRef, VerifyFanOut } from '../jobs/scheduler.js';
import { DEFAULT_RETRY_POLICY, jobOptions, type RetryPolicy } from './retry-policy.js';

/** A queue no worker takes jobs from: each fan-out's gate waits there until it is lifted. */
export const FAN_OUT_GATE_QUEUE = 'fan-out-gate';
/** Children (index ← embed flows, fingerprint jobs) added per Redis call while fanning out. */
const FAN_OUT_CHUNK = 64;

export class BullScheduler implements JobScheduler, DuplicatesScheduler {
  readonly queues: Record<Stage, Queue>;
  private readonly gates: Queue;
  private readonly flow: FlowProducer;
  private readonly jobOptions: JobsOptions;

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {
    this.jobOptions = jobOptions(retry);
    this.queues = Object.fromEntries(
      STAGES.map((s) => [s, new Queue(s, { connection, prefix, defaultJobOptions: this.jobOptions })]),
    ) as Record<Stage, Queue>;
    this.gates = new Queue(FAN_OUT_GATE_QUEUE, { connection, prefix });
    this.flow = new FlowProducer({ connection, prefix });
  }

  /** Every queue this scheduler holds a connection for (the stages' and the fan-out gates'): for 'error' listeners. */
  get allQueues(): Record<string, Queue> {
    return { ...this.queues, [FAN_OUT_GATE_QUEUE]: this.gates };
  }

  async ingest(payload: JobPayload<'ingest'>): Promise<void> {
    await this.queues.ingest.add('ingest', payload, { jobId: `${payload.runId}-ingest` });
  }

  async train(payload: JobPayload<'train'>): Promise<void> {
    await this.queues.train.add('train', payload, { jobId: `${payload.runId}-train` });
  }

  async fanOut(plan: FanOut): Promise<void> {
    const id = jobIdOf(plan.runId, plan.attempt);
    await this.gatedFanOut({
      parent: {
        name: 'publish',
        queueName: 'publish',
        data: { runId: plan.runId, dataset: plan.dataset, modelId: plan.modelId, collection: plan.collection, attempt: plan.attempt } satisfies JobPayload<'publish'>,
        jobId: `${id}-publish`,
      },
      gate: { jobId: `${id}-gate`, data: { runId: plan.runId, attempt: plan.attempt } },
      items: plan.batches,
      child: (objects, b, parent) => ({ queue: 'index', jobId: `${id}-index-${b}`, flow: this.batchFlow(plan, id, b, objects, parent) }),
    });
  }

  async duplicates(payload: Extract<JobPayload<'duplicates'>, { step: 'plan' }>): Promise<void> {
    await this.queues.duplicates.add('duplicates', payload, { jobId: `dup-${payload.passId}-plan` });
  }

  async fingerprintFanOut(plan: FingerprintFanOut): Promise<void> {
    const id = `dup-${plan.passId}`;
    await this.gatedFanOut({
      parent: { name: 'duplicates', queueName: 'duplicates', data: plan.pairs, jobId: `${id}-pairs` },
      gate: { jobId: `${id}-gate`, data: { passId: plan.passId } },
      items: plan.batches,
      child: (objects, batch, parent) => ({
        queue: 'fingerprint',
        jobId: `${id}-fp-${batch}`,
        flow: {
          name: 'fingerprint',
          queueName: 'fingerprint',
          prefix: this.prefix,
          data: { passId: plan.passId, dataset: plan.dataset, source: plan.source, batch, objects } satisfies JobPayload<'fingerprint'>,
          opts: { ...this.jobOptions, ignoreDependencyOnFailure: true, jobId: `${id}-fp-${batch}`, parent },
        },
      }),
    });
  }

  async verifyFanOut(plan: VerifyFanOut): Promise<void> {
    const id = `dup-${plan.passId}`;
    await this.gatedFanOut({
      parent: { name: 'duplicates', queueName: 'duplicates', data: plan.merge, jobId: `${id}-merge` },
      gate: { jobId: `${id}-verify-gate`, data: { passId: plan.passId } },
      items: chunksOf(plan.chunks),
      child: (chunk, n, parent) => ({
        queue: 'duplicates',
        jobId: `${id}-verify-${n}`,
        flow: {
          name: 'duplicates',
          queueName: 'duplicates',
          prefix: this.prefix,
          data: { step: 'verify', passId: plan.passId, dataset: plan.dataset, chunk } satisfies JobPayload<'duplicates'>,
          opts: { ...this.jobOptions, ignoreDependencyOnFailure: true, jobId: `${id}-verify-${n}`, parent },
        },
      }),
    });
  }

  /**
   * A parent job held back by a gate child (in the fan-out-gate queue, which no worker
   * takes from), its children added chunk by chunk, then the gate lifted: the parent runs
   * once every child has finished, never before the last one is in. Called again with the
   * same ids it completes a fan-out cut short (children already added are left alone) and
   * is a no-op after a complete one.
   */
  private async gatedFanOut<T>(o: {
    parent: { name: string; queueName: Stage; data: object; jobId: string };
    gate: { jobId: string; data: object };
    items: AsyncIterable<T>;
    child: (item: T, n: number, parent: { id: string; queue: string }) => { queue: Stage; jobId: string; flow: FlowJob };
  }): Promise<void> {
    const parentQueue = this.queues[o.parent.queueName];
    const existing = await parentQueue.getJob(o.parent.jobId);
    if (existing && !(await this.gates.getJob(o.gate.jobId))) return; // this fan-out was completed before
    if (!existing) {
      await this.flow.add({
        name: o.parent.name,
        queueName: o.parent.queueName,
        prefix: this.prefix,
        data: o.parent.data,
        opts: { ...this.jobOptions, jobId: o.parent.jobId },
        children: [{ name: 'gate', queueName: FAN_OUT_GATE_QUEUE, prefix: this.prefix, data: o.gate.data, opts: { jobId: o.gate.jobId } }],
      });
    }
    const parent = { id: o.parent.jobId, queue: `${this.prefix}:${o.parent.queueName}` };
    // Resuming a fan-out cut short: children already added are left alone. Re-adding one
    // whose job failed for good would put it back among the parent's dependencies
    // (BullMQ re-links an existing child that is not completed), and the parent would wait forever.
    const resuming = existing !== undefined;
    let chunk: Array<{ queue: Stage; jobId: string; flow: FlowJob }> = [];
    const flush = async (): Promise<void> => {
      const fresh = resuming ? await this.notYetAdded(chunk) : chunk;
      if (fresh.length > 0) await this.flow.addBulk(fresh.map((c) => c.flow));
      chunk = [];
    };
    let n = 0;
    for await (const item of o.items) {
      chunk.push(o.child(item, n++, parent));
      if (chunk.length >= FAN_OUT_CHUNK) await flush();
    }
    await flush();
    // Every child is in: lift the gate (removing it takes it out of the parent's dependencies
    // and, when they are all done, moves the parent to wait, in one Lua script); the parent
    // runs once the children above have finished.
    await (await this.gates.getJob(o.gate.jobId))?.remove();
  }

  /** The children of `chunk` whose job does not exist yet (one round trip). */
  private async notYetAdded<T extends { queue: Stage; jobId: string }>(chunk: readonly T[]): Promise<T[]> {
    if (chunk.length === 0) return [];
    const pipeline = this.connection.pipeline();
    for (const c of chunk) pipeline.exists(this.queues[c.queue].toKey(c.jobId));
    const replies = (await pipeline.exec()) ?? [];
    return chunk.filter((_, i) => {
      const [error, exists] = replies[i] ?? [new Error('no reply'), 0];
      if (error) throw error;
      return exists === 0;
    });
  }

  /** index(batch) ← embed(batch), a child of the fan-out's publish job. */
  private batchFlow(plan: FanOut, id: string, batch: number, objects: ObjectRef[], parent: { id: string; queue: string }): FlowJob {
    const child: JobsOptions = { ...this.jobOptions, ignoreDependencyOnFailure: true };
    return {
      name: 'index',
      queueName: 'index',
      prefix: this.prefix,
      data: {
        runId: plan.runId,
        dataset: plan.dataset,
        modelId: plan.modelId,
        collection: plan.collection,
        batch,
        attempt: plan.attempt,
        keys: objects.map((o) => o.key),
      } satisfies JobPayload<'index'>,
      opts: { ...child, jobId: `${id}-index-${batch}`, parent },
      children: [
        {
          name: 'embed',
          queueName: 'embed',
          prefix: this.prefix,
          data: {
            runId: plan.runId,
            dataset: plan.dataset,
            source: plan.source,
            modelId: plan.modelId,
            batch,
            attempt: plan.attempt,
            objects,
          } satisfies JobPayload<'embed'>,
          opts: { ...child, jobId: `${id}-embed-${batch}` },
        },
      ],
    };
  }

  async cluster(payload: JobPayload<'cluster'>): Promise<void> {
    await this.queues.cluster.add('cluster', payload, { jobId: `${jobIdOf(payload.runId, payload.attempt)}-cluster` });
  }

  /**
   * Whether any worker process takes jobs from a stage's queue (BullMQ names its
   * connections; Redis CLIENT LIST): undefined when the server refuses CLIENT LIST (some
   * managed Redis services do).
   */
  async hasWorkers(stage: Stage): Promise<boolean | undefined> {
    try {
      return (await this.queues[stage].getWorkersCount()) > 0;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...Object.values(this.queues).map((q) => q.close()), this.gates.close(), this.flow.close()]);
  }
}

// eslint-disable-next-line @typescript-eslint/require-await -- an async iterable of numbers
async function* chunksOf(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/** A run's job ids: the run id, and a retry's attempt tag after it. */
function jobIdOf(runId: string, attempt: string): string {
  return `${runId}${attempt ? `-${attempt}` : ''}`;
}
