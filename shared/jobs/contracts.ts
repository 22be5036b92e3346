// Job contracts: the queue of each stage and the zod schema of its payload, in one typed
// map (JobName → payload). Payloads read from Redis are `unknown` until parsed here:
// old jobs may still sit in a queue after an upgrade, and a malformed one must fail
// permanently with the offending field named.
import { z } from 'zod';
import { taskSpecSchema } from '../tasks/schema.js';
import type { Stage } from './stages.js';

export { DUPLICATE_STAGES, isStage, RUN_STAGES, STAGES, type RunStage, type Stage } from './stages.js';

const datasetName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected 1–63 lowercase letters, digits, - or _, starting with a letter or digit');
const runId = z.string().regex(/^[a-z0-9-]{6,64}$/, 'expected a run id');
const modelId = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'expected a model id');
const sourceUri = z.string().regex(/^(s3|file):\/\/.+/, 'expected s3://bucket/prefix or file:///path');
const objectRef = z.object({ key: z.string().min(1), etag: z.string() });
const passId = z.string().regex(/^[a-z0-9-]{6,64}$/, 'expected a duplicates pass id');
/** A cosine threshold or a share of the images: above 0, at most 1. */
const unitShare = z.number().gt(0).max(1);

export const payloadSchemas = {
  ingest: z.object({
    runId,
    dataset: datasetName,
    source: sourceUri,
    mode: z.enum(['all', 'missing']),
    /** Use this model; absent = train one first. */
    modelId: modelId.optional(),
    /** What the model to train learns (absent: reconstruct); only without modelId. */
    task: taskSpecSchema.optional(),
  }),
  train: z.object({
    runId,
    dataset: datasetName,
    source: sourceUri,
    mode: z.enum(['all', 'missing']),
    /** Keys (with versions) of the seeded sample to train on. */
    sample: z.array(objectRef).min(2),
    /** What the model learns (absent: reconstruct, the embedding autoencoder). */
    task: taskSpecSchema.optional(),
  }),
  embed: z.object({
    runId,
    dataset: datasetName,
    source: sourceUri,
    modelId,
    batch: z.number().int().min(0),
    /** '' for a run's first fan-out, a tag for each retry (keeps job ids and snapshots apart). */
    attempt: z.string().regex(/^[a-z0-9]*$/).default(''),
    objects: z.array(objectRef).min(1),
  }),
  index: z.object({
    runId,
    dataset: datasetName,
    modelId,
    collection: z.string().min(1),
    batch: z.number().int().min(0),
    attempt: z.string().regex(/^[a-z0-9]*$/).default(''),
    /** The batch's keys: marked failed if the embed job gave up. */
    keys: z.array(z.string().min(1)).min(1),
  }),
  /** After every index job of a fan-out: judge the build, make it live, complete the run. */
  publish: z.object({
    runId,
    dataset: datasetName,
    modelId,
    collection: z.string().min(1),
    attempt: z.string().regex(/^[a-z0-9]*$/).default(''),
  }),
  /** After publish, for a live collection: the cluster map (the run is searchable already). */
  cluster: z.object({
    runId,
    dataset: datasetName,
    modelId,
    collection: z.string().min(1),
    attempt: z.string().regex(/^[a-z0-9]*$/).default(''),
    /** Set by publish. Absent: a job queued by an older imgsim, whose cluster stage also published. */
    published: z.boolean().default(false),
  }),
  /**
   * A dataset's duplicates pass (pipelines/distributed/duplicates-*.ts). step plan: list the
   * live collection, fan out fingerprint batches of what is new or changed (mode missing)
   * or of everything (mode all) under the pairs step; step pairs: the candidate pairs, cut
   * into chunks fanned out as verify jobs under the merge step, which stores the report.
   */
  duplicates: z.discriminatedUnion('step', [
    z.object({
      step: z.literal('plan'),
      passId,
      dataset: datasetName,
      mode: z.enum(['all', 'missing']),
      /** The learned tier's cosine threshold as asked (absent: the default), or the share of images it should flag. */
      cosine: unitShare.optional(),
      fraction: unitShare.optional(),
    }),
    z.object({
      step: z.literal('pairs'),
      passId,
      dataset: datasetName,
      mode: z.enum(['all', 'missing']),
      /** The live collection when the pass was planned (learned-tier candidates). */
      collection: z.string().min(1),
      modelId,
    }),
    /** One chunk of the pass's candidate pairs: verify them, store the pairs found (duplicates-verify.ts). */
    z.object({ step: z.literal('verify'), passId, dataset: datasetName, chunk: z.number().int().min(0) }),
    /** After every verify job: the report from the chunks' pairs, then the ledger (the commit). */
    z.object({ step: z.literal('merge'), passId, dataset: datasetName, mode: z.enum(['all', 'missing']), modelId }),
  ]),
  /** One batch of a duplicates pass: fingerprint these images into one file of the artefact store. */
  fingerprint: z.object({
    passId,
    dataset: datasetName,
    source: sourceUri,
    batch: z.number().int().min(0),
    objects: z.array(objectRef).min(1),
  }),
} satisfies Record<Stage, z.ZodType>;

export type JobPayloads = { [S in Stage]: z.infer<(typeof payloadSchemas)[S]> };
export type JobPayload<S extends Stage> = JobPayloads[S];

export class InvalidPayloadError extends Error {
  override readonly name = 'InvalidPayloadError';
}

/** Parse a payload read from a queue; the error names every invalid field. */
export function parsePayload<S extends Stage>(stage: S, data: unknown): JobPayload<S> {
  const parsed = payloadSchemas[stage].safeParse(data);
  if (parsed.success) return parsed.data as JobPayload<S>;
  const problems = parsed.error.issues.map((i) => {
    const field = i.path.length > 0 ? i.path.join('.') : '(payload)';
    return `${field}: ${i.message}`;
  });
  throw new InvalidPayloadError(`Invalid ${stage} job payload: ${problems.join('; ')}`);
}

export const datasetNameSchema = datasetName;
