// Eval of the duplicates stage (imgsim eval-duplicates): from a folder of images, copy
// every image to <out>/data/originals/ and write one edited copy of each kind
// (shared/images/edits.ts: crop, rotate, scale, jpeg, brightness, flip, aspect, exact) of a
// seeded choice of them to <out>/data/edits/<stem>-<kind>.<ext>; run findDuplicates on
// originals + copies at the default thresholds; score the groups against the families
// (an original and its copies) with shared/duplicates/scoring.ts.
//
// The duplicates pass reports every tier (min tier `learned`), so each tier's own pairs can
// be scored; the headline figures group at the default min tier, as `imgsim duplicates`
// reports. Learned tier: with `index` (an index folder built on <out>/data), its
// embeddings give candidates and the learned tier; without, both are skipped.
//
// Retrieval: for each copy, is its original among its k best visual-word candidates
// (shared/duplicates/word-index.ts, as findPairs ranks them)? That needs the fingerprints,
// which findDuplicates does not hand back, so they are computed a second time, after the
// timed pass (its time is reported apart).

import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { mapConcurrent } from '../shared/concurrency.js';
import type { Fingerprint } from '../shared/duplicates/fingerprint.js';
import { falseEdges, foundInTop, kindScores, originalsGrouped, pairScore, groupsOf, tierScores, type Edge, type KindScore, type PairScore, type TierScore } from '../shared/duplicates/scoring.js';
import { DEFAULT_MIN_TIER, DEFAULT_THRESHOLDS, DUPLICATE_NFEATURES, DUPLICATE_WORKING_SIZE, type DuplicateThresholds, type Tier } from '../shared/duplicates/tiers.js';
import { WordIndex } from '../shared/duplicates/word-index.js';
import type { DuplicatePair } from '../shared/duplicates/groups.js';
import { UserError } from '../shared/errors.js';
import { EDIT_KINDS, type EditKind } from '../shared/features/defaults.js';
import type { Failure } from '../shared/images/decoded.js';
import { makeDuplicate } from '../shared/images/edits.js';
import type { Logger } from '../shared/logger.js';
import { createProgress, type Progress } from '../shared/progress.js';
import { createRng, shuffleInPlace } from '../shared/random.js';
import { LocalStorage } from '../shared/storage/local.js';
import { FlatIndex } from '../shared/vectors/flat-index.js';
import { findDuplicates, fingerprintImages, type DuplicateImage, type DuplicateSettings, type EmbeddingLookup } from './duplicates.js';
import { listImages } from './ingest.js';
import { readIndexManifest } from './layout.js';

export const DEFAULT_EVAL_QUERIES = 100;
export const EVAL_REPORT_FILE = 'duplicates-eval.json';
export const EVAL_EDITS_FILE = 'edits.json';

export interface DuplicatesEvalOptions {
  folder: string;
  out: string;
  /** Originals that get edited copies (a seeded choice); default 100, or all when fewer. */
  queries?: number;
  seed: number;
  /** Retrieval recall@k. */
  k: number;
  /** Visual-word and embedding candidates per image (findDuplicates). */
  candidates: number;
  /** An index folder built on <out>/data: its embeddings give the learned tier. */
  index?: string;
  maxPixels: number;
  /** Images decoded at once. */
  concurrency: number;
  logger?: Logger;
  progressBar?: boolean;
}

/** One original and its edited copies (keys relative to <out>/data). */
export interface EditedFamily {
  original: string;
  edits: Array<{ key: string; kind: EditKind }>;
}

export interface DuplicatesEvalReport {
  version: 1;
  folder: string;
  data: string;
  seed: number;
  originals: number;
  /** Originals with edited copies. */
  queries: number;
  kinds: readonly EditKind[];
  copies: number;
  /** Images the duplicates pass fingerprinted (originals + copies, less failures). */
  images: number;
  failed: Failure[];
  learned: { used: false; why: string } | { used: true; index: string; embedded: number; cosine: number };
  minTier: Tier;
  thresholds: DuplicateThresholds;
  candidates: number;
  /** Grouped at the default min tier. */
  pairs: PairScore;
  tiers: Record<Tier, TierScore>;
  /** Per kind of edit; `missed` lists the first 20 copies not grouped with their original. */
  byKind: Record<EditKind, KindScore & { retrieval: number | null; retrievalWithoutSiblings: number | null }>;
  /** Pairs of distinct originals (unedited pictures) that share a group: should be 0. */
  distinctOriginalsGrouped: number;
  /** Of the confirmed pairs across families, those joining two originals directly (the rest join through edited copies). */
  distinctOriginalsPaired: number;
  /** Confirmed pairs joining two families (any tier), the first 20. */
  falsePairs: DuplicatePair[];
  falsePairCount: number;
  retrieval: { k: number; recall: number | null; recallWithoutSiblings: number | null };
  seconds: { generate: number; fingerprint: number; pairs: number; duplicates: number; retrieval: number; total: number };
  /** CPU time of the process (every thread) in the duplicates pass and the retrieval pass: on a shared machine, what the work itself took. */
  cpuSeconds: { duplicates: number; retrieval: number };
  /** The machine's 1-minute load average before and after the duplicates pass, and its cores. */
  load: { before: number; after: number; cores: number };
  /** The duplicates pass's time per 1,000 images. */
  perThousandImages: { fingerprint: number; pairs: number; total: number };
}

const secs = (ms: number): number => Math.round(ms / 100) / 10;
const cpuSeconds = (u: NodeJS.CpuUsage): number => secs((u.user + u.system) / 1000);
const round2 = (x: number): number => Math.round(x * 100) / 100;

function inside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** A file-name stem for `key` (sub-folders joined by _), unique among `used`. */
function stemOf(key: string, used: Set<string>): string {
  const base = key.replace(/\.[^./]+$/, '').replace(/[^A-Za-z0-9._-]+/g, '_');
  let stem = base;
  for (let n = 2; used.has(stem); n++) stem = `${base}-${n}`;
  used.add(stem);
  return stem;
}

/**
 * Copies every image of `folder` to <data>/originals/ and writes one edited copy of each
 * kind of a seeded choice of `queries` of them to <data>/edits/; the families, keys relative to <data>.
 */
export async function writeEditedCopies(
  folder: string,
  data: string,
  o: { queries?: number; seed: number; logger?: Logger; progressBar?: boolean },
): Promise<{ families: EditedFamily[]; originals: string[] }> {
  const info = await stat(folder).catch(() => undefined);
  if (!info) throw new UserError(`Source folder not found: ${folder}`);
  if (!info.isDirectory()) throw new UserError(`Source is not a folder: ${folder}`);
  const source = new LocalStorage(folder);
  const { images } = await listImages(source);
  const keys = images.map((i) => i.key).sort();
  if (keys.length < 2) throw new UserError(`${folder} has ${keys.length} image(s); eval-duplicates needs at least 2`);
  const rng = createRng(o.seed);
  const chosen = shuffleInPlace([...keys], rng)
    .slice(0, Math.min(keys.length, o.queries ?? DEFAULT_EVAL_QUERIES))
    .sort();
  const seeds = new Map(chosen.map((k) => [k, Math.floor(rng() * 4294967296)]));
  const used = new Set<string>();
  const stems = new Map(chosen.map((k) => [k, stemOf(k, used)]));
  await mapConcurrent(keys, 8, async (key) => {
    const to = path.join(data, 'originals', ...key.split('/'));
    await mkdir(path.dirname(to), { recursive: true });
    await copyFile(path.join(source.root, ...key.split('/')), to);
  });
  await mkdir(path.join(data, 'edits'), { recursive: true });
  const progress = createProgress({ label: 'edited copies', total: chosen.length, unit: 'originals', ...(o.logger ? { logger: o.logger } : {}), ...(o.progressBar !== undefined ? { bar: o.progressBar } : {}) });
  let done = 0;
  const families = await mapConcurrent(chosen, 4, async (key): Promise<EditedFamily> => {
    const bytes = await readFile(path.join(source.root, ...key.split('/')));
    const editRng = createRng(seeds.get(key) as number);
    const ext = key.match(/\.[^./]+$/)?.[0] ?? '';
    const edits: EditedFamily['edits'] = [];
    for (const kind of EDIT_KINDS) {
      const editKey = `edits/${stems.get(key) as string}-${kind}${kind === 'exact' ? ext : '.jpg'}`;
      await writeFile(path.join(data, ...editKey.split('/')), await makeDuplicate(bytes, kind, editRng));
      edits.push({ key: editKey, kind });
    }
    progress.update(++done);
    return { original: `originals/${key}`, edits };
  });
  progress.stop();
  return { families, originals: keys.map((k) => `originals/${k}`) };
}

/** The embeddings of an index folder built on `data`, every image present, or a UserError naming what is missing. */
async function embeddingsOf(indexDir: string, data: string, keys: readonly string[], logger?: Logger): Promise<{ lookup: EmbeddingLookup; count: number }> {
  const storage = new LocalStorage(indexDir);
  const manifest = await readIndexManifest(storage);
  const index = await FlatIndex.load(storage);
  const rows = new Map(index.allKeys().map((k, r) => [k, r]));
  const missing = keys.filter((k) => !rows.has(k));
  if (missing.length > 0) {
    throw new UserError(`The index ${indexDir} lacks ${missing.length} of the ${keys.length} images (e.g. ${missing[0]}); build it on ${data} (imgsim run ${data} --out …) after a first eval-duplicates run with the same --out, --queries and --seed`);
  }
  if (manifest.source !== pathToFileURL(data).href) logger?.warn({ index: indexDir, source: manifest.source }, `the index ${indexDir} was built on ${manifest.source}, not on ${data}; its vectors are used by key`);
  const view = index.view();
  const dim = index.dim;
  return {
    lookup: {
      dim,
      vectorOf: (key) => {
        const r = rows.get(key);
        return r === undefined ? undefined : view.subarray(r * dim, (r + 1) * dim);
      },
    },
    count: keys.length,
  };
}

/** Progress of the duplicates pass: one bar or log series per phase. */
function phaseProgress(o: Pick<DuplicatesEvalOptions, 'logger' | 'progressBar'>, prefix = ''): { update: (phase: string, done: number, total: number) => void; stop: () => void } {
  const bars = new Map<string, Progress>();
  let current: Progress | undefined;
  return {
    update(phase, done, total) {
      let bar = bars.get(phase);
      if (!bar) {
        current?.stop();
        bar = createProgress({ label: `${prefix}${phase}`, total, unit: phase === 'fingerprint' ? 'images' : phase === 'candidates' ? 'images' : 'pairs', ...(o.logger ? { logger: o.logger } : {}), ...(o.progressBar !== undefined ? { bar: o.progressBar } : {}) });
        bars.set(phase, bar);
        current = bar;
      }
      bar.update(done);
    },
    stop: () => current?.stop(),
  };
}

export async function evaluateDuplicates(o: DuplicatesEvalOptions): Promise<DuplicatesEvalReport> {
  const t0 = performance.now();
  const folder = path.resolve(o.folder);
  const out = path.resolve(o.out);
  const data = path.join(out, 'data');
  if (inside(out, folder)) throw new UserError(`--out ${o.out} is inside the folder ${o.folder}: its copies would be read as originals on the next run; choose a folder outside it`);
  if (inside(folder, out)) throw new UserError(`the folder ${o.folder} is inside --out ${o.out}; choose an --out outside it`);

  const { families, originals } = await writeEditedCopies(folder, data, { ...(o.queries !== undefined ? { queries: o.queries } : {}), seed: o.seed, ...(o.logger ? { logger: o.logger } : {}), ...(o.progressBar !== undefined ? { progressBar: o.progressBar } : {}) });
  await writeFile(path.join(out, EVAL_EDITS_FILE), `${JSON.stringify(families, null, 1)}\n`);
  const t1 = performance.now();

  const keys = [...originals, ...families.flatMap((f) => f.edits.map((e) => e.key))];
  const images: DuplicateImage[] = keys.map((key) => {
    const file = path.join(data, ...key.split('/'));
    return { key, path: file, load: () => readFile(file) };
  });
  const embeddings = o.index !== undefined ? await embeddingsOf(path.resolve(o.index), data, keys, o.logger) : undefined;
  const settings: DuplicateSettings = {
    thresholds: { ...DEFAULT_THRESHOLDS },
    minTier: 'learned',
    candidates: o.candidates,
    workingSize: DUPLICATE_WORKING_SIZE,
    nfeatures: DUPLICATE_NFEATURES,
    maxPixels: o.maxPixels,
    concurrency: o.concurrency,
  };
  const progress = phaseProgress(o);
  const loadBefore = loadavg()[0] as number;
  const cpu0 = process.cpuUsage();
  const report = await findDuplicates(images, settings, { ...(embeddings ? { embeddings: embeddings.lookup } : {}), progress: progress.update, ...(o.logger ? { logger: o.logger } : {}) });
  progress.stop();
  const cpuDuplicates = cpuSeconds(process.cpuUsage(cpu0));
  const loadAfter = loadavg()[0] as number;
  const t2 = performance.now();

  // Families: each copy belongs to its original's; the other originals are alone.
  const familyOf = new Map<string, string>();
  const copies = families.flatMap((f) => f.edits.map((e) => ({ key: e.key, original: f.original, kind: e.kind })));
  for (const f of families) familyOf.set(f.original, f.original);
  for (const c of copies) familyOf.set(c.key, c.original);
  const pairs = report.groups.flatMap((g) => g.pairs);
  const edges: Edge[] = pairs;
  const grouped = groupsOf(edges, DEFAULT_MIN_TIER);
  const wrong = falseEdges(pairs, familyOf);
  const originalSet = new Set(originals);

  // Retrieval recall@k over the visual words, from a second fingerprint pass.
  const t3 = performance.now();
  const cpu1 = process.cpuUsage();
  const retrievalProgress = phaseProgress(o, 'retrieval ');
  const { fingerprints } = await fingerprintImages(images, settings, retrievalProgress.update);
  retrievalProgress.stop();
  const hits = retrievalHits(fingerprints, copies, o.k);
  const cpuRetrieval = cpuSeconds(process.cpuUsage(cpu1));
  const t4 = performance.now();

  const kinds = kindScores(EDIT_KINDS, copies, edges, DEFAULT_MIN_TIER);
  const rate = (xs: ReadonlyArray<boolean>): number | null => (xs.length === 0 ? null : xs.filter(Boolean).length / xs.length);
  const byKind = Object.fromEntries(
    EDIT_KINDS.map((kind) => {
      const of = hits.filter((h) => h.kind === kind);
      return [kind, { ...kinds[kind], missed: kinds[kind].missed.slice(0, 20), retrieval: rate(of.map((h) => h.found)), retrievalWithoutSiblings: rate(of.map((h) => h.foundWithoutSiblings)) }];
    }),
  ) as DuplicatesEvalReport['byKind'];
  const perThousand = (s: number): number => Math.round((s * 10000) / Math.max(1, report.images)) / 10;
  const result: DuplicatesEvalReport = {
    version: 1,
    folder,
    data,
    seed: o.seed,
    originals: originals.length,
    queries: families.length,
    kinds: EDIT_KINDS,
    copies: copies.length,
    images: report.images,
    failed: report.failed,
    learned: embeddings
      ? { used: true, index: path.resolve(o.index as string), embedded: embeddings.count, cosine: report.thresholds.cosine }
      : { used: false, why: 'no --index: the learned tier and embedding candidates are skipped (visual-word candidates only)' },
    minTier: DEFAULT_MIN_TIER,
    thresholds: report.thresholds,
    candidates: o.candidates,
    pairs: pairScore(grouped, familyOf),
    tiers: tierScores(edges, familyOf),
    byKind,
    distinctOriginalsGrouped: originalsGrouped(grouped, originalSet),
    distinctOriginalsPaired: wrong.filter((e) => originalSet.has(e.a) && originalSet.has(e.b)).length,
    falsePairs: wrong.slice(0, 20),
    falsePairCount: wrong.length,
    retrieval: { k: o.k, recall: rate(hits.map((h) => h.found)), recallWithoutSiblings: rate(hits.map((h) => h.foundWithoutSiblings)) },
    seconds: { generate: secs(t1 - t0), fingerprint: report.seconds.fingerprint, pairs: report.seconds.pairs, duplicates: secs(t2 - t1), retrieval: secs(t4 - t3), total: secs(t4 - t0) },
    cpuSeconds: { duplicates: cpuDuplicates, retrieval: cpuRetrieval },
    load: { before: round2(loadBefore), after: round2(loadAfter), cores: availableParallelism() },
    perThousandImages: { fingerprint: perThousand(report.seconds.fingerprint), pairs: perThousand(report.seconds.pairs), total: perThousand(report.seconds.total) },
  };
  await writeFile(path.join(out, EVAL_REPORT_FILE), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/** For each copy: is its original among its k best visual-word candidates, with and without its siblings (the original's other copies) ranked? */
function retrievalHits(fps: readonly Fingerprint[], copies: ReadonlyArray<{ key: string; original: string; kind: EditKind }>, k: number): Array<{ kind: EditKind; found: boolean; foundWithoutSiblings: boolean }> {
  const index = WordIndex.build(fps.map((f) => f.orb.words));
  const position = new Map(fps.map((f, i) => [f.key, i]));
  const familyOf = new Map<string, string>();
  for (const c of copies) familyOf.set(c.key, c.original);
  const siblings = EDIT_KINDS.length - 1;
  return copies.map((c) => {
    const at = position.get(c.key);
    if (at === undefined) return { kind: c.kind, found: false, foundWithoutSiblings: false }; // failed to decode
    const ranked = index.query((fps[at] as Fingerprint).orb.words, { limit: k + siblings, exclude: at }).map((h) => (fps[h.image] as Fingerprint).key);
    const isSibling = (key: string): boolean => familyOf.get(key) === c.original;
    return { kind: c.kind, found: foundInTop(ranked, c.original, k), foundWithoutSiblings: foundInTop(ranked, c.original, k, isSibling) };
  });
}
