// The search and features requests as both servers read them (the queued routes in
// routes/, the local server's in local/routes/), and their answers' shapes: one reading
// of the multipart upload or JSON body, one wording of each refusal, one answer shape, so
// that the web app and API clients see the same thing from either server.
import type { FastifyRequest } from 'fastify';
import { sniffFormat } from '../../shared/images/sniff.js';
import type { Neighbor } from '../../shared/vectors/types.js';
import type { FeatureMethod, FeatureSearchResult } from '../../pipelines/features.js';
import { corruptQueryMessage, QueryImageError } from '../../pipelines/search.js';
import { badRequest, HttpError, parseRequest } from './errors.js';
import { featuresFormFields, featuresJsonBody, searchFormFields, searchJsonBody } from './schemas.js';

const FORMATS = 'JPEG, PNG, WebP, GIF, TIFF or AVIF';

export interface SearchFilters {
  keyPrefix?: string;
  cluster?: number;
}

export type SearchQuery =
  | ({ kind: 'image'; bytes: Buffer; filename: string; k: number } & SearchFilters)
  | ({ kind: 'key'; key: string; k: number } & SearchFilters)
  | ({ kind: 'vector'; vector: number[]; k: number } & SearchFilters);

export interface FeatureParams {
  method: FeatureMethod;
  k: number;
  candidates: number;
  nfeatures?: number;
}

/** A features request: an upload, or the key of an indexed image (its bytes are the route's to read). */
export type FeatureRequest = ({ kind: 'image'; bytes: Buffer; filename: string } | { kind: 'key'; key: string }) & FeatureParams;

/** The query image's bytes with the name and request field its messages use. */
export interface FeatureQuery extends FeatureParams {
  bytes: Buffer;
  /** The upload's file name or the key. */
  name: string;
  field: 'form.image' | 'body.key';
  /** A query by key: that key is left out of the answer. */
  exclude?: string;
}

/** The uploaded query image (multipart field "image", checked to be an image) and the text fields. */
export async function readImageUpload(request: FastifyRequest, limit: number): Promise<{ bytes: Buffer; filename: string; fields: Record<string, string> }> {
  const fields: Record<string, string> = {};
  let image: { bytes: Buffer; filename: string } | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        fields[part.fieldname] = String(part.value);
        continue;
      }
      if (part.fieldname !== 'image') throw badRequest(`form.${part.fieldname}: unexpected file; send the query image in the field "image"`);
      image = { bytes: await part.toBuffer(), filename: part.filename || 'upload' };
    }
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') {
      throw new HttpError(413, `form.image: the upload is larger than the limit of ${limit} bytes (IMGSIM_UPLOAD_LIMIT_BYTES)`);
    }
    if (code === 'FST_FILES_LIMIT') throw new HttpError(413, 'form: send one file, the query image in the field "image"');
    throw error;
  }
  if (!image) throw badRequest('form.image: missing; send the query image as a file in the multipart field "image"', { issues: [{ field: 'form.image', message: 'required' }] });
  if (image.bytes.length === 0) throw new HttpError(415, 'form.image: the upload is empty');
  if (!sniffFormat(image.bytes)) {
    throw new HttpError(415, `form.image: "${image.filename}" is not an image imgsim reads (expected ${FORMATS})`);
  }
  return { ...image, fields };
}

/** The JSON body, 415 naming both accepted forms when the request is neither multipart nor JSON. */
function jsonBody(request: FastifyRequest, what: string): unknown {
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
    throw new HttpError(415, `Expected multipart/form-data with the query image in the field "image", or application/json ${what}`);
  }
  return request.body;
}

function filtersOf(f: { keyPrefix?: string | undefined; cluster?: number | undefined } | undefined): SearchFilters {
  return { ...(f?.keyPrefix !== undefined ? { keyPrefix: f.keyPrefix } : {}), ...(f?.cluster !== undefined ? { cluster: f.cluster } : {}) };
}

/** POST …/search's body: an upload (fields k, keyPrefix, cluster), or JSON {key} or {vector} with filters. Read before anything else: a multipart stream is consumed once. */
export async function readSearchRequest(request: FastifyRequest, uploadLimit: number): Promise<SearchQuery> {
  if (request.isMultipart()) {
    const upload = await readImageUpload(request, uploadLimit);
    const f = parseRequest(searchFormFields, upload.fields, 'form');
    return { kind: 'image', bytes: upload.bytes, filename: upload.filename, k: f.k, ...filtersOf(f) };
  }
  const b = parseRequest(searchJsonBody, jsonBody(request, '{key} or {vector}'), 'body');
  if (b.key !== undefined) return { kind: 'key', key: b.key, k: b.k, ...filtersOf(b.filters) };
  return { kind: 'vector', vector: b.vector ?? [], k: b.k, ...filtersOf(b.filters) };
}

/** POST …/features's body: an upload (fields k, candidates, method, nfeatures), or JSON {key, …}. */
export async function readFeatureRequest(request: FastifyRequest, uploadLimit: number): Promise<FeatureRequest> {
  const params = (p: { method: FeatureMethod; k: number; candidates: number; nfeatures?: number | undefined }): FeatureParams => ({
    method: p.method,
    k: p.k,
    candidates: p.candidates,
    ...(p.nfeatures !== undefined ? { nfeatures: p.nfeatures } : {}),
  });
  if (request.isMultipart()) {
    const upload = await readImageUpload(request, uploadLimit);
    return { kind: 'image', bytes: upload.bytes, filename: upload.filename, ...params(parseRequest(featuresFormFields, upload.fields, 'form')) };
  }
  const b = parseRequest(featuresJsonBody, jsonBody(request, '{key} naming an indexed image'), 'body');
  return { kind: 'key', key: b.key, ...params(b) };
}

/** The query of a features request once the key's image is read (`bytesOf`). */
export async function featureQueryOf(r: FeatureRequest, bytesOf: (key: string) => Promise<Buffer>): Promise<FeatureQuery> {
  const { method, k, candidates } = r;
  const params = { method, k, candidates, ...(r.nfeatures !== undefined ? { nfeatures: r.nfeatures } : {}) };
  if (r.kind === 'image') return { bytes: r.bytes, name: r.filename, field: 'form.image', ...params };
  return { bytes: await bytesOf(r.key), name: r.key, field: 'body.key', exclude: r.key, ...params };
}

/** 413 for a query image with too many pixels, 415 for one that does not decode; other errors unchanged. */
export function queryImageHttpError(error: unknown, field: string, name: string): unknown {
  if (!(error instanceof QueryImageError)) return error;
  return new HttpError(error.reason === 'too-many-pixels' ? 413 : 415, `${field}: cannot decode "${name}" (${error.detail})`);
}

/** The `onCorruption` of a query decode: the answer's warning, and one log line. */
export function corruptionWarning(request: FastifyRequest, dataset: string, field: string, name: string): { onCorruption: (w: string) => void; readonly warning: string | undefined } {
  let warning: string | undefined;
  return {
    onCorruption: (w: string): void => {
      warning = `${field}: ${corruptQueryMessage(`"${name}"`, w)}`;
      request.log.warn({ dataset, query: name, warning: w }, 'query image decoded with corruption warnings');
    },
    get warning() {
      return warning;
    },
  };
}

/** The search answer (searchResponse). */
export function searchAnswer(dataset: string, modelId: string, hits: readonly Neighbor[], warning: string | undefined) {
  return {
    dataset,
    modelId,
    neighbors: hits.map((h, i) => ({ rank: i + 1, key: h.key, score: h.score, ...(h.cluster !== undefined ? { cluster: h.cluster } : {}) })),
    ...(warning !== undefined ? { warning } : {}),
  };
}

/** The features answer (featuresResponse). */
export function featuresAnswer(dataset: string, modelId: string, result: FeatureSearchResult, warning: string | undefined) {
  return {
    dataset,
    modelId,
    method: result.method,
    ...(result.fallback ? { fallback: result.fallback } : {}),
    queryKeypoints: result.queryKeypoints,
    ...(warning !== undefined ? { warning } : {}),
    neighbors: result.neighbors.map((h, i) => ({
      rank: i + 1,
      key: h.key,
      score: h.score,
      ...(h.aeScore !== undefined ? { aeScore: h.aeScore } : {}),
      ...(h.goodMatches !== undefined ? { goodMatches: h.goodMatches, inliers: h.inliers ?? 0, homography: h.homography ?? false } : {}),
    })),
  };
}
