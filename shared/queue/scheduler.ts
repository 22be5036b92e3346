// The JobScheduler on BullMQ: one queue per stage, deterministic job ids (re-adding the
// same work is a no-op), retries by the retry policy (retry-policy.ts), and the fan-out
// as a flow:
//   publish ← index(batch i) ← embed(batch i)   for every batch i
// and the cluster map as a plain job that the publish handler adds once the build is live.
// Children carry ignoreDependencyOnFailure: a child that fails for good does not leave
// its parent in waiting-children forever; the parent runs and records what is missing
// (index marks an unembedded batch failed; publish holds an incomplete build back).
import { FlowProducer, Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { STAGES, type JobPayload, type Stage } from '../jobs/contracts.js';
import type { FanOut, JobScheduler } from '../jobs/scheduler.js';
import { DEFAULT_RETRY_POLICY, jobOptions, type RetryPolicy } from './retry-policy.js';

export class BullScheduler implements JobScheduler {
  readonly queues: Record<Stage, Queue>;
  private readonly flow: FlowProducer;
  private readonly jobOptions: JobsOptions;

  constructor(
    connection: Redis,
    private readonly prefix: string,
    retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {
    this.jobOptions = jobOptions(retry);
    this.queues = Object.fromEntries(
      STAGES.map((s) => [s, new Queue(s, { connection, prefix, defaultJobOptions: this.jobOptions })]),
    ) as Record<Stage, Queue>;
    this.flow = new FlowProducer({ connection, prefix });
  }

  async ingest(payload: JobPayload<'ingest'>): Promise<void> {
    await this.queues.ingest.add('ingest', payload, { jobId: `${payload.runId}-ingest` });
  }

  async train(payload: JobPayload<'train'>): Promise<void> {
    await this.queues.train.add('train', payload, { jobId: `${payload.runId}-train` });
  }

  async fanOut(plan: FanOut): Promise<void> {
    const id = jobIdOf(plan.runId, plan.attempt);
    const child: JobsOptions = { ...this.jobOptions, ignoreDependencyOnFailure: true };
    await this.flow.add({
      name: 'publish',
      queueName: 'publish',
      prefix: this.prefix,
      data: { runId: plan.runId, dataset: plan.dataset, modelId: plan.modelId, collection: plan.collection, attempt: plan.attempt } satisfies JobPayload<'publish'>,
      opts: { ...this.jobOptions, jobId: `${id}-publish` },
      children: plan.batches.map((objects, batch) => ({
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
        opts: { ...child, jobId: `${id}-index-${batch}` },
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
      })),
    });
  }

  async cluster(payload: JobPayload<'cluster'>): Promise<void> {
    await this.queues.cluster.add('cluster', payload, { jobId: `${jobIdOf(payload.runId, payload.attempt)}-cluster` });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...Object.values(this.queues).map((q) => q.close()), this.flow.close()]);
  }
}

/** A run's job ids: the run id, and a retry's attempt tag after it. */
function jobIdOf(runId: string, attempt: string): string {
  return `${runId}${attempt ? `-${attempt}` : ''}`;
}
