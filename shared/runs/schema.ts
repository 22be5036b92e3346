// zod schemas of what the run store accepts from callers and reads back from Redis.
// Callers get a UserError naming the field, the expected and the received value;
// a record in Redis that does not parse (corrupted, or written by something else under
// our prefix) gets an error naming its key.
import { z } from 'zod';
import { UserError } from '../errors.js';
import { MAP_STATUSES, RUN_MODES, RUN_STATUSES } from './types.js';

// Same rules as the job contracts (shared/jobs/contracts.ts).
export const runIdSchema = z.string().regex(/^[a-z0-9-]{6,64}$/, 'expected a run id (6–64 lowercase letters, digits or -)');
export const datasetNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected 1–63 lowercase letters, digits, - or _, starting with a letter or digit');
export const modelIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'expected a model id (1–128 letters, digits, ., _ or -)');
export const sourceUriSchema = z.string().regex(/^(s3|file):\/\/.+/, 'expected s3://bucket/prefix or file:///path');
const nonEmpty = z.string().min(1, 'expected a non-empty string');

export const newRunSchema = z.object({
  dataset: datasetNameSchema,
  source: sourceUriSchema,
  mode: z.enum(RUN_MODES),
  modelId: modelIdSchema.optional(),
  task: nonEmpty.optional(),
});

export const statusSchema = z.enum(RUN_STATUSES);

export const statusExtraSchema = z.object({
  error: z.string().optional(),
  heldBack: z.string().optional(),
  modelId: modelIdSchema.optional(),
  collection: nonEmpty.optional(),
});

export const itemFailureInputSchema = z.object({
  key: nonEmpty,
  reason: nonEmpty,
  message: z.string(),
});

export const newDatasetSchema = z.object({
  name: datasetNameSchema,
  source: sourceUriSchema,
  modelId: modelIdSchema,
  collection: nonEmpty,
  alias: nonEmpty,
});

const isoTimestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'expected an ISO 8601 UTC timestamp');
const countString = z
  .string()
  .regex(/^\d+$/, 'expected a non-negative integer')
  .transform((s) => Number(s));

export const mapStateSchema = z.object({
  status: z.enum(MAP_STATUSES),
  phase: z.string().optional(),
  done: z.number().int().min(0).optional(),
  total: z.number().int().min(0).optional(),
  k: z.number().int().min(1).optional(),
  points: z.number().int().min(0).optional(),
  error: z.string().optional(),
  updatedAt: z.string(),
});

/** A JSON-encoded field of a hash, parsed with `schema`. */
function jsonField<S extends z.ZodType>(schema: S) {
  return z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

/** The run hash as stored: every value a string; counts live in other keys. */
export const runHashSchema = z.object({
  id: runIdSchema,
  dataset: nonEmpty,
  source: nonEmpty,
  mode: z.enum(RUN_MODES),
  modelId: nonEmpty.optional(),
  task: nonEmpty.optional(),
  collection: nonEmpty.optional(),
  status: statusSchema,
  total: countString,
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp,
  startedAt: isoTimestamp.optional(),
  finishedAt: isoTimestamp.optional(),
  embeddingStartedAt: isoTimestamp.optional(),
  error: z.string().optional(),
  heldBack: z.string().optional(),
  map: jsonField(mapStateSchema).optional(),
});
export type RunHash = z.infer<typeof runHashSchema>;

export const storedFailureSchema = z.object({
  reason: z.string(),
  message: z.string(),
  at: isoTimestamp,
});

export const datasetHashSchema = z.object({
  name: nonEmpty,
  source: nonEmpty,
  modelId: nonEmpty,
  collection: nonEmpty,
  alias: nonEmpty,
  updatedAt: isoTimestamp,
});

/** Validate caller input; a UserError names `what`, the field, expected and received. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new UserError(`Invalid ${what}: ${describeIssues(result.error, value)}`);
  return result.data;
}

/** Parse something read back from Redis; a failure names the key it came from. */
export function parseStored<S extends z.ZodType>(schema: S, value: unknown, key: string, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new CorruptRecordError(
      key,
      `Redis key "${key}" does not hold a valid ${what} (${describeIssues(result.error, value)}); it is corrupted or was written by something else under this key prefix`,
    );
  }
  return result.data;
}

/** A record in Redis that is not what the run store writes. */
export class CorruptRecordError extends UserError {
  override readonly name: string = 'CorruptRecordError';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

function describeIssues(error: z.ZodError, input: unknown): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(value)';
      return `${field}: ${issue.message}, received ${received(valueAt(input, issue.path))}`;
    })
    .join('; ');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function received(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? `a ${typeof value}`;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
