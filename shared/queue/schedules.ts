// Scheduled re-indexing on BullMQ job schedulers: one scheduler per schedule on the
// 'schedule' queue, upserted by name (`upsertJobScheduler` is idempotent: adding the same
// name again updates it, and there is always exactly one scheduler and one pending
// delayed job per name however often processes restart). When a scheduled job fires, the
// schedule worker (run inside every ingest worker process) hands its payload to a
// handler, which enqueues a normal run (pipelines/distributed/schedules.ts), or — a
// schedule of job "duplicates" — a duplicates pass of the dataset.
import { getNextMillis, Queue, UnrecoverableError, Worker, type Job, type JobSchedulerJson } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { errorMessage, UserError } from '../errors.js';
import { datasetNameSchema } from '../jobs/contracts.js';
import type { Logger } from '../logger.js';
import { queueErrorListener } from './connection.js';

export const SCHEDULE_QUEUE = 'schedule';
export const SCHEDULED_JOB_NAME = 'scheduled-run';

export const scheduleNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1–64 letters, digits, ., _ or -, starting with a letter or digit');

/** What a scheduled job carries: the run to enqueue. */
export const scheduledRunSchema = z.object({
  schedule: scheduleNameSchema,
  dataset: datasetNameSchema,
  source: z.string().regex(/^(s3|file):\/\/.+/, 'expected s3://bucket/prefix or file:///path'),
  mode: z.enum(['all', 'missing']),
  /** Absent on every run schedule (only a duplicates schedule names its job). */
  job: z.literal('run').optional(),
  /** Absent: `missing` uses the dataset's current model, `all` trains a new one. */
  modelId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, 'expected a model id')
    .optional(),
});

export type ScheduledRun = z.infer<typeof scheduledRunSchema>;

/** What a scheduled duplicates pass carries (no source: the pass reads the dataset's live collection). */
export const scheduledDuplicatesSchema = z.object({
  schedule: scheduleNameSchema,
  job: z.literal('duplicates'),
  dataset: datasetNameSchema,
  /** missing: images new or changed since the last pass; all: every image. */
  mode: z.enum(['all', 'missing']),
});

/** (source and modelId are a run's: absent, so that either kind reads the same way.) */
export type ScheduledDuplicates = z.infer<typeof scheduledDuplicatesSchema> & { source?: never; modelId?: never };

/** A schedule's job: a run (payloads without `job`, as every schedule stored before duplicates passes) or a duplicates pass. */
export const scheduledJobSchema = z.union([scheduledDuplicatesSchema, scheduledRunSchema]);
export type ScheduledJob = ScheduledRun | ScheduledDuplicates;

export type ScheduleSpec = ScheduledJob & {
  /** Cron pattern: 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first. */
  cron: string;
  /** IANA time zone of the pattern (default: the server's, UTC in the images). */
  tz?: string;
};

export type ScheduleInfo = ScheduleSpec & {
  /** When it fires next (ISO 8601). */
  next?: string;
  /** How many times it has fired. */
  iterations: number;
};

/** Validate a cron pattern (and time zone) as BullMQ will read it; the next fire time. */
export function parseCron(cron: string, tz?: string): Date {
  const fields = cron.trim().split(/\s+/).filter(Boolean);
  const alias = /^@[a-z]+$/.test(cron.trim());
  if (!alias && (fields.length < 5 || fields.length > 6)) {
    throw new UserError(
      `--cron: received "${cron}"; expected 5 fields "minute hour day-of-month month day-of-week" (e.g. "0 3 * * *" = 03:00 every day), or 6 with seconds first`,
    );
  }
  if (tz !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
    } catch {
      throw new UserError(`--tz: received "${tz}"; expected an IANA time zone such as Europe/Paris or UTC`);
    }
  }
  // BullMQ's own next-time function (cron-parser underneath): what the scheduler will compute.
  let next: number | undefined;
  try {
    next = getNextMillis(Date.now(), { pattern: cron.trim(), ...(tz ? { tz } : {}) });
  } catch (error) {
    throw new UserError(`--cron: received "${cron}"${tz ? ` (tz ${tz})` : ''}; ${errorMessage(error)}`);
  }
  if (next === undefined) throw new UserError(`--cron: received "${cron}"; the pattern never fires`);
  return new Date(next);
}

function parseSpec(spec: ScheduleSpec): ScheduleSpec {
  const name = scheduleNameSchema.safeParse(spec.schedule);
  if (!name.success) throw new UserError(`schedule name: received "${spec.schedule}"; ${name.error.issues[0]?.message ?? 'invalid'}`);
  const run = spec.job === 'duplicates' ? scheduledDuplicatesSchema.safeParse(spec) : scheduledRunSchema.safeParse(spec);
  if (!run.success) {
    const issue = run.error.issues[0];
    const field = issue?.path.join('.') ?? '(schedule)';
    const flag = field === 'modelId' ? '--model' : `--${field}`;
    throw new UserError(`${flag}: received ${JSON.stringify((spec as unknown as Record<string, unknown>)[field])}; ${issue?.message ?? 'invalid'}`);
  }
  parseCron(spec.cron, spec.tz);
  return { ...run.data, cron: spec.cron.trim(), ...(spec.tz ? { tz: spec.tz } : {}) };
}

/**
 * How often a schedule has fired, from BullMQ's iterationCount: that counts the jobs the
 * scheduler has *created*, and upsertJobScheduler creates the first (delayed) one at once
 * (count 1 before anything fired); each firing creates the next (+1). So the pending job
 * is one more than the firings.
 */
export function firedCount(iterationCount: number | undefined): number {
  return Math.max(0, (iterationCount ?? 0) - 1);
}

function toInfo(s: JobSchedulerJson<unknown>): ScheduleInfo | undefined {
  const data = scheduledJobSchema.safeParse(s.template?.data);
  if (!data.success || !s.pattern) return undefined;
  return {
    ...data.data,
    cron: s.pattern,
    ...(s.tz ? { tz: s.tz } : {}),
    ...(s.next !== undefined ? { next: new Date(s.next).toISOString() } : {}),
    iterations: firedCount(s.iterationCount),
  };
}

/** The schedules, on the 'schedule' queue. */
export class Schedules {
  readonly queue: Queue;

  constructor(connection: Redis, prefix: string) {
    this.queue = new Queue(SCHEDULE_QUEUE, { connection, prefix });
  }

  /** Create or update the schedule `spec.schedule` (idempotent). */
  async upsert(spec: ScheduleSpec): Promise<ScheduleInfo> {
    const s = parseSpec(spec);
    const data: ScheduledJob =
      s.job === 'duplicates'
        ? { schedule: s.schedule, job: 'duplicates', dataset: s.dataset, mode: s.mode }
        : {
            schedule: s.schedule,
            dataset: s.dataset,
            source: s.source,
            mode: s.mode,
            ...(s.modelId ? { modelId: s.modelId } : {}),
          };
    await this.queue.upsertJobScheduler(
      s.schedule,
      { pattern: s.cron, ...(s.tz ? { tz: s.tz } : {}) },
      {
        name: SCHEDULED_JOB_NAME,
        data,
        opts: {
          attempts: 3,
          backoff: { type: 'exponential', delay: 5_000 },
          removeOnComplete: { count: 100 },
          removeOnFail: { count: 500 },
        },
      },
    );
    const info = await this.get(s.schedule);
    if (!info) throw new Error(`schedule "${s.schedule}" was not stored`);
    return info;
  }

  async get(name: string): Promise<ScheduleInfo | undefined> {
    const s = await this.queue.getJobScheduler(name);
    return s ? toInfo(s) : undefined;
  }

  /** Every schedule, by name. */
  async list(): Promise<ScheduleInfo[]> {
    const all = await this.queue.getJobSchedulers(0, -1, true);
    return all
      .map((s) => toInfo(s))
      .filter((s): s is ScheduleInfo => s !== undefined)
      .sort((a, b) => (a.schedule < b.schedule ? -1 : a.schedule > b.schedule ? 1 : 0));
  }

  /** Remove a schedule and its pending job; false when there was none. */
  async remove(name: string): Promise<boolean> {
    return this.queue.removeJobScheduler(name);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export type ScheduledRunHandler = (run: ScheduledJob, job: Job) => Promise<unknown>;

/**
 * The worker of the 'schedule' queue: parses the payload and calls the handler. A payload
 * that does not parse, or a UserError (e.g. the dataset has no model yet for a `missing`
 * schedule), fails the job at once; other errors are retried.
 */
export function startScheduleWorker(handler: ScheduledRunHandler, o: { connection: Redis; prefix: string; logger: Logger }): Worker {
  const worker = new Worker(
    SCHEDULE_QUEUE,
    async (job: Job) => {
      const parsed = scheduledJobSchema.safeParse(job.data);
      if (!parsed.success) {
        throw new UnrecoverableError(`Invalid scheduled-run payload: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ')}`);
      }
      try {
        return await handler(parsed.data, job);
      } catch (error) {
        if (error instanceof UserError) throw new UnrecoverableError(errorMessage(error));
        throw error;
      }
    },
    { connection: o.connection, prefix: o.prefix, concurrency: 1, autorun: true },
  );
  worker.on('completed', (job, result) => o.logger.info({ schedule: job.repeatJobKey, jobId: job.id, result }, 'scheduled run enqueued'));
  worker.on('failed', (job, error) => o.logger.warn({ schedule: job?.repeatJobKey, jobId: job?.id, err: error.message }, 'scheduled run failed'));
  worker.on('error', queueErrorListener(o.logger, { queue: SCHEDULE_QUEUE }, 'schedule worker error'));
  return worker;
}
