// What a dataset's duplicates passes keep in the artefact store (naming.ts artifactKeys):
//
//   datasets/<name>/duplicates/fingerprints/<passId>-<n>.bin  one fingerprint batch
//       (shared/duplicates/fingerprint-file.ts: ~45 KB an image at 1,000 keypoints),
//       written by a fingerprint job;
//   datasets/<name>/duplicates/fingerprints/ledger.json  which file holds each image's
//       current fingerprint (key + ETag) and the images that could not be fingerprinted;
//       written last by the pairs step (the commit of a pass);
//   datasets/<name>/duplicates/passes/<passId>.json  the plan of a pass: its batches, the
//       images changed or gone since the ledger; written by the plan step before any
//       fingerprint job can finish, removed when the pass commits;
//   datasets/<name>/duplicates/report.json  the pairs (every tier, before dismissals)
//       with their evidence and the members' sizes: what GET …/duplicates groups and pages;
//   datasets/<name>/duplicates/dismissed-duplicates.json  pairs marked "not a duplicate".
//
// Key lists live in JSON (ledger, plan): ~100 bytes an image, against the ~100 KB an
// image the pairs step holds anyway (duplicates-pairs.ts says why that is the bound).
import { z } from 'zod';
import { UserError } from '../../shared/errors.js';
import { TIERS } from '../../shared/duplicates/tiers.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import type { Storage } from '../../shared/storage/types.js';

const failure = z.object({ key: z.string(), etag: z.string(), reason: z.string(), message: z.string() });
const objectRef = z.object({ key: z.string(), etag: z.string() });

export const ledgerSchema = z.object({
  version: z.literal(1),
  /** The pass that wrote it. */
  passId: z.string(),
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
  /** Every pair looked for again (fingerprintAll, no report, or other thresholds). */
  compareAll: z.boolean(),
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
  /** Fingerprints held by the pairs step, and its process's peak resident memory. */
  memory: z.object({ fingerprints: z.number().int(), peakRssMiB: z.number() }),
});
export type StoredReport = z.infer<typeof reportSchema>;

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
