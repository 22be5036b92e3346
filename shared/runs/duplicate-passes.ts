// The duplicates pass of each dataset: its status and counts in one Redis hash beside the
// dataset registry (key layout in keys.ts), so the API, the CLI and every worker see how
// far it is. One pass per dataset at a time: enqueueing while one is active joins it.
//
//   <prefix>:dataset:<name>:duplicates   HASH  the latest pass: passId, mode, status, counts…
//
// The report itself (pairs, groups' evidence) lives in the artefact store
// (pipelines/distributed/duplicates-store.ts); this is only its progress. Every change of
// a pass is guarded by its id (one Lua script): a late job of an older pass never writes
// over a newer one.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { learnedFields, type LearnedThreshold } from '../duplicates/tiers.js';
import { withEnqueueLock } from './enqueue-lock.js';
import { StoreKeys } from './keys.js';
import { keyError } from './redis-util.js';
import { CorruptRecordError, datasetNameSchema, parseInput } from './schema.js';

export const PASS_STATUSES = ['queued', 'planning', 'fingerprinting', 'pairing', 'completed', 'failed'] as const;
export type PassStatus = (typeof PASS_STATUSES)[number];
export const PASS_MODES = ['missing', 'all'] as const;
/** What a pass in status pairing is doing: finding candidates, verifying them (jobs), merging the results. */
export const PASS_PHASES = ['candidates', 'verifying', 'merging'] as const;
export type PassPhase = (typeof PASS_PHASES)[number];
export type PassMode = (typeof PASS_MODES)[number];

const count = z
  .string()
  .regex(/^\d+$/)
  .transform((s) => Number(s));
const share = z
  .string()
  .transform((s) => Number(s))
  .pipe(z.number().gt(0).max(1));

const passHashSchema = z.object({
  passId: z.string().min(1),
  dataset: z.string().min(1),
  mode: z.enum(PASS_MODES),
  status: z.enum(PASS_STATUSES),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The learned tier's threshold as asked (absent: the default): a cosine, or the share of images it flags (docs/duplicates.md). */
  cosine: share.optional(),
  fraction: share.optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** Images of the live collection when the pass was planned. */
  images: count.optional(),
  /** Images the pass fingerprints (all, or the new and changed ones). */
  toFingerprint: count.optional(),
  fingerprinted: count.optional(),
  /** Images that could not be fingerprinted (their own bytes, or a batch that gave up). */
  failed: count.optional(),
  /** When completed: pairs (every tier) and groups at the default weakest tier. */
  pairs: count.optional(),
  groups: count.optional(),
  /** While pairing: its phase; candidate pairs to verify, in `chunks` verify jobs, `verified` of them done. */
  phase: z.enum(PASS_PHASES).optional(),
  candidatePairs: count.optional(),
  chunks: count.optional(),
  verified: count.optional(),
  error: z.string().optional(),
});

export type DuplicatePass = z.infer<typeof passHashSchema>;

/** Fields a step of the pass sets (numbers and strings as stored). */
export type PassUpdate = Partial<Pick<DuplicatePass, 'status' | 'startedAt' | 'finishedAt' | 'images' | 'toFingerprint' | 'fingerprinted' | 'failed' | 'pairs' | 'groups' | 'phase' | 'candidatePairs' | 'chunks' | 'verified' | 'error'>>;

export const TERMINAL_PASS_STATUSES: ReadonlySet<PassStatus> = new Set<PassStatus>(['completed', 'failed']);

// KEYS[1] the pass hash; ARGV[1] pass id; then field, value pairs. Sets them only while the
// hash still holds that pass; 1 when set.
const UPDATE = `
if redis.call('HGET', KEYS[1], 'passId') ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`;
// Same guard; ARGV[2] the job's member, ARGV[3] updatedAt; then field, increment pairs.
// Counts a batch (or verify chunk) once: a retried job (its first attempt counted, then lost
// its lock or failed after) adds nothing again — the drill of a Redis restart showed
// 3064/3000 fingerprinted while pairing. KEYS[2]: the pass's set of counted jobs.
const INCREMENT = `
if redis.call('HGET', KEYS[1], 'passId') ~= ARGV[1] then return 0 end
if redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 1 end
redis.call('EXPIRE', KEYS[2], 2592000)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3])
for i = 4, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`;

/** A new pass id: time in base 36 + 6 random hex digits (as run ids). */
export function newPassId(nowMs: number = Date.now()): string {
  return `${nowMs.toString(36)}-${randomBytes(3).toString('hex')}`;
}

export class DuplicatePasses {
  private readonly keys: StoreKeys;

  constructor(
    private readonly redis: Redis,
    prefix = 'imgsim',
  ) {
    this.keys = new StoreKeys(prefix);
  }

  /** The dataset's latest pass, or undefined when none was ever enqueued. */
  async get(dataset: string): Promise<DuplicatePass | undefined> {
    const key = this.keys.datasetDuplicates(parseInput(datasetNameSchema, dataset, 'dataset name'));
    let hash: Record<string, string>;
    try {
      hash = await this.redis.hgetall(key);
    } catch (error) {
      throw keyError(error, key);
    }
    if (Object.keys(hash).length === 0) return undefined;
    const parsed = passHashSchema.safeParse(hash);
    if (!parsed.success) throw new CorruptRecordError(key, `Redis key "${key}" does not hold a duplicates pass: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data;
  }

  /**
   * The active pass of the dataset (joined, whatever its mode and threshold: the caller
   * checks), or a new one in status queued: check and create under a short lock, so racing
   * enqueues make one pass.
   */
  async createOrJoin(dataset: string, mode: PassMode, learned: LearnedThreshold = {}): Promise<{ pass: DuplicatePass; created: boolean }> {
    const name = parseInput(datasetNameSchema, dataset, 'dataset name');
    return withEnqueueLock(this.redis, this.keys.enqueueLock(`duplicates:${name}`), async () => {
      const current = await this.get(name);
      if (current && !TERMINAL_PASS_STATUSES.has(current.status)) return { pass: current, created: false };
      const now = new Date().toISOString();
      const pass: DuplicatePass = { passId: newPassId(), dataset: name, mode, status: 'queued', createdAt: now, updatedAt: now, ...learnedFields(learned) };
      const key = this.keys.datasetDuplicates(name);
      await this.redis.multi().del(key).hset(key, { ...pass }).exec();
      return { pass, created: true };
    });
  }

  /** Sets fields of the pass `passId`; false when the dataset has moved on to another pass. */
  async update(dataset: string, passId: string, fields: PassUpdate): Promise<boolean> {
    const args = Object.entries({ ...fields, updatedAt: new Date().toISOString() })
      .filter(([, v]) => v !== undefined)
      .flatMap(([k, v]) => [k, String(v)]);
    return (await this.redis.eval(UPDATE, 1, this.keys.datasetDuplicates(dataset), passId, ...args)) === 1;
  }

  /** Adds one fingerprint batch's counts to the pass, once per batch however often its job runs; false when `passId` is not the dataset's pass. */
  async addCounts(dataset: string, passId: string, batch: number, counts: { fingerprinted: number; failed: number }): Promise<boolean> {
    const key = this.keys.datasetDuplicates(dataset);
    return (await this.redis.eval(INCREMENT, 2, key, `${key}:counted:${passId}`, passId, String(batch), new Date().toISOString(), 'fingerprinted', counts.fingerprinted, 'failed', counts.failed)) === 1;
  }

  /** Counts one verify chunk done, once however often its job runs; false when `passId` is not the dataset's pass. */
  async addVerified(dataset: string, passId: string, chunk: number): Promise<boolean> {
    const key = this.keys.datasetDuplicates(dataset);
    return (await this.redis.eval(INCREMENT, 2, key, `${key}:counted:${passId}`, passId, `verify-${chunk}`, new Date().toISOString(), 'verified', 1)) === 1;
  }
}
