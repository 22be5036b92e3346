// What a dataset's duplicates passes keep in the artefact store (naming.ts artifactKeys):
//
//   datasets/<name>/duplicates/fingerprints/<passId>-<n>.bin  one fingerprint batch
//       (shared/duplicates/fingerprint-file.ts: ~45 KB an image at 1,000 keypoints),
//       written by a fingerprint job;
//   datasets/<name>/duplicates/fingerprints/ledger.json  which file holds each image's
//       current fingerprint (key + ETag) and where its record lies there (byte offset and
//       length: a verify job reads just those bytes), and the images that could not be
//       fingerprinted;
//       written last by the pairs step (the commit of a pass);
//   datasets/<name>/duplicates/passes/<passId>.json  the plan of a pass: its batches, the
//       images changed or gone since the ledger; written by the plan step before any
//       fingerprint job can finish, removed when the pass commits;
//   datasets/<name>/duplicates/passes/<passId>/  the pairs step's state (candidates.json),
//       the verify chunks (verify-<n>.json) and their pairs (pairs-<n>.json); removed when
//       the pass commits;
//   datasets/<name>/duplicates/report.json  the pairs (every tier, before dismissals)
//       with their evidence and the members' sizes: what GET …/duplicates groups and pages;
//   datasets/<name>/duplicates/dismissed-duplicates.json  pairs marked "not a duplicate".
//
// Key lists live in JSON (ledger, plan, candidates state): ~100 bytes an image, what the
// pairs step holds besides 80 bytes of hashes an image (duplicates-pairs.ts).
import { z } from 'zod';
import { UserError } from '../../shared/errors.js';
import { TIERS } from '../../shared/duplicates/tiers.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import type { Storage } from '../../shared/storage/types.js';

/** The longest gap of an event loop (shared/loop-watch.ts LoopBlock). */
const loopBlock = z.object({ ms: z.number(), cpuMs: z.number(), during: z.string() });

const failure = z.object({ key: z.string(), etag: z.string(), reason: z.string(), message: z.string() });
const objectRef = z.object({ key: z.string(), etag: z.string() });
/** A fingerprint record's [byte offset, length] in its file. */
const recordSpan = z.tuple([z.number().int().min(0), z.number().int().min(1)]);

export const ledgerSchema = z.object({
  version: z.literal(1),
  /** The pass that wrote it. */
  passId: z.string(),
  /** The Qdrant collection of the images' visual words and hashes (duplicates-words.ts); absent in ledgers written before it existed. */
  words: z.string().optional(),
  /** The fingerprint settings every file was made with (another setting: every image again). */
  workingSize: z.number().int(),
  nfeatures: z.number().int(),
  files: z.array(
    z.object({
      file: z.string(),
      /** Records in the file, live or not. */
      count: z.number().int().min(0),
      /** The keys (with ETags) whose current fingerprint this file holds. */
      keys: z.array(z.string()),
      etags: z.array(z.string()),
      /**
       * Where each key's record lies in the file: [byte offset, length] (fingerprint-file.ts
       * RecordSpan), so a verify job reads only its records. Absent in ledgers written before
       * it existed: such a file is read whole until a pass rewrites it.
       */
      records: z.array(recordSpan).optional(),
    }),
  ),
  /** Images that could not be fingerprinted at this ETag (their own bytes): not tried again until they change. */
  failed: z.array(failure),
});
export type Ledger = z.infer<typeof ledgerSchema>;

export const planSchema = z.object({
  version: z.literal(1),
  passId: z.string(),
  /** Every image fingerprinted again (mode all, no ledger, or other fingerprint settings). */
  fingerprintAll: z.boolean(),
  /** Every pair looked for again (fingerprintAll, no report, other thresholds, or a fraction). */
  compareAll: z.boolean(),
  /** The learned tier's cosine threshold as asked (absent: the default), or the share of images it should flag (the pairs step chooses the cosine). */
  cosine: z.number().optional(),
  fraction: z.number().optional(),
  collection: z.string(),
  modelId: z.string(),
  /** Images in the live collection. */
  images: z.number().int().min(0),
  /** The fingerprint batches, as scheduled. */
  batches: z.array(z.array(objectRef)),
  /** Keys the ledger holds at another ETag (their old fingerprint and pairs are dropped). */
  changed: z.array(z.string()),
  /** Keys the ledger holds that the collection no longer has. */
  gone: z.array(z.string()),
});
export type PassPlan = z.infer<typeof planSchema>;

export const pairSchema = z.object({
  a: z.string(),
  b: z.string(),
  tier: z.enum(TIERS),
  identical: z.enum(['bytes', 'pixels']).optional(),
  distance: z.number().optional(),
  mirrored: z.boolean().optional(),
  correlation: z.number().optional(),
  inliers: z.number().optional(),
  cosine: z.number().optional(),
});
export type StoredPair = z.infer<typeof pairSchema>;

const thresholdsSchema = z.object({
  hashDistance: z.number(),
  squareCorrelation: z.number(),
  inliers: z.number(),
  weakInliers: z.number(),
  weakCorrelation: z.number(),
  cosine: z.number(),
});

export const reportSchema = z.object({
  version: z.literal(1),
  dataset: z.string(),
  passId: z.string(),
  mode: z.enum(['all', 'missing']),
  collection: z.string(),
  modelId: z.string(),
  finishedAt: z.string(),
  /** Images with a fingerprint (the collection's images less the failed ones). */
  images: z.number().int(),
  /** Images this pass fingerprinted; pairs were looked for involving them (all when compareAll). */
  fingerprinted: z.number().int(),
  compareAll: z.boolean(),
  thresholds: thresholdsSchema,
  /** The pass's --fraction: thresholds.cosine was chosen so that this share of the images has a neighbour at or above it. */
  fraction: z.number().optional(),
  candidates: z.number().int(),
  workingSize: z.number().int(),
  nfeatures: z.number().int(),
  /** Why the learned tier had no candidates from Qdrant, if it had none. */
  learnedSkipped: z.string().optional(),
  failed: z.array(failure),
  pairsByTier: z.record(z.enum(TIERS), z.number().int()),
  /** Every pair of every tier (dismissals are applied when read). */
  pairs: z.array(pairSchema),
  /** Size of each image in a pair (the keeper is chosen by them). */
  members: z.record(z.string(), z.object({ width: z.number().int(), height: z.number().int(), bytes: z.number() })),
  seconds: z.object({ load: z.number(), candidates: z.number(), pairs: z.number(), total: z.number() }),
  /** Images compared, the largest peak resident memory of the processes that ran the pairs, verify and merge steps, and the longest their event loops did not turn. */
  memory: z.object({ fingerprints: z.number().int(), peakRssMiB: z.number(), worstBlockMs: z.number().optional(), worstBlock: loopBlock.optional() }),
  /** What the verify jobs read of the fingerprint files: bytes and GETs in all, over `jobs` jobs (absent in reports written before it was counted). */
  verifyReads: z.object({ bytes: z.number().int(), requests: z.number().int(), jobs: z.number().int() }).optional(),
});
export type StoredReport = z.infer<typeof reportSchema>;

const membersSchema = z.record(z.string(), z.object({ width: z.number().int(), height: z.number().int(), bytes: z.number() }));

/**
 * One verify job's work (duplicates-pairs.ts writes it, duplicates-verify.ts reads it): the
 * images it needs (key, ETag, the file holding its fingerprint and where its record lies
 * there, null when unknown: the ledger's file predates record spans) and its candidate pairs as
 * [a, b, hash distance (−1: not a hash candidate), mirrored (0/1), word or embedding
 * candidate (0/1), cosine (null: unknown)], a and b positions in `keys`, a before b in the
 * pass's order (a perceptual pair is judged on a's mirror image).
 */
export const chunkSchema = z.object({
  version: z.literal(1),
  source: z.string(),
  keys: z.array(z.string()),
  etags: z.array(z.string()),
  files: z.array(z.string()),
  /** [byte offset, length] of each image's record in its file (null: unknown, the file is read whole); absent in chunks written before it existed. */
  records: z.array(recordSpan.nullable()).optional(),
  pairs: z.array(z.tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int(), z.number().int(), z.number().nullable()])),
  /** The learned tier's cosine threshold of the pass (absent in chunks written before a pass could set it: the default). */
  cosine: z.number().optional(),
});
export type VerifyChunk = z.infer<typeof chunkSchema>;

/** What a verify job found: the confirmed pairs by key, the members' sizes, its process's peak memory. */
export const chunkPairsSchema = z.object({
  version: z.literal(1),
  pairs: z.array(pairSchema),
  members: membersSchema,
  seconds: z.number(),
  peakRssMiB: z.number(),
  /** The longest the job's event loop did not turn (ms); with its CPU time and step (shared/loop-watch.ts). */
  worstBlockMs: z.number().default(0),
  worstBlock: loopBlock.optional(),
  /** Fingerprint bytes the job read from the artefact store, in how many GETs. */
  read: z.object({ bytes: z.number().int(), requests: z.number().int() }).optional(),
});
export type ChunkPairs = z.infer<typeof chunkPairsSchema>;

/** The candidates step's outcome, for the merge step (written before the verify fan-out). */
export const candidatesStateSchema = z.object({
  version: z.literal(1),
  passId: z.string(),
  /** The collection the learned tier's neighbours came from, and why none when none. */
  collection: z.string(),
  learnedSkipped: z.string().optional(),
  /** The learned tier's cosine threshold: the pass's --cosine, the one chosen for its --fraction, or the default (absent in states written before: the default). */
  cosine: z.number().optional(),
  images: z.number().int(),
  fresh: z.number().int(),
  freshKeys: z.array(z.string()),
  ledger: z.lazy(() => ledgerSchema),
  obsolete: z.array(z.string()),
  gaveUp: z.array(failure),
  /** Exact pairs (decided from the hashes alone) and their members' sizes. */
  exact: z.array(pairSchema),
  members: membersSchema,
  chunks: z.number().int().min(0),
  candidatePairs: z.number().int(),
  seconds: z.object({ load: z.number(), candidates: z.number() }),
  peakRssMiB: z.number(),
  worstBlockMs: z.number().default(0),
  worstBlock: loopBlock.optional(),
});
export type CandidatesState = z.infer<typeof candidatesStateSchema>;

const passDir = (dataset: string, passId: string): string => `${artifactKeys.duplicatesDir(dataset)}passes/${passId}/`;
export const passKeys = {
  state: (dataset: string, passId: string) => `${passDir(dataset, passId)}candidates.json`,
  chunk: (dataset: string, passId: string, n: number) => `${passDir(dataset, passId)}verify-${String(n).padStart(6, '0')}.json`,
  pairs: (dataset: string, passId: string, n: number) => `${passDir(dataset, passId)}pairs-${String(n).padStart(6, '0')}.json`,
};

export const readState = (artifacts: Storage, dataset: string, passId: string): Promise<CandidatesState | undefined> =>
  readJson(artifacts, passKeys.state(dataset, passId), candidatesStateSchema, "a duplicates pass's candidates");
export const readChunk = (artifacts: Storage, dataset: string, passId: string, n: number): Promise<VerifyChunk | undefined> =>
  readJson(artifacts, passKeys.chunk(dataset, passId, n), chunkSchema, 'a duplicates verify chunk');
export const readChunkPairs = (artifacts: Storage, dataset: string, passId: string, n: number): Promise<ChunkPairs | undefined> =>
  readJson(artifacts, passKeys.pairs(dataset, passId, n), chunkPairsSchema, "a duplicates verify chunk's pairs");

async function readJson<S extends z.ZodType>(artifacts: Storage, key: string, schema: S, what: string): Promise<z.output<S> | undefined> {
  if (!(await artifacts.exists(key))) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse((await artifacts.get(key)).toString('utf8'));
  } catch (error) {
    throw new UserError(`${key} (${what}) cannot be read: ${error instanceof Error ? error.message : String(error)}`, 2, { cause: error });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new UserError(`${key} (${what}) is damaged or from another version of imgsim`, 2, { cause: parsed.error });
  return parsed.data;
}

export const readLedger = (artifacts: Storage, dataset: string): Promise<Ledger | undefined> =>
  readJson(artifacts, artifactKeys.duplicatesLedger(dataset), ledgerSchema, 'the duplicates fingerprint ledger');

export const readPlan = (artifacts: Storage, dataset: string, passId: string): Promise<PassPlan | undefined> =>
  readJson(artifacts, artifactKeys.duplicatesPlan(dataset, passId), planSchema, 'a duplicates pass plan');

export const readReport = (artifacts: Storage, dataset: string): Promise<StoredReport | undefined> =>
  readJson(artifacts, artifactKeys.duplicatesReport(dataset), reportSchema, 'the duplicates report');

export async function writeJson(artifacts: Storage, key: string, value: unknown): Promise<void> {
  await artifacts.put(key, JSON.stringify(value));
}

/** The file of a pass's fingerprint batch n. */
export function batchFile(passId: string, batch: number): string {
  return `${passId}-${String(batch).padStart(6, '0')}.bin`;
}
