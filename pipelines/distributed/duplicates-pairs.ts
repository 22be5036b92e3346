// The pairs step of a queued duplicates pass (the duplicates queue, step pairs), run once
// every fingerprint batch has finished. It finds the candidate pairs without holding any
// fingerprint, and fans their verification out as jobs (duplicates-verify.ts):
//   1. the current images, in the pass's order: this pass's batch files (read for their keys,
//      where each record lies, and failures: records are skipped undecoded), then from the
//      ledger's files the images neither changed nor gone (with the records' spans the ledger
//      keeps); files whose records are mostly stale are rewritten first (compaction, 256
//      images a file: only those are decoded);
//   2. the words points of images no longer current (gone, changed into a failure, batch
//      given up) leave the dataset's words collection (duplicates-words.ts);
//   3. candidates: exact (equal SHA-256 of bytes, else of pixels) and perceptual (pHash
//      within the hash distance, by multi-index hashing: hash-candidates.ts) from the
//      hashes alone — scrolled from the words points' payloads, 80 bytes an image held;
//      visual-word candidates by one sparse /points/query/batch per 64 new
//      images (every image on an all pass: a query by the image's own point id `using`
//      words, the 5 best by Σ idf of shared words); learned candidates likewise from the
//      live collection (neighboursOfKeys): no vector or fingerprint is read into imgsim;
//   4. the candidate pairs, sorted by the files their two images are in, are cut into
//      chunks of CHUNK_PAIRS (500) written to the artefact store (each image with its file
//      and its record's span there: the job reads only those bytes), fanned out as verify jobs under
//      the merge step (gated as the fingerprint batches are: BullScheduler.verifyFanOut);
//      what the merge step needs (the new ledger, exact pairs, timings) is written first.
// A retried step whose state is written only completes the fan-out (same job ids).
// Held here: keys (the ledger's lists and a position each), 80 bytes of hashes an image, and
// the candidate pairs (≤ 10 an image on an all pass, ~16 bytes each in a Map).
import { errorMessage, UserError } from '../../shared/errors.js';
import { decodeFingerprints, encodeFingerprints, type FileFailure, type StoredFingerprint } from '../../shared/duplicates/fingerprint-file.js';
import { exactPairs, pairKeyOf, pairOfKey, perceptualCandidates } from '../../shared/duplicates/hash-candidates.js';
import { DEFAULT_MIN_TIER } from '../../shared/duplicates/tiers.js';
import type { JobPayload } from '../../shared/jobs/contracts.js';
import type { JobHandle } from '../../shared/jobs/handlers.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import { yieldToEventLoop } from '../../shared/concurrency.js';
import { QdrantError } from '../../shared/vectors/qdrant/index.js';
import { cosineForFraction } from '../duplicates.js';
import { queuedDuplicateSettings, type DuplicateDeps } from './duplicates-plan.js';
import { countGroupsOffLoop } from './duplicates-view-offloop.js';
import { HASH_FIELDS, hashesOf, WORDS_VECTOR, wordsCollection } from './duplicates-words.js';
import { batchFile, passKeys, readLedger, readPlan, readReport, readState, writeJson, type CandidatesState, type Ledger, type PassPlan, type StoredPair, type StoredReport, type VerifyChunk } from './duplicates-store.js';
import { next } from './graph.js';
import { watchStep, type LoopBlock, type StepWatch } from '../../shared/loop-watch.js';

type PairsPayload = Extract<JobPayload<'duplicates'>, { step: 'pairs' }>;
/** A record's [byte offset, length] in its fingerprint file (the ledger's and chunks' form). */
type RecordSpanPair = [number, number];

/** Images per fingerprint file written when old files are compacted. */
const COMPACT_FILE = 256;
/** Keys per neighboursOfKeys call (each is one batch request per 64 keys). */
const NEIGHBOUR_CHUNK = 1024;
/**
 * Candidate pairs a verify job judges (~1 ms a pair). A job holds the fingerprints of its
 * pairs' images (≤ 2 × this, ~100 KB each): with 2,000 the duplicates worker peaked at
 * 410 MiB at 1,000 images and 512 MiB at 3,000 (chunks touched more distinct images).
 */
export const CHUNK_PAIRS = 500;

// ---- the step ------------------------------------------------------------------------

export async function pairsStep(p: PairsPayload, deps: DuplicateDeps, job: JobHandle): Promise<{ images: number; pairs: number; groups: number } | { chunks: number; candidates: number }> {
  // Stopped however the step ends: a job that throws (Qdrant away, retried for minutes)
  // would otherwise leave its 10 ms timer running in the worker for good, one more each attempt.
  const loop = watchStep('load');
  try {
    return await findCandidates(p, deps, job, loop);
  } finally {
    loop.stop();
  }
}

async function findCandidates(p: PairsPayload, deps: DuplicateDeps, job: JobHandle, loop: StepWatch): Promise<{ images: number; pairs: number; groups: number } | { chunks: number; candidates: number }> {
  const before = await readLedger(deps.artifacts, p.dataset);
  if (before?.passId === p.passId) {
    // An earlier attempt committed this pass and stopped before saying so.
    const report = await readReport(deps.artifacts, p.dataset);
    if (!report || report.passId !== p.passId) throw new Error(`duplicates pass ${p.passId}: the ledger is committed but the report is not this pass's`);
    return complete(p, report, deps);
  }
  const plan = await readPlan(deps.artifacts, p.dataset, p.passId);
  if (!plan) throw new UserError(`duplicates pass ${p.passId} of dataset "${p.dataset}" has no plan (${artifactKeys.duplicatesPlan(p.dataset, p.passId)})`);
  const written = await readState(deps.artifacts, p.dataset, p.passId);
  if (written) {
    // An earlier attempt wrote the chunks and stopped during (or after) the fan-out.
    await next.duplicatesPairs(p, written.chunks, deps);
    return { chunks: written.chunks, candidates: written.candidatePairs };
  }
  await deps.passes.update(p.dataset, p.passId, { status: 'pairing', phase: 'candidates' });
  const s = queuedDuplicateSettings(deps.config, plan.cosine);
  const record = await deps.runs.getDataset(p.dataset);
  if (!record) throw new UserError(`Dataset "${p.dataset}" not found`);
  // The job's progress, and every ~10 s the pass's updatedAt (what `imgsim dataset
  // duplicates --wait` and the web page judge a stopped pass by).
  let beat = Date.now();
  const progress = (phase: string, done: number, total: number): void => {
    job.updateProgress({ phase, done, total }).catch(() => undefined);
    if (Date.now() - beat < 10_000) return;
    beat = Date.now();
    deps.passes.update(p.dataset, p.passId, { phase: 'candidates' }).catch(() => undefined);
  };
  const t0 = performance.now();
  const loaded = await collectImages(p, plan, before, deps, s);
  const t1 = performance.now();
  const words = wordsCollection(p.dataset);
  const n = loaded.keys.length;
  const posOf = new Map<string, number>();
  loaded.keys.forEach((k, i) => posOf.set(k, i));
  const freshCount = loaded.freshKeys.length;
  // Positions 0 … freshCount − 1 are this pass's images (collectImages lists them first).
  const isFresh = (i: number): boolean => i < freshCount;
  const wanted = (a: number, b: number): boolean => plan.compareAll || isFresh(a) || isFresh(b);

  // Words points of images that are no longer current leave the collection.
  const current = new Set(loaded.keys);
  const stale = new Set<string>([...(before ? [...before.files.flatMap((f) => f.keys), ...before.failed.map((f) => f.key)] : []), ...loaded.failed.map((f) => f.key), ...loaded.gaveUp.map((f) => f.key)]);
  await deps.qdrant.ensureSparseCollection(words, WORDS_VECTOR);
  loop.mark('stale words');
  await deps.qdrant.deleteKeys(words, p.dataset, [...stale].filter((k) => !current.has(k)));

  // The hashes of every current image, from the words points' payloads.
  loop.mark('hashes');
  const hashes = await readHashes(deps, p.dataset, words, posOf, loaded.etags);
  if (hashes.missing > 0) deps.logger.warn({ dataset: p.dataset, passId: p.passId, missing: hashes.missing }, 'duplicates: images without a words point (no exact, perceptual or word candidates for them)');
  progress('candidates', 0, n);
  const has = (i: number): boolean => hashes.has[i] === 1;
  loop.mark('exact');
  const exact = await exactPairs(n, (i) => (has(i) ? hashes.sha.toString('hex', 32 * i, 32 * i + 32) : `-${i}`), (i) => (has(i) ? hashes.pixels.toString('hex', 32 * i, 32 * i + 32) : `-${i}`), wanted);
  // Every pair within the hash distance (multi-index hashing, sliced): on an incremental
  // pass only the new images are looked up.
  loop.mark('perceptual');
  const perceptual = await perceptualCandidates(hashes.ph, s.thresholds.hashDistance, {
    wanted: (a, b) => has(a) && has(b) && wanted(a, b),
    ...(plan.compareAll ? {} : { queries: Array.from({ length: freshCount }, (_, i) => i) }),
    onProgress: (done, total) => progress('perceptual', done, total),
  });

  // Word and embedding candidates of the asked images (every image when comparing all).
  loop.mark('word candidates');
  const asked = plan.compareAll ? loaded.keys : loaded.freshKeys;
  const candidates = new Map<number, number | undefined>(); // pair → cosine when known
  for (let start = 0; start < asked.length; start += NEIGHBOUR_CHUNK) {
    const hits = await deps.qdrant.neighboursOfKeys(words, p.dataset, asked.slice(start, start + NEIGHBOUR_CHUNK), s.candidates, 64, WORDS_VECTOR);
    for (const [key, list] of hits) {
      const i = posOf.get(key) as number;
      for (const h of list) {
        const j = posOf.get(h.key);
        if (j === undefined || j === i) continue;
        const k = pairKeyOf(i, j);
        if (!candidates.has(k)) candidates.set(k, undefined);
      }
    }
    progress('candidates', Math.min(start + NEIGHBOUR_CHUNK, asked.length), asked.length);
  }
  loop.mark('learned candidates');
  const learned = await learnedNeighbours(p, plan, asked, s.candidates, deps);
  // --fraction: the cosine that this share of the images reach with their nearest neighbour
  // among this pass's images (every one was asked: plan.compareAll), as `imgsim duplicates
  // --fraction` chooses it over the images it fingerprinted.
  const nearest = (list: ReadonlyArray<[string, number]>): number => list.reduce((best, [other, c]) => (posOf.has(other) ? Math.max(best, c) : best), -1);
  const learnedCosine = plan.fraction === undefined ? s.thresholds.cosine : cosineForFraction(learned.lists.filter(([key]) => posOf.has(key)).map(([, list]) => nearest(list)), plan.fraction);
  if (plan.fraction !== undefined) deps.logger.info({ dataset: p.dataset, passId: p.passId, fraction: plan.fraction, cosine: learnedCosine, images: learned.lists.length }, 'duplicates: learned threshold chosen');
  for (const [key, list] of learned.lists) {
    const i = posOf.get(key);
    if (i === undefined) continue;
    for (const [other, cosine] of list) {
      const j = posOf.get(other);
      if (j === undefined || j === i || !wanted(i, j)) continue;
      candidates.set(pairKeyOf(i, j), cosine);
    }
  }

  // Exact pairs are decided here; every other candidate goes to a verify job.
  const members: StoredReport['members'] = {};
  const member = (i: number): void => {
    members[loaded.keys[i] as string] = { width: hashes.sizes[3 * i] as number, height: hashes.sizes[3 * i + 1] as number, bytes: hashes.sizes[3 * i + 2] as number };
  };
  const exactStored: StoredPair[] = [];
  for (const [k, identical] of exact) {
    const { a, b } = pairOfKey(k);
    const cosine = candidates.get(k);
    exactStored.push({ a: loaded.keys[a] as string, b: loaded.keys[b] as string, tier: 'exact', identical, ...(cosine !== undefined ? { cosine: round3(cosine) } : {}) });
    member(a);
    member(b);
  }
  const tasks: Array<[number, number, number, number, number, number | null]> = [];
  for (const [k, c] of perceptual) {
    if (exact.has(k)) continue;
    const { a, b } = pairOfKey(k);
    tasks.push([a, b, c.distance, c.mirrored ? 1 : 0, candidates.has(k) ? 1 : 0, candidates.get(k) ?? null]);
  }
  for (const [k, cosine] of candidates) {
    if (exact.has(k) || perceptual.has(k)) continue;
    const { a, b } = pairOfKey(k);
    tasks.push([a, b, -1, 0, 1, cosine ?? null]);
  }
  const fileOf = loaded.fileOf;
  loop.mark('chunks');
  tasks.sort((x, y) => (fileOf[x[0]] as number) - (fileOf[y[0]] as number) || (fileOf[x[1]] as number) - (fileOf[y[1]] as number) || x[0] - y[0] || x[1] - y[1]);
  let chunks = 0;
  for (let start = 0; start < tasks.length; start += CHUNK_PAIRS) {
    const slice = tasks.slice(start, start + CHUNK_PAIRS);
    const local = new Map<number, number>();
    const at = (i: number): number => {
      let l = local.get(i);
      if (l === undefined) local.set(i, (l = local.size));
      return l;
    };
    const pairs = slice.map(([a, b, d, m, c, cos]): VerifyChunk['pairs'][number] => [at(a), at(b), d, m, c, cos]);
    const positions = [...local.keys()];
    const chunk: VerifyChunk = {
      version: 1,
      source: record.source,
      keys: positions.map((i) => loaded.keys[i] as string),
      etags: positions.map((i) => loaded.etags[i] as string),
      files: positions.map((i) => loaded.files[fileOf[i] as number]?.file as string),
      records: positions.map((i) => loaded.records[i] ?? null),
      pairs,
      cosine: learnedCosine,
    };
    await writeJson(deps.artifacts, passKeys.chunk(p.dataset, p.passId, chunks++), chunk);
  }
  const t2 = performance.now();
  const state: CandidatesState = {
    version: 1,
    passId: p.passId,
    collection: learned.collection,
    ...(learned.skipped !== undefined ? { learnedSkipped: learned.skipped } : {}),
    cosine: learnedCosine,
    images: n,
    fresh: freshCount,
    freshKeys: loaded.freshKeys,
    ledger: { version: 1, passId: p.passId, words, workingSize: s.workingSize, nfeatures: s.nfeatures, files: loaded.files, failed: loaded.failed },
    obsolete: loaded.obsolete,
    gaveUp: loaded.gaveUp,
    exact: exactStored,
    members,
    chunks,
    candidatePairs: tasks.length,
    seconds: { load: secs(t1 - t0), candidates: secs(t2 - t1) },
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    ...blockFields(loop.stop()),
  };
  await writeJson(deps.artifacts, passKeys.state(p.dataset, p.passId), state);
  await deps.passes.update(p.dataset, p.passId, { phase: 'verifying', candidatePairs: tasks.length, chunks, verified: 0 });
  deps.logger.info({ dataset: p.dataset, passId: p.passId, images: n, fresh: freshCount, exact: exactStored.length, candidates: tasks.length, chunks, seconds: state.seconds }, 'duplicates: candidates found');
  await next.duplicatesPairs(p, chunks, deps);
  return { chunks, candidates: tasks.length };
}

export async function complete(p: { dataset: string; passId: string }, report: StoredReport, deps: DuplicateDeps): Promise<{ images: number; pairs: number; groups: number }> {
  // Counted from the stored report in a worker thread: grouping 100,000 pairs holds a loop ~1–2 s (BullMQ's lock renewals wait).
  const groups = await countGroupsOffLoop(deps.artifacts, p.dataset, DEFAULT_MIN_TIER);
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

/** Every current image's hashes and sizes from the words collection's payloads (those at the ETag this pass holds). */
async function readHashes(
  deps: DuplicateDeps,
  dataset: string,
  words: string,
  posOf: ReadonlyMap<string, number>,
  etags: readonly string[],
): Promise<{ sha: Buffer; pixels: Buffer; ph: Uint32Array; sizes: Float64Array; has: Uint8Array; missing: number }> {
  const n = etags.length;
  const out = { sha: Buffer.alloc(32 * n), pixels: Buffer.alloc(32 * n), ph: new Uint32Array(4 * n), sizes: new Float64Array(3 * n), has: new Uint8Array(n), missing: 0 };
  for await (const point of deps.qdrant.scroll(words, { dataset, payloadFields: HASH_FIELDS, pageSize: 1000 })) {
    const i = posOf.get(point.key);
    if (i === undefined) continue;
    const h = hashesOf(point.payload);
    if (!h || h.etag !== etags[i]) continue;
    out.sha.write(h.sha256, 32 * i, 'hex');
    out.pixels.write(h.pixels, 32 * i, 'hex');
    out.ph.set([h.phash[0], h.phash[1], h.mirror[0], h.mirror[1]], 4 * i);
    out.sizes.set([h.width, h.height, h.bytes], 3 * i);
    out.has[i] = 1;
  }
  for (let i = 0; i < n; i++) if (out.has[i] === 0) out.missing++;
  return out;
}

interface Collected {
  /** Every current image's key and ETag, this pass's first, in the pass's order; fileOf: its file's index in `files`; records: where its record lies there (null: unknown, a ledger file from before spans). */
  keys: string[];
  etags: string[];
  fileOf: number[];
  records: Array<RecordSpanPair | null>;
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

/** This pass's batches, then the ledger's live fingerprints of images it left alone: their keys, and the new ledger's files. */
async function collectImages(p: PairsPayload, plan: PassPlan, ledger: Ledger | undefined, deps: DuplicateDeps, s: { workingSize: number; nfeatures: number }): Promise<Collected> {
  const out: Collected = { keys: [], etags: [], fileOf: [], records: [], freshKeys: [], files: [], obsolete: [], failed: [], gaveUp: [] };
  const seen = new Set<string>();
  /**
   * The file's current images (key, ETag, and where its record lies when known) into the
   * ledger being built; `count`: every record the file holds.
   */
  const register = (file: string, count: number, entries: Iterable<[string, string, RecordSpanPair | undefined]>, fresh: boolean): void => {
    const f = out.files.length;
    const keys: string[] = [];
    const etags: string[] = [];
    const records: RecordSpanPair[] = [];
    for (const [key, etag, span] of entries) {
      seen.add(key);
      out.keys.push(key);
      out.etags.push(etag);
      out.fileOf.push(f);
      out.records.push(span ?? null);
      if (fresh) out.freshKeys.push(key);
      keys.push(key);
      etags.push(etag);
      if (span) records.push(span);
    }
    out.files.push({ file, count, keys, etags, ...(records.length === keys.length ? { records } : {}) });
  };
  /** The file's records as this pass's images (their spans noted as they are skipped); nothing is decoded. */
  const add = (file: string, bytes: Buffer, fresh: boolean): void => {
    const kept: Array<[string, string, RecordSpanPair]> = [];
    let records = 0;
    const read = decodeFingerprints(bytes, file, (key, etag, span) => {
      records++;
      if (!seen.has(key)) kept.push([key, etag, [span.offset, span.length]]);
      return false;
    });
    if (read.workingSize !== s.workingSize || read.nfeatures !== s.nfeatures) throw new Error(`${file}: fingerprints at ${read.workingSize} px × ${read.nfeatures}, this pass uses ${s.workingSize} × ${s.nfeatures}`);
    register(file, records, kept, fresh);
    if (fresh) out.failed.push(...read.failed);
  };

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
    add(file, await deps.artifacts.get(key), true);
    await yieldToEventLoop();
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
    add(file, bytes, false);
  };
  for (const f of ledger.files) {
    const live = new Map<string, string>();
    const spans = new Map<string, RecordSpanPair | undefined>();
    f.keys.forEach((k, i) => {
      if (dropped.has(k) || seen.has(k)) return;
      live.set(k, f.etags[i] ?? '');
      spans.set(k, f.records?.[i]);
    });
    if (live.size === 0) {
      out.obsolete.push(f.file);
      continue;
    }
    if (live.size * 2 >= f.count) {
      // Kept as it is: its live keys (and their records' spans, when the ledger has them) are in the ledger, the file is not read.
      register(f.file, f.count, [...live].map(([k, etag]): [string, string, RecordSpanPair | undefined] => [k, etag, spans.get(k)]), false);
      continue;
    }
    // Mostly stale records: its live ones go into a fresh file with others of the kind.
    out.obsolete.push(f.file);
    const key = artifactKeys.duplicatesFingerprints(p.dataset, f.file);
    compact.push(...decodeFingerprints(await deps.artifacts.get(key), key, (k, etag) => live.get(k) === etag).prints);
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

/** A LoopBlock as stored: worstBlockMs (read by older code) and the block itself. */
export const blockFields = (b: LoopBlock): { worstBlockMs: number; worstBlock: LoopBlock } => ({ worstBlockMs: b.ms, worstBlock: b });

export const secs = (ms: number): number => Math.round(ms / 100) / 10;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;
