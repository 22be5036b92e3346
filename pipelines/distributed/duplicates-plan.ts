// The first two steps of a queued duplicates pass (docs/duplicates.md "Queued datasets"):
//
// plan (the duplicates queue, step plan): scroll the dataset's live collection — the
// dataset as indexed, so a `--mode missing` run's new images are in it and bad images are
// not — a page at a time, compare each key + ETag with the ledger of fingerprints (as an
// incremental run compares the listing with the collection, hashed-keys.ts), and fan out
// fingerprint jobs for what is new or changed (everything in mode all, or when the
// fingerprint settings or thresholds changed), under the pairs step (gated as a run's
// fan-out: the pairs step runs once every batch has finished). The plan is written to the
// artefact store before the fan-out, so a retried plan job schedules the same batches.
//
// fingerprint (its own queue and worker processes, spread over as many as run): decode
// each image of the batch and fingerprint it (decode + ORB, ~30 ms an image, one image's
// synchronous ORB at a time on the event loop: tens of ms), store the batch as one
// binary file, and upsert each image's visual words and hashes into the dataset's words
// collection in Qdrant (duplicates-words.ts). An image's own fault (corrupt, gone since the plan) is recorded in the file
// and never fails the batch; anything else fails the job, which is retried.
import type { Config } from '../../shared/config/index.js';
import { ImageError, UserError } from '../../shared/errors.js';
import { encodeFingerprints } from '../../shared/duplicates/fingerprint-file.js';
import { DEFAULT_CANDIDATES, DEFAULT_THRESHOLDS, DUPLICATE_NFEATURES, DUPLICATE_WORKING_SIZE, learnedFields, type DuplicateThresholds } from '../../shared/duplicates/tiers.js';
import { failureOf } from '../../shared/images/failures.js';
import type { JobPayload } from '../../shared/jobs/contracts.js';
import type { ObjectRef } from '../../shared/jobs/scheduler.js';
import type { DuplicatePasses } from '../../shared/runs/duplicate-passes.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import type { Storage } from '../../shared/storage/types.js';
import { KeySet, KeyVersions } from '../../shared/vectors/hashed-keys.js';
import { fingerprintImages, type DuplicateSettings } from '../duplicates.js';
import type { StageDeps } from './deps.js';
import { next } from './graph.js';
import { upsertWords, wordsCollection } from './duplicates-words.js';
import { batchFile, readLedger, readPlan, readReport, writeJson, type Ledger, type PassPlan } from './duplicates-store.js';

export interface DuplicateDeps extends StageDeps {
  passes: DuplicatePasses;
}

/**
 * What a queued pass finds duplicates with: the defaults of `imgsim duplicates` (tiers.ts)
 * but the learned tier's cosine, which the pass may set (`cosine`: given, or as chosen for
 * its --fraction by the pairs step), and the decode settings of the configuration.
 */
export function queuedDuplicateSettings(config: Pick<Config, 'maxPixels' | 'decodeConcurrency'>, cosine: number = DEFAULT_THRESHOLDS.cosine): DuplicateSettings {
  return {
    thresholds: { ...DEFAULT_THRESHOLDS, cosine },
    minTier: 'learned',
    candidates: DEFAULT_CANDIDATES,
    workingSize: DUPLICATE_WORKING_SIZE,
    nfeatures: DUPLICATE_NFEATURES,
    maxPixels: config.maxPixels,
    concurrency: config.decodeConcurrency,
  };
}

function sameThresholds(a: DuplicateThresholds, b: DuplicateThresholds): boolean {
  return (Object.keys(a) as Array<keyof DuplicateThresholds>).every((k) => a[k] === b[k]);
}

type PlanPayload = Extract<JobPayload<'duplicates'>, { step: 'plan' }>;

/** The plan step: decide what to fingerprint and fan it out under the pairs step. */
export async function planPass(p: PlanPayload, deps: DuplicateDeps): Promise<{ batches: number; toFingerprint: number; images: number }> {
  const record = await deps.runs.getDataset(p.dataset);
  if (!record) throw new UserError(`Dataset "${p.dataset}" not found: no run has completed for it yet`);
  const plan = (await readPlan(deps.artifacts, p.dataset, p.passId)) ?? (await makePlan(p, record, deps));
  const toFingerprint = plan.batches.reduce((n, b) => n + b.length, 0);
  await deps.passes.update(p.dataset, p.passId, { status: 'fingerprinting', images: plan.images, toFingerprint });
  await next.duplicatesPlan(p, { source: record.source, collection: plan.collection, modelId: plan.modelId, batches: plan.batches }, deps);
  deps.logger.info({ dataset: p.dataset, passId: p.passId, images: plan.images, toFingerprint, batches: plan.batches.length, gone: plan.gone.length }, 'duplicates: planned');
  return { batches: plan.batches.length, toFingerprint, images: plan.images };
}

async function makePlan(p: PlanPayload, record: { collection: string; modelId: string }, deps: DuplicateDeps): Promise<PassPlan> {
  await deps.passes.update(p.dataset, p.passId, { status: 'planning', startedAt: new Date().toISOString() });
  const s = queuedDuplicateSettings(deps.config, p.cosine);
  const ledger = await readLedger(deps.artifacts, p.dataset);
  const swept = await sweepLeftovers(p.dataset, p.passId, ledger, deps.artifacts);
  if (swept > 0) deps.logger.info({ dataset: p.dataset, passId: p.passId, files: swept }, 'duplicates: removed the files earlier passes left');
  const report = await readReport(deps.artifacts, p.dataset);
  // A ledger without its words collection (written before words went to Qdrant, or the collection deleted): every image again.
  const wordsKept = ledger?.words === wordsCollection(p.dataset) && (await deps.qdrant.collectionExists(ledger.words));
  const fingerprintAll = p.mode === 'all' || !ledger || !wordsKept || ledger.workingSize !== s.workingSize || ledger.nfeatures !== s.nfeatures;
  // Learned pairs of another model's embeddings (a re-index with a new model went live) are
  // not comparable: look again. So with another threshold, and for a --fraction: its
  // threshold is chosen from every image's nearest neighbour.
  const compareAll =
    fingerprintAll || p.fraction !== undefined || !report || report.modelId !== record.modelId || report.candidates !== s.candidates || !sameThresholds(report.thresholds, s.thresholds);
  const held = fingerprintAll || !ledger ? undefined : ledgerVersions(ledger);
  const listed = new KeySet();
  const batches: ObjectRef[][] = [];
  const changed: string[] = [];
  let batch: ObjectRef[] = [];
  let images = 0;
  for await (const point of deps.qdrant.scroll(record.collection, { dataset: p.dataset, payloadFields: ['etag'], pageSize: 1000 })) {
    images++;
    listed.add(point.key);
    const etag = typeof point.payload.etag === 'string' ? point.payload.etag : '';
    if (held?.holds(point.key, etag)) continue;
    if (held?.has(point.key)) changed.push(point.key);
    batch.push({ key: point.key, etag });
    if (batch.length >= deps.config.jobBatchSize) {
      batches.push(batch);
      batch = [];
    }
  }
  if (batch.length > 0) batches.push(batch);
  listed.seal();
  const gone = ledger && !fingerprintAll ? ledgerKeys(ledger).filter((k) => !listed.has(k)) : [];
  const plan: PassPlan = {
    version: 1,
    passId: p.passId,
    fingerprintAll,
    compareAll,
    ...learnedFields(p),
    collection: record.collection,
    modelId: record.modelId,
    images,
    batches,
    changed,
    gone,
  };
  await writeJson(deps.artifacts, artifactKeys.duplicatesPlan(p.dataset, p.passId), plan);
  return plan;
}

/**
 * Remove what earlier passes left in the artefact store: a pass that failed (a job gave up)
 * never reaches the merge that deletes its batch files, verify chunks and plan (drilled: an
 * 8 s S3 outage with 2 job attempts left 15 batch files of ~3 MB and the plan), and a merge
 * stopped between its commit and its clean-up leaves the files it made obsolete. One pass of
 * a dataset runs at a time, so when a new one is planned, every fingerprint file the ledger
 * does not name and every other pass's plan and folder are garbage. (A job of a failed pass
 * still retrying may write one more file afterwards; the next plan removes it.)
 */
async function sweepLeftovers(dataset: string, passId: string, ledger: Ledger | undefined, artifacts: Storage): Promise<number> {
  const fingerprints = artifactKeys.duplicatesFingerprints(dataset, '');
  const passes = `${artifactKeys.duplicatesDir(dataset)}passes/`;
  const named = new Set(ledger?.files.map((f) => f.file) ?? []);
  const doomed: string[] = [];
  for await (const o of artifacts.list(fingerprints)) {
    const file = o.key.slice(fingerprints.length);
    if (o.key !== artifactKeys.duplicatesLedger(dataset) && !named.has(file) && !file.startsWith(`${passId}-`)) doomed.push(o.key);
  }
  for await (const o of artifacts.list(passes)) {
    const rest = o.key.slice(passes.length);
    if (rest !== `${passId}.json` && !rest.startsWith(`${passId}/`)) doomed.push(o.key);
  }
  for (const key of doomed) await artifacts.delete(key);
  return doomed.length;
}

/** Every key the ledger knows (fingerprinted or failed). */
function ledgerKeys(ledger: Ledger): string[] {
  return [...ledger.files.flatMap((f) => f.keys), ...ledger.failed.map((f) => f.key)];
}

function ledgerVersions(ledger: Ledger): KeyVersions {
  const v = new KeyVersions();
  for (const f of ledger.files) f.keys.forEach((key, i) => v.add(key, f.etags[i] ?? ''));
  for (const f of ledger.failed) v.add(f.key, f.etag);
  return v.seal();
}

/** One fingerprint batch: fingerprint the images, store them as one file. */
export async function fingerprintBatch(p: JobPayload<'fingerprint'>, deps: DuplicateDeps): Promise<{ fingerprinted: number; failed: number }> {
  const source = await deps.openSource(p.source);
  const s = queuedDuplicateSettings(deps.config);
  const etags = new Map(p.objects.map((o) => [o.key, o.etag]));
  const images = p.objects.map((o) => ({
    key: o.key,
    load: async () => {
      try {
        return await source.get(o.key);
      } catch (error) {
        // Gone since the plan, or unreadable: the image's own fault, recorded, not retried.
        const own = failureOf(o.key, error);
        if (own) throw new ImageError('unreadable', own.message);
        throw error;
      }
    },
  }));
  const { fingerprints, failed } = await fingerprintImages(images, s);
  const file = encodeFingerprints({
    workingSize: s.workingSize,
    nfeatures: s.nfeatures,
    prints: fingerprints.map((f) => ({ fingerprint: f, etag: etags.get(f.key) ?? '' })),
    failed: failed.map((f) => ({ ...f, etag: etags.get(f.key) ?? '' })),
  });
  await deps.artifacts.put(artifactKeys.duplicatesFingerprints(p.dataset, batchFile(p.passId, p.batch)), file);
  // Its words and hashes in Qdrant: what the candidates step asks for instead of the files.
  await upsertWords(deps.qdrant, p.dataset, fingerprints.map((f) => ({ fingerprint: f, etag: etags.get(f.key) ?? '' })));
  await deps.passes.addCounts(p.dataset, p.passId, p.batch, { fingerprinted: fingerprints.length, failed: failed.length });
  return { fingerprinted: fingerprints.length, failed: failed.length };
}
