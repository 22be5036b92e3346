// Eval of the feature search on near-duplicates: from a folder of images, write each
// query image's seeded near-duplicates (crop, rotate, scale, JPEG re-encode,
// brightness), index originals + duplicates with the local pipeline (or reuse an
// index built on that folder), then measure for every query the recall@k of its own
// duplicates with plain AE search, the reference method and the match method — the
// latter as `imgsim features --index` runs it: AE and visual-word candidates (the index
// folder's word store, built once: features-words.ts) re-ranked by word-guided matching.

import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../shared/config/index.js';
import { mapConcurrent } from '../shared/concurrency.js';
import { UserError } from '../shared/errors.js';
import { loadOpenCv } from '../shared/features/opencv.js';
import type { OrbFeatures } from '../shared/features/orb.js';
import type { Logger } from '../shared/logger.js';
import { makeDuplicate as makeEdit } from '../shared/images/edits.js';
import { createRng, shuffleInPlace, type Rng } from '../shared/random.js';
import { LocalStorage } from '../shared/storage/local.js';
import { initBackend } from '../shared/model/backend.js';
import { printOfFeatures } from '../shared/features/word-store.js';
import { cosine, FeatureExtractor, featureSettings, indexImages, searchWithFeatures, type FeatureCandidate, type FeatureMethod, type WordSearch } from './features.js';
import { referenceIndexOf } from './features-reference.js';
import { indexWordSource, wordStoreOf } from './features-words.js';
import { listImages } from './ingest.js';
import { runLocal } from './local-run.js';
import { openIndex } from './search.js';
import { DUPLICATE_KINDS, type DuplicateKind } from '../shared/features/defaults.js';

export { DUPLICATE_KINDS, type DuplicateKind } from '../shared/features/defaults.js';

export interface DuplicateGroup {
  /** Key of the original (the query) in the generated folder. */
  query: string;
  duplicates: Array<{ key: string; kind: DuplicateKind }>;
}

/** One near-duplicate of `bytes` (JPEG), drawn from `rng` (shared/images/edits.ts, where eval-duplicates' edits are made too). */
export async function makeDuplicate(bytes: Buffer, kind: DuplicateKind, rng: Rng): Promise<Buffer> {
  return makeEdit(bytes, kind, rng);
}

/**
 * Writes <data>/originals/<key> (every image of the folder, copied) and
 * <data>/duplicates/<stem>-<n>-<kind>.jpg for the first `queries` images of a seeded
 * shuffle; returns the groups (keys relative to <data>).
 */
export async function writeNearDuplicates(
  folder: string,
  data: string,
  o: { perImage: number; queries?: number; seed: number },
): Promise<{ groups: DuplicateGroup[]; originals: number }> {
  const source = new LocalStorage(folder);
  const { images } = await listImages(source);
  const keys = images.map((i) => i.key).sort();
  if (keys.length < 2) throw new UserError(`${folder} has ${keys.length} image(s); eval-features needs at least 2`);
  const rng = createRng(o.seed);
  const queries = shuffleInPlace([...keys], rng).slice(0, o.queries ?? keys.length).sort();
  const seeds = new Map(queries.map((k) => [k, Math.floor(rng() * 4294967296)]));
  await mapConcurrent(keys, 8, async (key) => {
    const to = path.join(data, 'originals', ...key.split('/'));
    await mkdir(path.dirname(to), { recursive: true });
    await copyFile(path.join(source.root, ...key.split('/')), to);
  });
  await mkdir(path.join(data, 'duplicates'), { recursive: true });
  const groups = await mapConcurrent(queries, 4, async (key): Promise<DuplicateGroup> => {
    const bytes = await readFile(path.join(source.root, ...key.split('/')));
    const dupRng = createRng(seeds.get(key) as number);
    const stem = key.replace(/\.[^./]+$/, '').replace(/[^A-Za-z0-9._-]+/g, '_');
    const duplicates: DuplicateGroup['duplicates'] = [];
    for (let n = 0; n < o.perImage; n++) {
      const kind = DUPLICATE_KINDS[n % DUPLICATE_KINDS.length] as DuplicateKind;
      const dupKey = `duplicates/${stem}-${n}-${kind}.jpg`;
      await writeFile(path.join(data, ...dupKey.split('/')), await makeDuplicate(bytes, kind, dupRng));
      duplicates.push({ key: dupKey, kind });
    }
    return { query: `originals/${key}`, duplicates };
  });
  return { groups, originals: keys.length };
}

export interface FeatureEvalOptions {
  folder: string;
  out: string;
  perImage: number;
  k: number;
  /** Originals used as queries (seeded choice); default all. */
  queries?: number;
  candidates: number;
  /** ORB keypoints for match / reference (defaults 1,000 / 30). */
  nfeatures?: Partial<Record<FeatureMethod, number>>;
  /** Longest side of the image ORB runs on, both methods (defaults 384 for match, 256 for reference). */
  workingSize?: number;
  /** Reuse an index built on <out>/data instead of training one. */
  index?: string;
  config: Config;
  logger?: Logger;
  progressBar?: boolean;
}

type Methods = 'autoencoder' | 'reference' | 'match';
type Recall = Record<Methods, number>;

export interface FeatureEvalReport {
  dataset: string;
  index: string;
  originals: number;
  queries: number;
  duplicatesPerImage: number;
  indexed: number;
  k: number;
  candidates: number;
  nfeatures: Record<FeatureMethod, number>;
  orbSize: Record<FeatureMethod, number>;
  /** Mean over queries of (own duplicates in the top k) / (own duplicates). */
  recallAtK: Recall;
  /** The same per kind of duplicate. */
  recallByKind: Record<DuplicateKind, Recall>;
  /** Share of duplicates among the AE top-`candidates`. */
  candidateRecall: number;
  /** Share of duplicates among the AE top-`candidates` and the word index's top-`candidates` together: the most `match` can reach. */
  wordCandidateRecall: number;
  /** Images of the word store without keypoints (flat, tiny or unreadable). */
  wordIndexWithoutKeypoints: number;
  /** Queries without ORB keypoints (they fall back to the AE results). */
  queriesWithoutKeypoints: number;
  /** words: the word store (built, or read when stored); search: the queries of all three methods. */
  seconds: { generate: number; index: number; words: number; search: number; total: number };
}

export async function evaluateFeatures(o: FeatureEvalOptions): Promise<FeatureEvalReport> {
  const t0 = performance.now();
  const out = path.resolve(o.out);
  const data = path.join(out, 'data');
  const { groups, originals } = await writeNearDuplicates(o.folder, data, { perImage: o.perImage, ...(o.queries !== undefined ? { queries: o.queries } : {}), seed: o.config.seed });
  await writeFile(path.join(out, 'groups.json'), JSON.stringify(groups, null, 1));
  const t1 = performance.now();

  let indexDir = o.index !== undefined ? path.resolve(o.index) : path.join(out, 'index');
  await initBackend(o.config.backend, o.logger);
  if (o.index === undefined) {
    const run = await runLocal({ source: data, out: indexDir, config: o.config, cluster: false, ...(o.logger ? { logger: o.logger } : {}), ...(o.progressBar !== undefined ? { progressBar: o.progressBar } : {}) });
    indexDir = run.out;
  }
  const opened = await openIndex(indexDir);
  const indexed = new Set(opened.index.allKeys());
  const missing = groups.flatMap((g) => [g.query, ...g.duplicates.map((d) => d.key)]).filter((k) => !indexed.has(k));
  if (missing.length > 0) {
    throw new UserError(`The index ${indexDir} lacks ${missing.length} generated image(s) (e.g. ${missing[0]}); build it on ${data} (imgsim run ${data} --out …)`);
  }
  const t2 = performance.now();

  const cv = await loadOpenCv();
  const base = { maxPixels: o.config.maxPixels, ...(o.workingSize !== undefined ? { workingSize: o.workingSize } : {}) };
  const extractors = {
    match: new FeatureExtractor(cv, featureSettings('match', { ...base, words: true, ...(o.nfeatures?.match !== undefined ? { nfeatures: o.nfeatures.match } : {}) }), o.logger),
    reference: new FeatureExtractor(cv, featureSettings('reference', { ...base, ...(o.nfeatures?.reference !== undefined ? { nfeatures: o.nfeatures.reference } : {}) }), o.logger),
  };
  const nfeatures = { match: extractors.match.settings.nfeatures, reference: extractors.reference.settings.nfeatures };
  const orbSize = { match: extractors.match.settings.workingSize, reference: extractors.reference.settings.workingSize };
  const imageOf = indexImages(opened);
  const reference = await referenceIndexOf(opened.index, nfeatures.reference * 32, opened.dir);
  const tw = performance.now();
  const store = await wordStoreOf(indexWordSource(opened, imageOf, extractors.match.settings), extractors.match, {
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.progressBar !== undefined ? { progressBar: o.progressBar } : {}),
  });
  const t2w = performance.now();
  const quiet = o.logger?.child({}, { level: 'error' });

  const sums: Recall = { autoencoder: 0, reference: 0, match: 0 };
  const byKind = Object.fromEntries(DUPLICATE_KINDS.map((kind) => [kind, { autoencoder: 0, reference: 0, match: 0, n: 0 }])) as Record<
    DuplicateKind,
    Recall & { n: number }
  >;
  let candidateHits = 0;
  let wordCandidateHits = 0;
  let duplicatesTotal = 0;
  let withoutKeypoints = 0;
  for (const [qi, g] of groups.entries()) {
    const vector = (await opened.index.vectorOf(g.query)) as Float32Array;
    const exclude = new Set([g.query]);
    const aeHits = opened.index.searchSync(vector, { k: Math.max(o.candidates, o.k), excludeKeys: exclude });
    const candidates: FeatureCandidate[] = aeHits.map((h) => ({ key: h.key, aeScore: h.score, image: imageOf(h.key) }));
    const words: WordSearch = { store, candidates: Math.max(o.candidates, o.k), aeScoreOf: async (key) => cosine(vector, await opened.index.vectorOf(key)), imageOf };
    const top: Record<Methods, Set<string>> & { wordCandidates?: Set<string> } = {
      autoencoder: new Set(aeHits.slice(0, o.k).map((h) => h.key)),
      match: new Set(),
      reference: new Set(),
    };
    for (const method of ['match', 'reference'] as const) {
      const extractor = extractors[method];
      const features = (await extractor.ofKey(g.query, imageOf(g.query))) ?? emptyFeatures();
      if (method === 'match' && features.keypoints.length === 0) withoutKeypoints++;
      const r = await searchWithFeatures(
        features,
        { queryName: g.query, query: Buffer.alloc(0), method, k: o.k, candidates, reference: { index: () => reference, imageOf }, words, excludeKeys: exclude },
        extractor,
        quiet,
      );
      top[method] = new Set(r.neighbors.map((h) => h.key));
      if (method === 'match') {
        const wordKeys = features.keypoints.length > 0 ? store.candidates(printOfFeatures(features), words.candidates, exclude).map((c) => c.key) : [];
        top.wordCandidates = new Set([...aeHits.slice(0, o.candidates).map((h) => h.key), ...wordKeys]);
      }
    }
    const candidateKeys = new Set(aeHits.slice(0, o.candidates).map((h) => h.key));
    for (const d of g.duplicates) {
      duplicatesTotal++;
      if (candidateKeys.has(d.key)) candidateHits++;
      if (top.wordCandidates?.has(d.key)) wordCandidateHits++;
      const kind = byKind[d.kind];
      kind.n++;
      for (const m of ['autoencoder', 'reference', 'match'] as const) if (top[m].has(d.key)) kind[m]++;
    }
    for (const m of ['autoencoder', 'reference', 'match'] as const) {
      sums[m] += g.duplicates.filter((d) => top[m].has(d.key)).length / Math.max(1, g.duplicates.length);
    }
    if ((qi + 1) % 25 === 0) o.logger?.info({ done: qi + 1, of: groups.length }, 'eval-features queries');
  }
  const t3 = performance.now();
  const q = Math.max(1, groups.length);
  const s = (a: number, b: number): number => Math.round((b - a) / 100) / 10;
  const report: FeatureEvalReport = {
    dataset: data,
    index: indexDir,
    originals,
    queries: groups.length,
    duplicatesPerImage: o.perImage,
    indexed: indexed.size,
    k: o.k,
    candidates: o.candidates,
    nfeatures,
    orbSize,
    recallAtK: { autoencoder: sums.autoencoder / q, reference: sums.reference / q, match: sums.match / q },
    recallByKind: Object.fromEntries(
      DUPLICATE_KINDS.map((kind) => {
        const b = byKind[kind];
        const n = Math.max(1, b.n);
        return [kind, { autoencoder: b.autoencoder / n, reference: b.reference / n, match: b.match / n }];
      }),
    ) as Record<DuplicateKind, Recall>,
    candidateRecall: candidateHits / Math.max(1, duplicatesTotal),
    wordCandidateRecall: wordCandidateHits / Math.max(1, duplicatesTotal),
    wordIndexWithoutKeypoints: store.empty,
    queriesWithoutKeypoints: withoutKeypoints,
    seconds: { generate: s(t0, t1), index: s(t1, t2), words: s(tw, t2w), search: Math.round((s(t2, t3) - s(tw, t2w)) * 10) / 10, total: s(t0, t3) },
  };
  await writeFile(path.join(out, 'features-eval.json'), JSON.stringify(report, null, 2));
  return report;
}

function emptyFeatures(): OrbFeatures {
  return { width: 0, height: 0, keypoints: [], descriptors: new Uint8Array(0) };
}
