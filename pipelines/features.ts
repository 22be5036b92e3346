// Features: "which images share features with this one?" with ORB keypoints.
//
// Two methods:
//   match (default)  the top-N autoencoder neighbours (candidates, by cosine) re-ranked
//                    by ORB descriptor matching: RANSAC homography inliers when a
//                    homography is found, else good matches after Lowe's ratio test;
//                    a score under minMatches (8) counts as 0; ties broken by the
//                    autoencoder score.
//   reference        the reference project's method, kept for comparison: the query's
//                    ORB descriptors / 255 flattened to nfeatures × 32 values, compared
//                    by cosine kNN with the stored autoencoder embeddings reduced by PCA
//                    to that length. It compares an ORB vector with PCA'd AE
//                    embeddings — two unrelated spaces — exactly as the reference does.
//
// The stage takes its candidates as input (keys, AE scores, where each image is):
// featureCandidates finds them in any vector index, so a local index folder and a
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
import type { Logger } from '../shared/logger.js';
import type { LoadedModel } from '../shared/model/store.js';
import { LocalStorage } from '../shared/storage/local.js';
import type { Storage } from '../shared/storage/types.js';
import type { VectorIndex } from '../shared/vectors/types.js';
import { DEFAULT_NFEATURES, type FeatureMethod } from '../shared/features/defaults.js';
import { referenceIndexOf, type ReferenceIndex, type ReferenceStore } from './features-reference.js';
import { indexSource, QueryImageError, searchIndex, type OpenedIndex, type SearchInput } from './search.js';

export { DEFAULT_NFEATURES, FEATURE_METHODS, type FeatureMethod } from '../shared/features/defaults.js';

/** An image: a file path, its bytes, or a loader (e.g. from S3). */
export type ImageSource = string | Buffer | (() => Promise<Buffer>);

export interface FeatureCandidate {
  key: string;
  /** Cosine similarity of the autoencoder embeddings. */
  aeScore: number;
  image: ImageSource;
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
      return { ...base, neighbors: await rerankByFeatures(query, candidates, input.k, extractor) };
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

/** The top-n AE neighbours of a query image, as feature candidates whose images `imageOf` finds. */
export async function featureCandidates(
  input: Omit<SearchInput, 'k'> & { n: number; imageOf: (key: string) => ImageSource },
): Promise<FeatureCandidate[]> {
  const hits = await searchIndex({ ...input, k: input.n });
  return hits.map((h) => ({ key: h.key, aeScore: h.score, image: input.imageOf(h.key) }));
}

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
  /** AE neighbours re-ranked (match). */
  candidates: number;
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
  const candidates = await featureCandidates({ index, model, query, queryName, n, imageOf, maxPixels: input.maxPixels, ...(input.onCorruption ? { onCorruption: input.onCorruption } : {}) });
  const reference = method === 'reference' ? await referenceIndexOf(index, extractor.settings.nfeatures * 32, input.name, input.referenceStore) : undefined;
  return searchFeatures(
    { queryName, query, method, k, candidates, ...(reference ? { reference: { index: () => reference, imageOf } } : {}), ...(input.excludeKeys ? { excludeKeys: input.excludeKeys } : {}) },
    extractor,
    logger,
  );
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

/** Default settings for one method. */
export function featureSettings(method: FeatureMethod, o: Partial<FeatureSettings> & { maxPixels: number }): FeatureSettings {
  return {
    nfeatures: o.nfeatures ?? DEFAULT_NFEATURES[method],
    workingSize: o.workingSize ?? DEFAULT_WORKING_SIZE,
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
