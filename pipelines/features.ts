// Features: "which images share features with this one?" with ORB keypoints.
//
// Two methods:
//   match (default)  candidates re-ranked by ORB matching; a score under minMatches (8)
//                    counts as 0; ties broken by the autoencoder score.
//                    With a visual-word index (an index folder: features-words.ts), the
//                    candidates are the top-N autoencoder neighbours AND the top-N images
//                    sharing the most visual words with the query (rotated copies, tight
//                    crops: the AE misses them), matched by word-guided matching against
//                    the stored prints (shared/duplicates/word-match.ts: mutual nearest
//                    descriptors among those sharing a word, then an affine RANSAC fit);
//                    score = inliers of a fit an edit can produce. No image is decoded.
//                    Without one (a queued dataset), the top-N AE neighbours, their ORB
//                    computed from their images, matched by BFMatcher + ratio test +
//                    RANSAC homography: inliers when a homography is found, else good matches.
//   reference        the reference project's method, kept for comparison: the query's
//                    ORB descriptors / 255 flattened to nfeatures × 32 values, compared
//                    by cosine kNN with the stored autoencoder embeddings reduced by PCA
//                    to that length. It compares an ORB vector with PCA'd AE
//                    embeddings — two unrelated spaces — exactly as the reference does.
//
// The stage takes its candidates as input (keys, AE scores, where each image is):
// searchFeaturesIn finds them in any vector index, so a local index folder and a
// queued dataset's Qdrant collection feed it alike.
// A query without ORB keypoints (flat colour, tiny image) falls back to the AE
// neighbours, with a warning naming the file.
//
// The reference method's space (features-reference.ts: every vector of the index through a PCA fitted on them)
// is built once per index folder / Qdrant collection and stored beside it
// (reference-pca.json + reference-embeddings.npy + reference-ids.json; a collection's under
// datasets/<ds>/collections/<c>/ in the artefact store), keyed by model, count and build,
// and kept in memory by a long-running process: a query reads it, never the collection.

import path from 'node:path';
import { mapConcurrent, yieldToEventLoop } from '../shared/concurrency.js';
import { errorMessage, ImageError, UserError } from '../shared/errors.js';
import { DEFAULT_MATCH_OPTIONS, matchFeatures, type FeatureMatch, type MatchOptions } from '../shared/features/match.js';
import type { Cv } from '../shared/features/opencv.js';
import { decodeWorkingImage, DEFAULT_WORKING_SIZE, orbFeatures, referenceVector, type OrbFeatures, type WorkingImage } from '../shared/features/orb.js';
import { renderMatchPng } from '../shared/features/draw.js';
import { printOfFeatures, type OrbWordStore, type StoredPrint } from '../shared/features/word-store.js';
import { plausibleEdit } from '../shared/duplicates/alignment.js';
import { matchByWords } from '../shared/duplicates/word-match.js';
import type { Logger } from '../shared/logger.js';
import type { LoadedModel } from '../shared/model/store.js';
import { LocalStorage } from '../shared/storage/local.js';
import type { Storage } from '../shared/storage/types.js';
import type { VectorIndex } from '../shared/vectors/types.js';
import { DEFAULT_NFEATURES, WORD_INDEX_ORB, type FeatureMethod } from '../shared/features/defaults.js';
import { referenceIndexOf, type ReferenceIndex, type ReferenceStore } from './features-reference.js';
import { embedQuery, indexSource, QueryImageError, type OpenedIndex } from './search.js';

export { DEFAULT_NFEATURES, FEATURE_METHODS, type FeatureMethod } from '../shared/features/defaults.js';

/** An image: a file path, its bytes, or a loader (e.g. from S3). */
export type ImageSource = string | Buffer | (() => Promise<Buffer>);

export interface FeatureCandidate {
  key: string;
  /** Cosine similarity of the autoencoder embeddings. */
  aeScore: number;
  image: ImageSource;
  /** Visual words shared with the query (idf-weighted), when it was a word candidate. */
  wordScore?: number;
}

export interface FeatureSettings {
  nfeatures: number;
  /** Longest side of the working image ORB runs on. */
  workingSize: number;
  maxPixels: number;
  match: MatchOptions;
}

export interface FeatureHit {
  key: string;
  /** match: the ORB score (inliers or good matches); reference: cosine in the PCA space; fallback: the AE score. */
  score: number;
  aeScore?: number;
  /** Visual words shared with the query (idf-weighted), when the hit was among the word candidates. */
  wordScore?: number;
  goodMatches?: number;
  inliers?: number;
  homography?: boolean;
  /** Where the image is (a path when it is a file). */
  image: ImageSource;
}

export interface FeatureSearchResult {
  method: FeatureMethod;
  /** 'autoencoder' when the query had no ORB keypoints and the AE neighbours were returned. */
  fallback?: 'autoencoder';
  queryKeypoints: number;
  /** The query's ORB features (for drawing the matches). */
  queryFeatures: OrbFeatures;
  neighbors: FeatureHit[];
}

async function loadImage(image: ImageSource): Promise<Buffer | string> {
  return typeof image === 'function' ? image() : image;
}

function describe(image: ImageSource, key?: string): string {
  return typeof image === 'string' ? image : (key ?? 'image');
}

/** Computes (and caches by key) ORB features of images. */
export class FeatureExtractor {
  private readonly cache = new Map<string, Promise<OrbFeatures | undefined>>();

  constructor(
    readonly cv: Cv,
    readonly settings: FeatureSettings,
    private readonly logger?: Logger,
  ) {}

  /** Features of an image; a decode error throws an ImageError. */
  of(image: Buffer | string): Promise<OrbFeatures> {
    return orbFeatures(this.cv, image, this.settings);
  }

  /** The RGB working image the features' coordinates refer to (for drawing). */
  rgb(image: Buffer | string): Promise<WorkingImage> {
    return decodeWorkingImage(image, { workingSize: this.settings.workingSize, maxPixels: this.settings.maxPixels, grey: false });
  }

  /** Features of an indexed image, cached by key; undefined (and a warning) when it cannot be read. */
  ofKey(key: string, image: ImageSource): Promise<OrbFeatures | undefined> {
    let cached = this.cache.get(key);
    if (!cached) {
      cached = loadImage(image)
        .then((bytes) => this.of(bytes))
        .catch((error: unknown) => {
          this.logger?.warn({ key, error: errorMessage(error) }, `cannot compute ORB features of ${describe(image, key)}`);
          return undefined;
        });
      this.cache.set(key, cached);
    }
    return cached;
  }
}

/** Re-rank candidates by ORB matching with the query; the top k. */
export async function rerankByFeatures(query: OrbFeatures, candidates: readonly FeatureCandidate[], k: number, extractor: FeatureExtractor): Promise<FeatureHit[]> {
  const features = await mapConcurrent(candidates, 4, (c) => extractor.ofKey(c.key, c.image));
  const hits: FeatureHit[] = [];
  for (const [i, c] of candidates.entries()) {
    const f = features[i];
    const m: FeatureMatch = f ? matchFeatures(extractor.cv, query, f, extractor.settings.match) : { matches: [], homography: false, inliers: 0, score: -1 };
    // Below minMatches the ORB score is no evidence (unrelated images reach a few
    // accidental matches): it counts as 0, so the AE order decides among those.
    const score = m.score >= extractor.settings.match.minMatches ? m.score : 0;
    hits.push({ key: c.key, score, aeScore: c.aeScore, goodMatches: m.matches.length, inliers: m.inliers, homography: m.homography, image: c.image });
    // One match is milliseconds; a server answering other requests meanwhile needs the loop between them.
    await yieldToEventLoop();
  }
  hits.sort((a, b) => b.score - a.score || (b.aeScore ?? 0) - (a.aeScore ?? 0));
  return hits.slice(0, k);
}

/** Word-guided matching: descriptor distance accepted, RANSAC threshold in working-image pixels (as duplicates' verified tier). */
const WORD_MATCH = { maxDistance: 64, ransacThreshold: 5 };

/** Candidates from a visual-word index beside the AE ones (an index folder). */
export interface WordSearch {
  store: OrbWordStore;
  /** Word candidates taken (the images sharing the most idf-weighted words with the query). */
  candidates: number;
  /** Cosine of the query's embedding with an indexed image's (word candidates the AE did not propose). */
  aeScoreOf: (key: string) => Promise<number | undefined>;
  imageOf: (key: string) => ImageSource;
}

/**
 * The AE candidates and the word candidates, re-ranked by word-guided matching of the
 * query's print with their stored prints: the score is the affine fit's inliers when at
 * least minMatches and the fit is one an edit can produce (alignment.ts plausibleEdit), else 0.
 */
export async function rerankWithWords(
  query: OrbFeatures,
  aeCandidates: readonly FeatureCandidate[],
  words: WordSearch,
  k: number,
  extractor: FeatureExtractor,
  excludeKeys?: ReadonlySet<string>,
): Promise<FeatureHit[]> {
  const print = printOfFeatures(query);
  const merged = new Map(aeCandidates.map((c) => [c.key, { ...c }]));
  for (const w of words.store.candidates(print, words.candidates, excludeKeys)) {
    const known = merged.get(w.key);
    if (known) known.wordScore = w.wordScore;
    else merged.set(w.key, { key: w.key, aeScore: (await words.aeScoreOf(w.key)) ?? -1, image: words.imageOf(w.key), wordScore: w.wordScore });
  }
  const { minMatches } = extractor.settings.match;
  const size = Math.max(query.width, query.height);
  const hits: FeatureHit[] = [];
  let slice = performance.now();
  for (const c of merged.values()) {
    const stored: StoredPrint | undefined = words.store.printOf(c.key);
    const m = stored ? matchByWords(extractor.cv, print, stored, { ...WORD_MATCH, minMatches }) : { matches: 0, inliers: 0 };
    const fit = m.matrix !== undefined && m.inliers >= minMatches && plausibleEdit(m.matrix, Math.max(size, stored?.width ?? 0, stored?.height ?? 0));
    hits.push({
      key: c.key,
      score: fit ? m.inliers : 0,
      aeScore: c.aeScore,
      ...(c.wordScore !== undefined ? { wordScore: c.wordScore } : {}),
      goodMatches: m.matches,
      inliers: m.inliers,
      homography: fit,
      image: c.image,
    });
    // ~1 ms a candidate; a server answering other requests meanwhile needs the loop now and then.
    if (performance.now() - slice > 20) {
      await yieldToEventLoop();
      slice = performance.now();
    }
  }
  hits.sort((a, b) => b.score - a.score || (b.aeScore ?? 0) - (a.aeScore ?? 0));
  return hits.slice(0, k);
}

export interface FeatureSearchInput {
  /** Shown in messages (the query's path). */
  queryName: string;
  query: Buffer;
  method: FeatureMethod;
  k: number;
  /** AE neighbours by cosine, best first (match re-ranks them; both methods fall back to them). */
  candidates: readonly FeatureCandidate[];
  /** Needed by the reference method: the PCA'd embeddings and where each image is. */
  reference?: { index: () => ReferenceIndex; imageOf: (key: string) => ImageSource };
  /** match: a visual-word index to take more candidates from and to match with (an index folder). */
  words?: WordSearch;
  excludeKeys?: ReadonlySet<string>;
}

/** The feature search of one query (the candidates are computed by the caller). */
export async function searchFeatures(input: FeatureSearchInput, extractor: FeatureExtractor, logger?: Logger): Promise<FeatureSearchResult> {
  let query: OrbFeatures;
  try {
    query = await extractor.of(input.query);
  } catch (error) {
    if (!(error instanceof ImageError)) throw error;
    throw new QueryImageError(error.reason, `${error.reason}: ${error.message}`, input.queryName);
  }
  return searchWithFeatures(query, input, extractor, logger);
}

/** As searchFeatures, with the query's features already computed. */
export async function searchWithFeatures(query: OrbFeatures, input: FeatureSearchInput, extractor: FeatureExtractor, logger?: Logger): Promise<FeatureSearchResult> {
  const base = { method: input.method, queryKeypoints: query.keypoints.length, queryFeatures: query };
  const candidates = input.excludeKeys ? input.candidates.filter((c) => !input.excludeKeys?.has(c.key)) : input.candidates;
  if (query.keypoints.length === 0) {
    logger?.warn(`no ORB keypoints found in ${input.queryName} (flat or tiny image); falling back to autoencoder search`);
    return {
      ...base,
      fallback: 'autoencoder',
      neighbors: candidates.slice(0, input.k).map((c) => ({ key: c.key, score: c.aeScore, aeScore: c.aeScore, image: c.image })),
    };
  }
  switch (input.method) {
    case 'match':
      return {
        ...base,
        neighbors: input.words ? await rerankWithWords(query, candidates, input.words, input.k, extractor, input.excludeKeys) : await rerankByFeatures(query, candidates, input.k, extractor),
      };
    case 'reference': {
      if (!input.reference) throw new Error('the reference method needs the stored embeddings');
      const { index, imageOf } = input.reference;
      const vector = referenceVector(query, extractor.settings.nfeatures);
      const hits = index().search(vector, input.k, input.excludeKeys);
      return { ...base, neighbors: hits.map((h) => ({ key: h.key, score: h.score, image: imageOf(h.key) })) };
    }
  }
}

// ---------------------------------------------------------------------------------
// Candidates from any vector index (a local index folder, a queued dataset's collection).

export interface IndexFeatureSearch {
  index: VectorIndex;
  model: LoadedModel;
  /** Where each indexed image is (imagesOf / indexImages). */
  imageOf: (key: string) => ImageSource;
  /** What the index is, for messages ("Dataset \"photos\"", "The index in ./out"). */
  name: string;
  query: Buffer;
  queryName: string;
  method: FeatureMethod;
  k: number;
  /** AE neighbours re-ranked (match), and as many word candidates with `words`. */
  candidates: number;
  /** match: the index's visual-word index (features-words.ts wordStoreOf), fetched after the query is embedded; its ORB settings are the extractor's. */
  words?: () => Promise<OrbWordStore>;
  excludeKeys?: ReadonlySet<string>;
  maxPixels: number;
  /** Where the reference method's space is kept (indexReferenceStore / collectionReferenceStore); without it, it is fitted for this query. */
  referenceStore?: ReferenceStore;
  /** Told the decoder's warning when the query decodes with corruption warnings (it is searched all the same). */
  onCorruption?: (warning: string) => void;
}

/** The features stage on a vector index: AE candidates from the index, then searchFeatures. */
export async function searchFeaturesIn(input: IndexFeatureSearch, extractor: FeatureExtractor, logger?: Logger): Promise<FeatureSearchResult> {
  const { index, model, imageOf, query, queryName, method, k } = input;
  const n = Math.max(input.candidates, k) + (input.excludeKeys?.size ?? 0);
  const vector = await embedQuery(model, query, queryName, input.maxPixels, input.onCorruption);
  const hits = await index.search(vector, { k: n, ...(input.excludeKeys ? { excludeKeys: input.excludeKeys } : {}) });
  const candidates = hits.map((h) => ({ key: h.key, aeScore: h.score, image: imageOf(h.key) }));
  const reference = method === 'reference' ? await referenceIndexOf(index, extractor.settings.nfeatures * 32, input.name, input.referenceStore) : undefined;
  const words: WordSearch | undefined =
    method === 'match' && input.words
      ? { store: await input.words(), candidates: Math.max(input.candidates, k), aeScoreOf: async (key) => cosine(vector, await index.vectorOf(key)), imageOf }
      : undefined;
  return searchFeatures(
    {
      queryName,
      query,
      method,
      k,
      candidates,
      ...(reference ? { reference: { index: () => reference, imageOf } } : {}),
      ...(words ? { words } : {}),
      ...(input.excludeKeys ? { excludeKeys: input.excludeKeys } : {}),
    },
    extractor,
    logger,
  );
}

/** Cosine similarity of two vectors; undefined without the second. */
export function cosine(a: Float32Array, b: Float32Array | undefined): number | undefined {
  if (!b || b.length !== a.length) return undefined;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** Where the images of a local index folder live; refuses an index built from a source that is not a local folder. */
export function indexImages(opened: OpenedIndex): (key: string) => ImageSource {
  const source = indexSource(opened);
  if (!source) throw new UserError(`The index in ${opened.dir} was built from ${opened.manifest.source}; feature search needs its images in a local folder`);
  return imagesOf(source);
}

/** Where an indexed image lives: a file of a local source folder (a path), or an object of any source. */
export function imagesOf(source: Storage): (key: string) => ImageSource {
  if (source instanceof LocalStorage) return (key) => path.join(source.root, ...key.split('/'));
  return (key) => () => source.get(key);
}

/** Default settings for one method; `words`: match with a visual-word index (an index folder), whose ORB settings differ. */
export function featureSettings(method: FeatureMethod, o: Partial<FeatureSettings> & { maxPixels: number; words?: boolean }): FeatureSettings {
  const words = method === 'match' && o.words === true;
  return {
    nfeatures: o.nfeatures ?? (words ? WORD_INDEX_ORB.nfeatures : DEFAULT_NFEATURES[method]),
    workingSize: o.workingSize ?? (words ? WORD_INDEX_ORB.workingSize : DEFAULT_WORKING_SIZE),
    maxPixels: o.maxPixels,
    match: o.match ?? DEFAULT_MATCH_OPTIONS,
  };
}

/** The side-by-side PNG of the query (its RGB working image and features, computed once) and one hit (keypoints and match lines). */
export async function renderHitPng(
  query: { rgb: WorkingImage; features: OrbFeatures; label: string },
  hit: FeatureHit,
  rank: number,
  extractor: FeatureExtractor,
): Promise<Buffer> {
  const bytes = await loadImage(hit.image);
  const [hf, hRgb] = await Promise.all([extractor.of(bytes), extractor.rgb(bytes)]);
  const qf = query.features;
  const m = matchFeatures(extractor.cv, qf, hf, extractor.settings.match);
  const stats = `${m.matches.length} good matches, ${m.homography ? `${m.inliers} inliers` : 'no homography'}`;
  return renderMatchPng(
    { image: query.rgb, features: qf, label: `${query.label}\n${qf.keypoints.length} keypoints` },
    { image: hRgb, features: hf, label: `#${rank} ${hit.key}  score ${Number.isInteger(hit.score) ? hit.score : hit.score.toFixed(3)}\n${stats}` },
    m,
  );
}
