// The last two steps of a queued duplicates pass (the duplicates queue):
//
// verify (one job per chunk of candidate pairs, spread over every duplicates worker): read
// the chunk the pairs step wrote (duplicates-store.ts chunkSchema: ≤ CHUNK_PAIRS pairs,
// grouped by the files their images are in), load only the fingerprints those pairs need
// (duplicates-records.ts: their records alone, by ranged reads coalesced per file; a file
// whose records' spans are unknown is read whole), and judge each pair with
// findPairs' own rules (shared/duplicates/pairs.ts: judgePerceptual on a hash candidate —
// a mirror-hash pair confirmed on the mirror image's ORB features, decoded from the bytes
// read from the source — then judgeCandidate: verified by ORB + RANSAC, else learned by
// cosine). The event loop turns every 50 ms. Its pairs go to the artefact store, with the
// bytes and GETs it read (summed into the report's verifyReads); a retried job whose pairs
// are stored does nothing.
//
// merge (after every verify job, done or given up): the report from the exact pairs and
// every chunk's pairs (a chunk whose job gave up fails the pass: its pairs were never
// judged), with the previous report's pairs between two images this pass left alone; the
// report, then the ledger (the commit), then the files and pass artefacts nothing refers to
// are deleted. A retried merge after the commit only marks the pass completed.
import { ImageError, UserError } from '../../shared/errors.js';
import { yieldToEventLoop } from '../../shared/concurrency.js';
import { mirroredPrint, type Fingerprint } from '../../shared/duplicates/fingerprint.js';
import { judgeCandidate, judgePerceptual } from '../../shared/duplicates/pairs.js';
import { TIERS, type Tier } from '../../shared/duplicates/tiers.js';
import { loadOpenCv } from '../../shared/features/opencv.js';
import { failureOf } from '../../shared/images/failures.js';
import type { JobPayload } from '../../shared/jobs/contracts.js';
import type { JobHandle } from '../../shared/jobs/handlers.js';
import { longerBlock, watchStep, type LoopBlock, type StepWatch } from '../../shared/loop-watch.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import { queuedDuplicateSettings, type DuplicateDeps } from './duplicates-plan.js';
import { blockFields, complete, secs } from './duplicates-pairs.js';
import { readChunkPrints } from './duplicates-records.js';
import { passKeys, readChunk, readChunkPairs, readLedger, readPlan, readReport, readState, writeJson, type ChunkPairs, type StoredPair, type StoredReport } from './duplicates-store.js';

type VerifyPayload = Extract<JobPayload<'duplicates'>, { step: 'verify' }>;
type MergePayload = Extract<JobPayload<'duplicates'>, { step: 'merge' }>;

/** One chunk of candidate pairs: judge them, store the pairs found. */
export async function verifyStep(p: VerifyPayload, deps: DuplicateDeps, job: JobHandle): Promise<{ pairs: number; judged: number }> {
  // Stopped however the step ends: a job that throws (a transient fault, retried) would
  // otherwise leave its 10 ms timer running in the worker for good, one more each attempt.
  const loop = watchStep('read');
  try {
    return await judgeChunk(p, deps, job, loop);
  } finally {
    loop.stop();
  }
}

async function judgeChunk(p: VerifyPayload, deps: DuplicateDeps, job: JobHandle, loop: StepWatch): Promise<{ pairs: number; judged: number }> {
  const key = passKeys.pairs(p.dataset, p.passId, p.chunk);
  const done = await readChunkPairs(deps.artifacts, p.dataset, p.passId, p.chunk);
  if (done) {
    // Written by an attempt that stopped before it was counted (counted once however often).
    await deps.passes.addVerified(p.dataset, p.passId, p.chunk);
    return { pairs: done.pairs.length, judged: -1 };
  }
  const chunk = await readChunk(deps.artifacts, p.dataset, p.passId, p.chunk);
  if (!chunk) throw new UserError(`duplicates pass ${p.passId}: verify chunk ${p.chunk} is missing (${passKeys.chunk(p.dataset, p.passId, p.chunk)})`);
  const t0 = performance.now();
  const s = queuedDuplicateSettings(deps.config, chunk.cosine);
  const cv = await loadOpenCv();

  // The fingerprints of the chunk's images: their records only, by ranged reads.
  const { prints, read } = await readChunkPrints(deps.artifacts, p.dataset, chunk, `duplicates pass ${p.passId}: chunk ${p.chunk}`);

  // A pair found by one image's mirror hash is confirmed on that image's mirror image's ORB
  // features: decoded again from its bytes (once an image, however many pairs it is in).
  let source: Awaited<ReturnType<DuplicateDeps['openSource']>> | undefined;
  const mirrors = new Map<number, ReturnType<typeof mirrorOf>>();
  const mirrorOf = async (i: number): Promise<Awaited<ReturnType<typeof mirroredPrint>> | undefined> => {
    const k = chunk.keys[i] as string;
    let bytes: Buffer;
    try {
      source ??= await deps.openSource(chunk.source);
      bytes = await source.get(k);
    } catch (error) {
      if (failureOf(k, error)) return undefined; // gone or unreadable since: no mirrored evidence
      throw error;
    }
    try {
      return await mirroredPrint(cv, k, bytes, { workingSize: s.workingSize, nfeatures: s.nfeatures, maxPixels: s.maxPixels });
    } catch (error) {
      if (error instanceof ImageError) return undefined; // changed since it was fingerprinted
      throw error;
    }
  };
  const mirrored = (i: number): ReturnType<typeof mirrorOf> => {
    let m = mirrors.get(i);
    if (!m) mirrors.set(i, (m = mirrorOf(i)));
    return m;
  };

  const pairs: StoredPair[] = [];
  const members: StoredReport['members'] = {};
  let slice = performance.now();
  loop.mark('judge');
  let judged = 0;
  for (const [a, b, distance, isMirrored, candidate, cosine] of chunk.pairs) {
    judged++;
    const fa = prints[a] as Fingerprint;
    const fb = prints[b] as Fingerprint;
    let evidence = distance >= 0 ? await judgePerceptual(cv, fa, fb, { distance, mirrored: isMirrored === 1 }, s.thresholds, () => mirrored(a)) : undefined;
    if (evidence && cosine !== null) evidence.cosine = Math.round(cosine * 1000) / 1000;
    if (!evidence && candidate === 1) evidence = judgeCandidate(cv, fa, fb, cosine ?? undefined, s.thresholds, s.thresholds.cosine);
    if (evidence) {
      pairs.push({ ...evidence, a: fa.key, b: fb.key });
      for (const f of [fa, fb]) members[f.key] = { width: f.width, height: f.height, bytes: f.bytes };
    }
    if (performance.now() - slice > 50) {
      job.updateProgress({ phase: 'verify', chunk: p.chunk, done: judged, total: chunk.pairs.length }).catch(() => undefined);
      await yieldToEventLoop();
      slice = performance.now();
    }
  }
  const result: ChunkPairs = { version: 1, pairs, members, seconds: secs(performance.now() - t0), peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), ...blockFields(loop.stop()), read };
  await writeJson(deps.artifacts, key, result);
  await deps.passes.addVerified(p.dataset, p.passId, p.chunk);
  return { pairs: pairs.length, judged };
}

/** The report from every chunk's pairs, then the commit. */
export async function mergeStep(p: MergePayload, deps: DuplicateDeps): Promise<{ images: number; pairs: number; groups: number }> {
  const before = await readLedger(deps.artifacts, p.dataset);
  if (before?.passId === p.passId) {
    const report = await readReport(deps.artifacts, p.dataset);
    if (!report || report.passId !== p.passId) throw new Error(`duplicates pass ${p.passId}: the ledger is committed but the report is not this pass's`);
    return complete(p, report, deps);
  }
  const [plan, state] = await Promise.all([readPlan(deps.artifacts, p.dataset, p.passId), readState(deps.artifacts, p.dataset, p.passId)]);
  if (!plan || !state) throw new UserError(`duplicates pass ${p.passId} of dataset "${p.dataset}" has no ${plan ? 'candidates' : 'plan'} to merge`);
  await deps.passes.update(p.dataset, p.passId, { phase: 'merging' });
  const s = queuedDuplicateSettings(deps.config, state.cosine);
  const members: StoredReport['members'] = { ...state.members };
  const found: StoredPair[] = [...state.exact];
  let peakRssMiB = state.peakRssMiB;
  let worstBlock: LoopBlock | undefined = state.worstBlock ?? { ms: state.worstBlockMs, cpuMs: 0, during: 'candidates' };
  let verifySeconds = 0;
  const reads = { bytes: 0, requests: 0, jobs: 0 };
  for (let n = 0; n < state.chunks; n++) {
    const chunk = await readChunkPairs(deps.artifacts, p.dataset, p.passId, n);
    // Its verify job gave up (the pass is failed already): nothing to retry here.
    if (!chunk) throw new UserError(`duplicates pass ${p.passId}: the verify job of chunk ${n} gave up; its pairs were never judged`);
    found.push(...chunk.pairs);
    Object.assign(members, chunk.members);
    peakRssMiB = Math.max(peakRssMiB, chunk.peakRssMiB);
    worstBlock = longerBlock(worstBlock, chunk.worstBlock ? { ...chunk.worstBlock, during: `verify ${chunk.worstBlock.during}` } : { ms: chunk.worstBlockMs, cpuMs: 0, during: 'verify' });
    verifySeconds += chunk.seconds;
    if (chunk.read) {
      reads.bytes += chunk.read.bytes;
      reads.requests += chunk.read.requests;
      reads.jobs++;
    }
  }

  // Pairs of the previous report between two images this pass left alone stay as they were.
  const dropped = new Set([...plan.gone, ...plan.changed, ...state.freshKeys]);
  const previous = plan.compareAll ? undefined : await readReport(deps.artifacts, p.dataset);
  const present = new Set(state.ledger.files.flatMap((f) => f.keys));
  const pairs: StoredPair[] = [];
  for (const q of previous?.pairs ?? []) {
    if (dropped.has(q.a) || dropped.has(q.b) || !present.has(q.a) || !present.has(q.b)) continue;
    pairs.push(q);
    for (const key of [q.a, q.b]) members[key] ??= previous?.members[key] as StoredReport['members'][string];
  }
  pairs.push(...found);
  pairs.sort((x, y) => (x.a < y.a ? -1 : x.a > y.a ? 1 : x.b < y.b ? -1 : x.b > y.b ? 1 : 0));
  const pairsByTier = Object.fromEntries(TIERS.map((t) => [t, 0])) as Record<Tier, number>;
  for (const q of pairs) pairsByTier[q.tier]++;
  const startedAt = (await deps.passes.get(p.dataset))?.startedAt;
  const report: StoredReport = {
    version: 1,
    dataset: p.dataset,
    passId: p.passId,
    mode: p.mode,
    collection: state.collection,
    modelId: p.modelId,
    finishedAt: new Date().toISOString(),
    images: state.images,
    fingerprinted: state.fresh,
    compareAll: plan.compareAll,
    thresholds: s.thresholds,
    ...(plan.fraction !== undefined ? { fraction: plan.fraction } : {}),
    candidates: s.candidates,
    workingSize: s.workingSize,
    nfeatures: s.nfeatures,
    ...(state.learnedSkipped !== undefined ? { learnedSkipped: state.learnedSkipped } : {}),
    failed: [...state.ledger.failed, ...state.gaveUp].sort((x, y) => (x.key < y.key ? -1 : 1)),
    pairsByTier,
    pairs,
    members,
    seconds: {
      load: state.seconds.load,
      candidates: state.seconds.candidates,
      pairs: Math.round(verifySeconds * 10) / 10,
      total: startedAt ? secs(Date.now() - Date.parse(startedAt)) : state.seconds.load + state.seconds.candidates + verifySeconds,
    },
    memory: { fingerprints: state.images, peakRssMiB, worstBlockMs: worstBlock?.ms ?? 0, ...(worstBlock ? { worstBlock } : {}) },
    ...(reads.jobs > 0 ? { verifyReads: reads } : {}),
  };
  await writeJson(deps.artifacts, artifactKeys.duplicatesReport(p.dataset), report);
  await writeJson(deps.artifacts, artifactKeys.duplicatesLedger(p.dataset), state.ledger);
  for (const file of state.obsolete) await deps.artifacts.delete(artifactKeys.duplicatesFingerprints(p.dataset, file));
  for (let n = 0; n < state.chunks; n++) {
    await deps.artifacts.delete(passKeys.chunk(p.dataset, p.passId, n));
    await deps.artifacts.delete(passKeys.pairs(p.dataset, p.passId, n));
  }
  await deps.artifacts.delete(passKeys.state(p.dataset, p.passId));
  await deps.artifacts.delete(artifactKeys.duplicatesPlan(p.dataset, p.passId));
  deps.logger.info({ dataset: p.dataset, passId: p.passId, images: state.images, fingerprinted: state.fresh, pairs: pairs.length, chunks: state.chunks, seconds: report.seconds, peakRssMiB, worstBlock, verifyReads: reads }, 'duplicates: pass done');
  return complete(p, report, deps);
}
