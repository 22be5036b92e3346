// The last step of a queued duplicates pass (the duplicates queue, step pairs), run once
// every fingerprint batch has finished:
//   1. stream the current fingerprints to a child process (duplicates-pairs-child.ts), a
//      file at a time: this pass's batch files, and from the ledger's files the images
//      neither changed nor gone (records of other images are skipped unread); files whose
//      records are mostly stale are rewritten first (compaction, 256 images a file);
//   2. learned-tier candidates from Qdrant: for each new image (every image when the pass
//      compares all), its nearest points in the live collection by one batch query per 64
//      images (adapter neighboursOfKeys) — no vector is read into either process;
//   3. the child runs findPairs (shared/duplicates/pairs.ts) over what it holds, with
//      `onlyWith` the new images on an incremental pass: exact and perceptual pairs,
//      visual-word candidates (the inverted index over every image) and the Qdrant
//      neighbours, each verified by ORB + RANSAC (a pair found by a mirror hash on the
//      mirror image, decoded from bytes this process reads for it), and answers with the
//      pairs by key;
//   4. keep the previous report's pairs whose two images are unchanged and present, store
//      the report, then the ledger (the commit), then delete the files nothing refers to.
// This process keeps only keys and one file at a time: its event loop turns while the
// child computes (the word index alone blocks ~0.5 s at 1,000 photos, ~5 s at 10,000).
//
// Memory bound: the child holds every current fingerprint, ~100 KB an image at 1,000
// keypoints (descriptors 32 KB, word entries 32 KB, distinct words ~20–30 KB, points 8 KB,
// thumbnails 5 KB; measured 77 KB at the 752 keypoints real photos average): ~1 GB at
// 10,000 images, ~4 GB at 40,000 (the report says what it took: memory.peakRssMiB). That
// is the limit of this design. Beyond it, the candidates must come from outside the
// process as the learned ones do: the visual words as Qdrant sparse vectors (one
// dimension per word, `modifier: idf`), so a sparse batch query per image gives its word
// candidates, and verification spread over jobs that each load only the fingerprints of
// their candidate pairs (random access to the batch files, or one object per image);
// exact and perceptual candidates are small (hash buckets) and could stay in one process.
import type { ChildProcess } from 'node:child_process';
import { errorMessage, UserError } from '../../shared/errors.js';
import { decodeFingerprints, encodeFingerprints, type FileFailure, type StoredFingerprint } from '../../shared/duplicates/fingerprint-file.js';
import { TIERS, DEFAULT_MIN_TIER, type DuplicateThresholds, type Tier } from '../../shared/duplicates/tiers.js';
import type { JobPayload } from '../../shared/jobs/contracts.js';
import type { JobHandle } from '../../shared/jobs/handlers.js';
import { failureOf } from '../../shared/images/failures.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import type { Storage } from '../../shared/storage/types.js';
import { forkModuleProcess } from '../../shared/spawn-module.js';
import { QdrantError } from '../../shared/vectors/qdrant/index.js';
import { queuedDuplicateSettings, type DuplicateDeps } from './duplicates-plan.js';
import { dismissalsOf, groupsOf } from './duplicates-results.js';
import { batchFile, readLedger, readPlan, readReport, writeJson, type Ledger, type PassPlan, type StoredPair, type StoredReport } from './duplicates-store.js';

type PairsPayload = Extract<JobPayload<'duplicates'>, { step: 'pairs' }>;

/** Images per fingerprint file written when old files are compacted. */
const COMPACT_FILE = 256;
/** Keys per neighboursOfKeys call (each is one batch request per 64 keys). */
const NEIGHBOUR_CHUNK = 1024;

// ---- the child's protocol (duplicates-pairs-child.ts) --------------------------------

export type PairsChildRequest =
  /** Hold the file's fingerprints (`keep`: only these keys at these ETags); `fresh`: fingerprinted by this pass. */
  | { type: 'file'; name: string; bytes: Uint8Array; fresh: boolean; keep?: Array<[string, string]> }
  /** Learned-tier neighbours: key → [neighbour key, cosine][]. */
  | { type: 'neighbours'; lists: Array<[string, Array<[string, number]>]> }
  | { type: 'pairs'; thresholds: DuplicateThresholds; candidates: number; onlyFresh: boolean; learned: boolean; workingSize: number; nfeatures: number; maxPixels: number };

/** The parent's answer to a child's `load` (bytes undefined: the object is gone or unreadable; error: anything else). */
export type PairsChildLoaded = { type: 'loaded'; req: number; bytes?: Uint8Array; error?: string };

export type PairsChildResult =
  | { type: 'file'; kept: Array<[string, string]>; failed: FileFailure[]; workingSize: number; nfeatures: number }
  | { type: 'ok' }
  | { type: 'pairs'; pairs: StoredPair[]; members: StoredReport['members']; images: number; fresh: number; peakRssMiB: number };

export type PairsChildReply =
  | { type: 'progress'; phase: string; done: number; total: number }
  /** The child asks for an image's bytes (to fingerprint its mirror image). */
  | { type: 'load'; req: number; key: string }
  | { id: number; result: PairsChildResult }
  | { id: number; error: string; user: boolean; stack?: string };

/** The child, one request at a time. */
class PairsChild {
  private readonly child: ChildProcess;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (r: PairsChildResult) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;

  constructor(onProgress: (phase: string, done: number, total: number) => void, source: () => Promise<Storage>) {
    this.child = forkModuleProcess(import.meta.url, 'duplicates-pairs-child');
    this.child.on('message', (m: PairsChildReply) => {
      if ('type' in m) {
        if (m.type === 'progress') onProgress(m.phase, m.done, m.total);
        else void this.answerLoad(m, source);
        return;
      }
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (!w) return;
      if ('result' in m) w.resolve(m.result);
      else {
        const error = m.user ? new UserError(m.error) : new Error(`duplicates pairs process: ${m.error}`);
        if (m.stack && !m.user) error.stack = `${error.message}\n${m.stack}`;
        w.reject(error);
      }
    });
    const fail = (error: Error): void => {
      this.failure ??= error;
      for (const w of this.waiting.values()) w.reject(this.failure);
      this.waiting.clear();
    };
    this.child.on('error', fail);
    this.child.on('exit', (code, signal) => fail(new Error(`duplicates pairs process exited (${signal ?? `code ${code}`})${signal === 'SIGKILL' ? ': out of memory?' : ''}`)));
  }

  call<T extends PairsChildResult['type']>(request: PairsChildRequest): Promise<Extract<PairsChildResult, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (r: PairsChildResult) => void, reject });
      this.child.send({ ...request, id }, (error: Error | null) => {
        if (error) reject(error);
      });
    });
  }

  /** Read an image the child asks for and send it (or why not) back. */
  private async answerLoad(m: { req: number; key: string }, source: () => Promise<Storage>): Promise<void> {
    let answer: PairsChildLoaded;
    try {
      answer = { type: 'loaded', req: m.req, bytes: await (await source()).get(m.key) };
    } catch (error) {
      answer = failureOf(m.key, error) ? { type: 'loaded', req: m.req } : { type: 'loaded', req: m.req, error: `reading ${m.key}: ${errorMessage(error)}` };
    }
    if (this.child.connected) this.child.send(answer);
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

// ---- the step ------------------------------------------------------------------------

export async function pairsStep(p: PairsPayload, deps: DuplicateDeps, job: JobHandle): Promise<{ images: number; pairs: number; groups: number }> {
  const before = await readLedger(deps.artifacts, p.dataset);
  if (before?.passId === p.passId) {
    // An earlier attempt committed this pass and stopped before saying so.
    const report = await readReport(deps.artifacts, p.dataset);
    if (!report || report.passId !== p.passId) throw new Error(`duplicates pass ${p.passId}: the ledger is committed but the report is not this pass's`);
    return complete(p, report, deps);
  }
  const plan = await readPlan(deps.artifacts, p.dataset, p.passId);
  if (!plan) throw new UserError(`duplicates pass ${p.passId} of dataset "${p.dataset}" has no plan (${artifactKeys.duplicatesPlan(p.dataset, p.passId)})`);
  await deps.passes.update(p.dataset, p.passId, { status: 'pairing' });
  const s = queuedDuplicateSettings(deps.config);
  let reported = 0;
  const child = new PairsChild(
    (phase, done, total) => {
      if (performance.now() - reported < 1000) return;
      reported = performance.now();
      job.updateProgress({ phase, done, total }).catch(() => undefined);
    },
    async () => {
      const record = await deps.runs.getDataset(p.dataset);
      if (!record) throw new UserError(`Dataset "${p.dataset}" not found`);
      return deps.openSource(record.source);
    },
  );
  try {
    const t0 = performance.now();
    const loaded = await streamPrints(p, plan, before, child, deps, s);
    const t1 = performance.now();
    const asked = plan.compareAll ? loaded.keys : loaded.freshKeys;
    const learned = await learnedNeighbours(p, plan, asked, s.candidates, deps);
    for (let i = 0; i < learned.lists.length; i += NEIGHBOUR_CHUNK) await child.call<'ok'>({ type: 'neighbours', lists: learned.lists.slice(i, i + NEIGHBOUR_CHUNK) });
    const t2 = performance.now();
    const found = await child.call<'pairs'>({
      type: 'pairs',
      thresholds: s.thresholds,
      candidates: s.candidates,
      onlyFresh: !plan.compareAll,
      learned: learned.skipped === undefined,
      workingSize: s.workingSize,
      nfeatures: s.nfeatures,
      maxPixels: s.maxPixels,
    });
    const t3 = performance.now();
    child.stop();

    // Pairs of the previous report between two images this pass left alone stay as they were.
    // Pairs involving this pass's fresh images were all looked for again: a retried step
    // that finds its own earlier report must not keep them twice.
    const dropped = new Set([...plan.gone, ...plan.changed, ...loaded.freshKeys]);
    const previous = plan.compareAll ? undefined : await readReport(deps.artifacts, p.dataset);
    const present = new Set(loaded.keys);
    const members: StoredReport['members'] = { ...found.members };
    const pairs: StoredPair[] = [];
    for (const q of previous?.pairs ?? []) {
      if (dropped.has(q.a) || dropped.has(q.b) || !present.has(q.a) || !present.has(q.b)) continue;
      pairs.push(q);
      for (const key of [q.a, q.b]) members[key] ??= previous?.members[key] as StoredReport['members'][string];
    }
    pairs.push(...found.pairs);
    pairs.sort((x, y) => (x.a < y.a ? -1 : x.a > y.a ? 1 : x.b < y.b ? -1 : x.b > y.b ? 1 : 0));
    const pairsByTier = Object.fromEntries(TIERS.map((t) => [t, 0])) as Record<Tier, number>;
    for (const q of pairs) pairsByTier[q.tier]++;
    const t4 = performance.now();
    const report: StoredReport = {
      version: 1,
      dataset: p.dataset,
      passId: p.passId,
      mode: p.mode,
      collection: learned.collection,
      modelId: p.modelId,
      finishedAt: new Date().toISOString(),
      images: found.images,
      fingerprinted: found.fresh,
      compareAll: plan.compareAll,
      thresholds: s.thresholds,
      candidates: s.candidates,
      workingSize: s.workingSize,
      nfeatures: s.nfeatures,
      ...(learned.skipped !== undefined ? { learnedSkipped: learned.skipped } : {}),
      failed: [...loaded.failed, ...loaded.gaveUp].sort((x, y) => (x.key < y.key ? -1 : 1)),
      pairsByTier,
      pairs,
      members,
      seconds: { load: secs(t1 - t0), candidates: secs(t2 - t1), pairs: secs(t3 - t2), total: secs(t4 - t0) },
      memory: { fingerprints: found.images, peakRssMiB: found.peakRssMiB },
    };
    await writeJson(deps.artifacts, artifactKeys.duplicatesReport(p.dataset), report);
    const ledger: Ledger = { version: 1, passId: p.passId, workingSize: s.workingSize, nfeatures: s.nfeatures, files: loaded.files, failed: loaded.failed };
    await writeJson(deps.artifacts, artifactKeys.duplicatesLedger(p.dataset), ledger);
    for (const file of loaded.obsolete) await deps.artifacts.delete(artifactKeys.duplicatesFingerprints(p.dataset, file));
    await deps.artifacts.delete(artifactKeys.duplicatesPlan(p.dataset, p.passId));
    deps.logger.info({ dataset: p.dataset, passId: p.passId, images: found.images, fingerprinted: found.fresh, pairs: pairs.length, seconds: report.seconds, peakRssMiB: found.peakRssMiB }, 'duplicates: pass done');
    return await complete(p, report, deps);
  } finally {
    child.stop();
  }
}

async function complete(p: PairsPayload, report: StoredReport, deps: DuplicateDeps): Promise<{ images: number; pairs: number; groups: number }> {
  const groups = groupsOf(report, await dismissalsOf(deps.artifacts, p.dataset).ids(), DEFAULT_MIN_TIER).length;
  await deps.passes.update(p.dataset, p.passId, {
    status: 'completed',
    finishedAt: new Date().toISOString(),
    fingerprinted: report.fingerprinted,
    failed: report.failed.length,
    pairs: report.pairs.length,
    groups,
  });
  return { images: report.images, pairs: report.pairs.length, groups };
}

interface Streamed {
  /** Every key the child holds, and those this pass fingerprinted. */
  keys: string[];
  freshKeys: string[];
  /** The ledger's files after this pass (kept old ones with their live keys, this pass's batches, compacted ones). */
  files: Ledger['files'];
  /** Files no longer referred to once the new ledger is written. */
  obsolete: string[];
  /** Images that could not be fingerprinted at their ETag (permanent, kept in the ledger). */
  failed: FileFailure[];
  /** Images of batches whose job gave up (not in the ledger: tried again by the next pass). */
  gaveUp: FileFailure[];
}

/** Stream this pass's batches, then the ledger's live fingerprints of images it left alone, to the child. */
async function streamPrints(p: PairsPayload, plan: PassPlan, ledger: Ledger | undefined, child: PairsChild, deps: DuplicateDeps, s: { workingSize: number; nfeatures: number }): Promise<Streamed> {
  const out: Streamed = { keys: [], freshKeys: [], files: [], obsolete: [], failed: [], gaveUp: [] };
  const send = async (file: string, bytes: Buffer, fresh: boolean, keep?: Map<string, string>): Promise<Array<[string, string]>> => {
    const r = await child.call<'file'>({ type: 'file', name: file, bytes, fresh, ...(keep ? { keep: [...keep] } : {}) });
    if (r.workingSize !== s.workingSize || r.nfeatures !== s.nfeatures) throw new Error(`${file}: fingerprints at ${r.workingSize} px × ${r.nfeatures}, this pass uses ${s.workingSize} × ${s.nfeatures}`);
    for (const [key] of r.kept) {
      out.keys.push(key);
      if (fresh) out.freshKeys.push(key);
    }
    if (fresh) out.failed.push(...r.failed);
    return r.kept;
  };
  const entry = (file: string, count: number, kept: Array<[string, string]>): Ledger['files'][number] => ({ file, count, keys: kept.map(([k]) => k), etags: kept.map(([, e]) => e) });

  for (let b = 0; b < plan.batches.length; b++) {
    const file = batchFile(p.passId, b);
    const key = artifactKeys.duplicatesFingerprints(p.dataset, file);
    if (!(await deps.artifacts.exists(key))) {
      // Its fingerprint job gave up (a service stayed away): the images go unfingerprinted
      // this time and are tried again by the next pass.
      const message = `fingerprint job for batch ${b} gave up after its retries`;
      for (const o of plan.batches[b] ?? []) out.gaveUp.push({ key: o.key, etag: o.etag, reason: 'fingerprint-failed', message });
      continue;
    }
    const kept = await send(file, await deps.artifacts.get(key), true);
    out.files.push(entry(file, kept.length, kept));
  }
  if (!ledger) return out;
  if (plan.fingerprintAll) {
    // Every image was fingerprinted again: the old files go once this pass commits.
    out.obsolete.push(...ledger.files.map((f) => f.file));
    return out;
  }
  const dropped = new Set([...plan.gone, ...plan.changed]);
  out.failed.push(...ledger.failed.filter((f) => !dropped.has(f.key)));
  let compact: StoredFingerprint[] = [];
  let compacted = 0;
  const flush = async (): Promise<void> => {
    if (compact.length === 0) return;
    const file = `${p.passId}-c${String(compacted++).padStart(5, '0')}.bin`;
    const bytes = encodeFingerprints({ workingSize: s.workingSize, nfeatures: s.nfeatures, prints: compact, failed: [] });
    compact = [];
    await deps.artifacts.put(artifactKeys.duplicatesFingerprints(p.dataset, file), bytes);
    const kept = await send(file, bytes, false);
    out.files.push(entry(file, kept.length, kept));
  };
  for (const f of ledger.files) {
    const live = new Map<string, string>();
    f.keys.forEach((k, i) => {
      if (!dropped.has(k)) live.set(k, f.etags[i] ?? '');
    });
    if (live.size === 0) {
      out.obsolete.push(f.file);
      continue;
    }
    const key = artifactKeys.duplicatesFingerprints(p.dataset, f.file);
    const bytes = await deps.artifacts.get(key);
    if (live.size * 2 >= f.count) {
      out.files.push(entry(f.file, f.count, await send(f.file, bytes, false, live)));
      continue;
    }
    // Mostly stale records: its live ones go into a fresh file with others of the kind.
    out.obsolete.push(f.file);
    compact.push(...decodeFingerprints(bytes, key, (k, etag) => live.get(k) === etag).prints);
    if (compact.length >= COMPACT_FILE) await flush();
  }
  await flush();
  return out;
}

/**
 * Each asked image's nearest points in the live collection (by cosine of the autoencoder
 * embeddings). The collection of the plan, or the dataset's live one if a re-index
 * replaced it meanwhile; none (the learned tier left out, said in the report) when neither
 * can be read.
 */
async function learnedNeighbours(
  p: PairsPayload,
  plan: PassPlan,
  asked: readonly string[],
  k: number,
  deps: DuplicateDeps,
): Promise<{ lists: Array<[string, Array<[string, number]>]>; collection: string; skipped?: string }> {
  let collection = plan.collection;
  if (!(await deps.qdrant.collectionExists(collection))) {
    const live = await deps.runs.getDataset(p.dataset);
    if (!live || !(await deps.qdrant.collectionExists(live.collection))) return { lists: [], collection, skipped: `collection "${collection}" no longer exists` };
    collection = live.collection;
  }
  const lists: Array<[string, Array<[string, number]>]> = [];
  try {
    for (let start = 0; start < asked.length; start += NEIGHBOUR_CHUNK) {
      const hits = await deps.qdrant.neighboursOfKeys(collection, p.dataset, asked.slice(start, start + NEIGHBOUR_CHUNK), k);
      for (const [key, list] of hits) lists.push([key, list.map((h) => [h.key, h.score])]);
    }
  } catch (error) {
    // The collection deleted mid-pass (a re-index went live and dropped it): no learned tier this time.
    if (!(error instanceof QdrantError && error.status === 404)) throw error;
    return { lists: [], collection, skipped: errorMessage(error) };
  }
  return { lists, collection };
}

const secs = (ms: number): number => Math.round(ms / 100) / 10;
