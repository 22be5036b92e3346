// The zod schemas of the HTTP API: requests are parsed with them (a 400 names the field),
// responses are described by them; openapi.ts turns both into the OpenAPI document.
import { clustersFileSchema } from '../../shared/analysis/clusters-file.js';
import { z } from 'zod';
import { datasetNameSchema } from '../../shared/jobs/contracts.js';
import { mapStateSchema, runIdSchema } from '../../shared/runs/schema.js';
import { RUN_MODES, RUN_STATUSES } from '../../shared/runs/index.js';
import { taskRequestSchema } from '../../shared/tasks/schema.js';
import { FEATURE_METHODS } from '../../pipelines/features.js';
import { DEFAULT_THRESHOLDS, TIERS } from '../../shared/duplicates/tiers.js';
import { PASS_MODES, PASS_PHASES, PASS_STATUSES } from '../../shared/runs/duplicate-passes.js';
import { THUMBNAIL_DEFAULT_SIZE, THUMBNAIL_MAX_SIZE, THUMBNAIL_MIN_SIZE } from '../../shared/images/thumbnail.js';

export const MAX_K = 1000;

const modelId = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'expected a model id (letters, digits, . _ -)');

// ---- parameters -----------------------------------------------------------------------

export const datasetParams = z.object({ name: datasetNameSchema.describe('dataset name') });
export const runParams = z.object({ id: runIdSchema.describe('run id (printed by POST /v1/runs and imgsim enqueue)') });

export const listRunsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20).describe('runs per page'),
    offset: z.coerce.number().int().min(0).default(0).describe('runs to skip (newest first)'),
  })
  .strict();

export const runQuery = z
  .object({
    failuresOffset: z.coerce.number().int().min(0).default(0).describe('failures to skip'),
    failuresLimit: z.coerce.number().int().min(0).max(1000).default(100).describe('failures per page'),
  })
  .strict();

// ---- search -----------------------------------------------------------------------------

export const searchFilters = z
  .object({
    keyPrefix: z.string().max(1024).optional().describe("only keys under this folder ('photos/2024/')"),
    cluster: z.number().int().min(0).optional().describe('only points of this cluster label'),
  })
  .strict();

const k = z.number().int().min(1).max(MAX_K).default(10).describe('neighbours to return');

export const searchJsonBody = z
  .object({
    key: z.string().min(1).optional().describe('search by the stored vector of this indexed key (the key itself is left out)'),
    vector: z.array(z.number()).min(1).max(65_536).optional().describe("search by this vector (the model's embedding size)"),
    k,
    filters: searchFilters.optional(),
  })
  .strict()
  .refine((b) => (b.key === undefined) !== (b.vector === undefined), {
    message: 'give exactly one of key or vector (or upload an image as multipart/form-data field "image")',
  })
  .describe('search by key or by vector');

/** Text fields accompanying a multipart upload. */
export const searchFormFields = z
  .object({
    k: z.coerce.number().int().min(1).max(MAX_K).default(10),
    keyPrefix: z.string().max(1024).optional(),
    cluster: z.coerce.number().int().min(0).optional(),
  })
  .strict();

export const featuresFormFields = z
  .object({
    k: z.coerce.number().int().min(1).max(100).default(5),
    candidates: z.coerce.number().int().min(1).max(1000).default(50),
    method: z.enum(FEATURE_METHODS).default('match'),
    nfeatures: z.coerce.number().int().min(1).max(10_000).optional(),
  })
  .strict();

export const featuresMultipartBody = z
  .object({
    image: z.string().describe('the query image (JPEG, PNG, WebP, GIF, TIFF or AVIF)').meta({ contentMediaType: 'application/octet-stream' }),
    k: z.number().int().min(1).max(100).default(5).optional(),
    candidates: z.number().int().min(1).max(1000).default(50).optional().describe('match: autoencoder neighbours re-ranked'),
    method: z.enum(FEATURE_METHODS).default('match').optional().describe('match: AE candidates re-ranked by ORB matching; reference: ORB vector vs PCA-reduced embeddings'),
    nfeatures: z.number().int().min(1).max(10_000).optional().describe('ORB keypoints per image (default 500 for match, 30 for reference)'),
  })
  .describe('images sharing ORB features with an uploaded image');

export const featuresResponse = z.object({
  dataset: z.string(),
  modelId: z.string(),
  method: z.enum(FEATURE_METHODS),
  fallback: z.literal('autoencoder').optional().describe('the query has no ORB keypoints: autoencoder neighbours returned'),
  queryKeypoints: z.number().int(),
  neighbors: z.array(
    z.object({
      rank: z.number().int().min(1).describe('1 for the most similar (the CLI\'s --json neighbour shape)'),
      key: z.string(),
      score: z.number().describe('match: RANSAC inliers (or good matches without a homography; under 8 counts as 0); reference: cosine in the PCA space'),
      aeScore: z.number().optional(),
      goodMatches: z.number().int().optional(),
      inliers: z.number().int().optional(),
      homography: z.boolean().optional(),
    }),
  ),
  warning: z.string().optional().describe('the uploaded image decoded only with corruption warnings (a garbled JPEG): it was searched, but its neighbours may be off'),
});

export const searchMultipartBody = z
  .object({
    image: z.string().describe('the query image (JPEG, PNG, WebP, GIF, TIFF or AVIF)').meta({ contentMediaType: 'application/octet-stream' }),
    k: z.number().int().min(1).max(MAX_K).default(10).optional(),
    keyPrefix: z.string().optional(),
    cluster: z.number().int().min(0).optional(),
  })
  .describe('search by an uploaded image');

export const searchResponse = z.object({
  dataset: z.string(),
  modelId: z.string(),
  neighbors: z.array(
    z.object({
      rank: z.number().int().min(1).describe('1 for the most similar (the CLI\'s --json neighbour shape)'),
      key: z.string(),
      score: z.number().describe('cosine similarity, higher is more similar'),
      cluster: z.number().int().optional(),
    }),
  ),
  warning: z.string().optional().describe('the uploaded image decoded only with corruption warnings (a garbled JPEG): it was searched, but its neighbours may be off'),
});

// ---- indexed images: thumbnails, features by key ------------------------------------------

/** Why `key` cannot name an object inside a source, or undefined when it can (checked before any storage is touched). */
export function unsafeKeyProblem(key: string): string | undefined {
  if (key.includes('\0')) return 'contains a NUL character';
  if (key.includes('\\')) return 'contains a backslash (keys use "/" between folders)';
  if (key.startsWith('/') || /^[A-Za-z]:\//.test(key)) return 'is an absolute path (keys are relative to the source)';
  if (key.split('/').includes('..')) return 'has a ".." segment (keys stay inside the source)';
  return undefined;
}

/** The key of an image in a dataset's source: a relative '/'-separated path. */
export const imageKeySchema = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((key, ctx) => {
    const problem = unsafeKeyProblem(key);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(key)} ${problem}` });
  });

export const thumbnailQuery = z
  .object({
    key: imageKeySchema.describe("the image's key in the dataset (as search results name it)"),
    size: z.coerce
      .number()
      .int()
      .min(THUMBNAIL_MIN_SIZE)
      .max(THUMBNAIL_MAX_SIZE)
      .default(THUMBNAIL_DEFAULT_SIZE)
      .describe('bound of the longer side in pixels; never enlarged past the original'),
  })
  .strict();

export const featuresJsonBody = z
  .object({
    key: imageKeySchema.describe('the query: this indexed image, read from the dataset\'s source (left out of the answer)'),
    k: z.number().int().min(1).max(100).default(5),
    candidates: z.number().int().min(1).max(1000).default(50).describe('match: autoencoder neighbours re-ranked'),
    method: z.enum(FEATURE_METHODS).default('match').describe('match: AE candidates re-ranked by ORB matching; reference: ORB vector vs PCA-reduced embeddings'),
    nfeatures: z.number().int().min(1).max(10_000).optional().describe('ORB keypoints per image (default 500 for match, 30 for reference)'),
  })
  .strict()
  .describe('images sharing ORB features with an indexed image');

// ---- runs -------------------------------------------------------------------------------

export const createRunBody = z
  .object({
    source: z.string().regex(/^(s3|file):\/\/.+/, 'expected s3://bucket/prefix or file:///absolute/path').describe('where the images are'),
    dataset: datasetNameSchema,
    mode: z.enum(RUN_MODES).default('all').describe('all: embed everything; missing: only keys whose version is not indexed for the model'),
    model: modelId.optional().describe("use this trained model; absent: mode all trains one on a sample first, mode missing uses the dataset's current model"),
    task: taskRequestSchema
      .optional()
      .describe('train a model for this task (default reconstruct), e.g. {"task":"denoise","noise":{"kinds":["gaussian","crosshair"]}}; see docs/tasks.md'),
  })
  .strict()
  .refine((b) => b.task === undefined || b.task.task === 'reconstruct' || b.model === undefined, {
    path: ['task'],
    message: 'a task trains a new model: it cannot be combined with "model"',
  });

export const runRecord = z.object({
  id: z.string(),
  dataset: z.string(),
  source: z.string(),
  modelId: z.string().optional(),
  task: z.string().optional().describe('the task of the model the run trains, when not reconstruct'),
  collection: z.string().optional(),
  status: z.enum(RUN_STATUSES).describe('completed: searchable (its collection went live, unless heldBack says why not); the cluster map follows in `map`'),
  total: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  embeddingStartedAt: z.string().optional(),
  error: z.string().optional(),
  heldBack: z.string().optional().describe("completed but not live: why (items failed for other reasons than their own bytes); POST /v1/runs/{id}/retry-failed completes it"),
  map: mapStateSchema.optional().describe('the cluster map of the collection, computed after it went live: pending, running (phase, done/total), done (k, points) or failed (error; the run stays searchable)'),
  imagesPerSecond: z.number().optional(),
  etaSeconds: z.number().optional().describe('seconds left at the current throughput'),
});

export const createRunResponse = z.object({
  run: runRecord,
  created: z.boolean().describe('false: an active run already does this work'),
  modelFrom: z
    .enum(['request', 'dataset', 'training'])
    .describe("where the run's model comes from: the request's model, the dataset's current model (mode missing without model), or trained by the run"),
});
export const listRunsResponse = z.object({ runs: z.array(runRecord), limit: z.number().int(), offset: z.number().int() });

export const itemFailure = z.object({ key: z.string(), reason: z.string(), message: z.string(), at: z.string() });
export const runResponse = z.object({
  run: runRecord,
  failures: z.object({
    total: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
    items: z.array(itemFailure),
    summary: z
      .object({
        badInput: z.number().int().describe("the items' own bytes (corrupt, truncated…): never retried"),
        other: z.record(z.string(), z.number().int()).describe("the rest by reason, e.g. transient (a service stayed down past the job's retries)"),
        otherTotal: z.number().int(),
      })
      .describe('every failure of the run, counted by kind'),
  }),
});
export const retryResponse = z.object({ runId: z.string(), retried: z.number().int().describe('items re-enqueued') });

// ---- datasets ---------------------------------------------------------------------------

export const datasetRecord = z.object({
  name: z.string(),
  source: z.string(),
  modelId: z.string(),
  collection: z.string().describe('the Qdrant collection built for (dataset, model)'),
  alias: z.string().describe('the Qdrant alias searches use'),
  updatedAt: z.string(),
});
export const listDatasetsResponse = z.object({ datasets: z.array(datasetRecord) });
export const datasetResponse = datasetRecord.extend({ points: z.number().int().describe('points of the dataset in its live collection') });
/** clusters.json as the cluster stage writes it (one schema for both drivers). */
export const clustersResponse = clustersFileSchema;

// ---- duplicates -------------------------------------------------------------------------

export const createDuplicatesBody = z
  .object({
    mode: z
      .enum(PASS_MODES)
      .default('missing')
      .describe('missing: fingerprint only images new or changed (key + ETag) since the last pass and look for pairs involving them; all: every image, every pair'),
    cosine: z.number().gt(0).max(1).optional().describe(`learned tier: embedding cosine threshold (default ${DEFAULT_THRESHOLDS.cosine})`),
    fraction: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe('learned tier: choose the cosine threshold so that this share of the images has a neighbour above it (reported back as report.thresholds.cosine); compares every pair, as mode all does; instead of cosine'),
  })
  .strict()
  .refine((b) => b.cosine === undefined || b.fraction === undefined, { path: ['fraction'], message: 'give cosine or fraction, not both: fraction chooses the cosine threshold' });

export const duplicatesQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20).describe('groups per page'),
    offset: z.coerce.number().int().min(0).default(0).describe('groups to skip (largest groups first); nextOffset of the previous page'),
    tier: z.enum(TIERS).optional().describe('only groups whose strongest tier is this one'),
    minTier: z
      .enum(TIERS)
      .optional()
      .describe('weakest tier a pair may have to join a group (default verified; with tier=learned, learned)'),
  })
  .strict()
  .refine((q) => q.tier === undefined || q.minTier === undefined || TIERS.indexOf(q.tier) <= TIERS.indexOf(q.minTier), {
    path: ['tier'],
    message: 'weaker than minTier, so no group can have it (leave minTier out, or make it at least as weak)',
  });

export const dismissBody = z
  .object({
    a: z.string().min(1).max(1024).describe('key of one image'),
    b: z.string().min(1).max(1024).describe('key of the other image'),
  })
  .strict()
  .refine((p) => p.a !== p.b, { path: ['b'], message: 'a pair needs two different images: b equals a' });

const passStatus = z.object({
  passId: z.string(),
  dataset: z.string(),
  mode: z.enum(PASS_MODES),
  status: z.enum(PASS_STATUSES).describe('queued → planning → fingerprinting → pairing → completed (or failed, with error)'),
  createdAt: z.string(),
  updatedAt: z.string(),
  cosine: z.number().optional().describe('the learned threshold the pass was started with (absent: the default)'),
  fraction: z.number().optional().describe('the share of images the pass was started to flag in the learned tier (its cosine is in the report)'),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  images: z.number().int().optional().describe('images of the live collection when the pass was planned'),
  toFingerprint: z.number().int().optional().describe('images this pass fingerprints (new and changed, or all)'),
  fingerprinted: z.number().int().optional(),
  failed: z.number().int().optional(),
  pairs: z.number().int().optional().describe('when completed: pairs of every tier'),
  groups: z.number().int().optional().describe('when completed: groups at the default weakest tier, dismissed pairs left out'),
  phase: z.enum(PASS_PHASES).optional().describe('while pairing: finding candidates, verifying them (jobs), merging the results'),
  candidatePairs: z.number().int().optional().describe('while verifying: candidate pairs to judge'),
  chunks: z.number().int().optional().describe('while verifying: verify jobs'),
  verified: z.number().int().optional().describe('while verifying: verify jobs done'),
  error: z.string().optional(),
});

export const createDuplicatesResponse = z.object({
  pass: passStatus,
  created: z.boolean().describe('false: a pass of this dataset was already active; it is returned'),
});

const duplicatePair = z.object({
  a: z.string(),
  b: z.string(),
  tier: z.enum(TIERS),
  identical: z.enum(['bytes', 'pixels']).optional().describe('exact: what is identical'),
  distance: z.number().optional().describe('perceptual: hash distance in bits'),
  mirrored: z.boolean().optional().describe('perceptual: b matches the mirror image of a'),
  correlation: z.number().optional().describe('perceptual / verified: correlation of the aligned thumbnails'),
  inliers: z.number().optional().describe('verified: ORB matches consistent with one affine transform (RANSAC)'),
  cosine: z.number().optional().describe('cosine of the autoencoder embeddings, when they were compared'),
});

export const duplicatesResponse = z.object({
  dataset: z.string(),
  pass: passStatus.optional().describe('the latest pass (absent: none was ever started)'),
  report: z
    .object({
      passId: z.string(),
      dataset: z.string(),
      mode: z.enum(PASS_MODES),
      collection: z.string(),
      modelId: z.string(),
      finishedAt: z.string(),
      images: z.number().int(),
      fingerprinted: z.number().int(),
      compareAll: z.boolean(),
      thresholds: z.record(z.string(), z.number()),
      fraction: z.number().optional().describe('the pass was started with this fraction: thresholds.cosine was chosen so that this share of the images has a neighbour above it'),
      candidates: z.number().int().optional().describe('absent for a local index (imgsim serve --index): its report file does not record the settings'),
      workingSize: z.number().int().optional(),
      nfeatures: z.number().int().optional(),
      learnedSkipped: z.string().optional(),
      failed: z.number().int().describe('images that could not be fingerprinted'),
      dismissed: z.number().int().describe('pairs found but marked "not a duplicate"'),
      pairsByTier: z.record(z.string(), z.number().int()),
      seconds: z.record(z.string(), z.number()),
      memory: z.object({ fingerprints: z.number().int(), peakRssMiB: z.number() }).optional().describe('absent for a local index'),
    })
    .optional()
    .describe('the stored report the groups come from (absent: no pass has completed yet)'),
  minTier: z.enum(TIERS),
  tier: z.enum(TIERS).optional(),
  total: z.number().int().describe('groups matching the filters'),
  offset: z.number().int(),
  limit: z.number().int(),
  nextOffset: z.number().int().optional().describe('offset of the next page; absent on the last page'),
  groups: z.array(
    z.object({
      tier: z.enum(TIERS).describe('the strongest tier among its pairs'),
      keeper: z.string().describe('suggested image to keep: most pixels, then largest file'),
      members: z.array(z.object({ key: z.string(), width: z.number().int(), height: z.number().int(), bytes: z.number(), keeper: z.boolean(), tier: z.enum(TIERS) })),
      pairs: z.array(duplicatePair),
    }),
  ),
});

export const dismissResponse = z.object({
  dataset: z.string(),
  a: z.string(),
  b: z.string(),
  dismissed: z.boolean().describe('false: the pair was already marked'),
});

// ---- the web app, schedules -----------------------------------------------------------

/** The web app's pages (hash routes #/datasets, #/runs/<id>, #/search/<dataset>, #/map/<dataset>, #/duplicates/<dataset>). */
export const APP_PAGES = ['datasets', 'runs', 'search', 'map', 'duplicates'] as const;
export type AppPage = (typeof APP_PAGES)[number];
export const APP_MODES = ['queued', 'local'] as const;
export type AppMode = (typeof APP_MODES)[number];

export const appInfoResponse = z.object({
  mode: z.enum(APP_MODES).describe('queued: `imgsim serve` (runs, schedules, Bull Board); local: `imgsim serve --index <dir>`, one index folder'),
  version: z.string().describe("imgsim's version"),
  pages: z.array(z.enum(APP_PAGES)).describe('the pages this server backs (local: no runs)'),
  thumbnailSizes: z.object({ default: z.literal(THUMBNAIL_DEFAULT_SIZE), max: z.literal(THUMBNAIL_MAX_SIZE) }).describe('GET …/thumbnail size: its default and largest value'),
});

export const schedulesResponse = z.object({
  schedules: z.array(
    z.object({
      schedule: z.string().describe('its name'),
      job: z.enum(['run', 'duplicates']).optional().describe('duplicates: a duplicates pass of the dataset; absent: a run (re-index)'),
      dataset: z.string(),
      source: z.string().optional().describe('a run: where the images are'),
      mode: z.enum(['all', 'missing']),
      modelId: z.string().optional().describe('a run: the model it uses (absent: missing uses the current one, all trains one)'),
      cron: z.string().describe('cron pattern (5 fields, or 6 with seconds first)'),
      tz: z.string().optional().describe('IANA time zone of the pattern (absent: the server\'s)'),
      next: z.string().optional().describe('when it fires next (ISO 8601)'),
      iterations: z.number().int().describe('how many times it has fired'),
    }),
  ),
});

// ---- health -----------------------------------------------------------------------------

export const healthResponse = z.object({ status: z.literal('ok') });
const check = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() });
export const readyResponse = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.object({ redis: check, storage: check, qdrant: check }),
  failed: z.array(z.enum(['redis', 'storage', 'qdrant'])),
});

export const errorResponse = z.object({
  statusCode: z.number().int(),
  error: z.string(),
  message: z.string(),
  service: z.enum(['redis', 'qdrant', 'storage']).optional().describe('503: the service that is unavailable'),
  issues: z.array(z.object({ field: z.string(), message: z.string() })).optional().describe('400: each invalid field'),
});
