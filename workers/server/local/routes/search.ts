// POST /v1/datasets/{name}/search and …/features on the local server, in the queued
// routes' shapes (workers/server/routes/search.ts, features.ts), over the FlatIndex and
// model opened once at start-up:
//   search    multipart upload (field "image"; fields k, keyPrefix, cluster) embedded with
//             the index's model, or JSON {key} (its stored vector; the key left out) or
//             {vector}, with filters {keyPrefix, cluster} — as `imgsim search --index`;
//   features  multipart upload or JSON {key} (the indexed image, read from the source
//             folder, left out of the answer): ORB matching over the index's visual-word
//             index (match) or the reference method — as `imgsim features --index`.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { corruptQueryMessage, QueryImageError, searchIndex } from '../../../../pipelines/search.js';
import type { Neighbor } from '../../../../shared/vectors/types.js';
import { badRequest, HttpError, notFound, parseRequest } from '../../errors.js';
import { featuresFormFields, featuresJsonBody, searchFormFields, searchJsonBody } from '../../schemas.js';
import { readImageUpload } from '../../routes/search.js';
import { FEATURE_METHODS } from '../../../../pipelines/features.js';
import type { LocalFeatures } from '../local-features.js';
import { sourceMissing, type LocalDataset } from '../local-dataset.js';
import { requireLocalDataset } from './datasets.js';

interface Filters {
  keyPrefix?: string;
  cluster?: number;
}

type SearchQuery =
  | ({ kind: 'image'; bytes: Buffer; filename: string; k: number } & Filters)
  | ({ kind: 'key'; key: string; k: number } & Filters)
  | ({ kind: 'vector'; vector: number[]; k: number } & Filters);

const JSON_TYPE = /^application\/json\b/i;

function jsonBody(request: FastifyRequest, what: string): unknown {
  if (!JSON_TYPE.test(request.headers['content-type'] ?? '')) throw new HttpError(415, `Expected multipart/form-data with the query image in the field "image", or application/json ${what}`);
  return request.body;
}

function filtersOf(f: { keyPrefix?: string | undefined; cluster?: number | undefined } | undefined): Filters {
  return { ...(f?.keyPrefix !== undefined ? { keyPrefix: f.keyPrefix } : {}), ...(f?.cluster !== undefined ? { cluster: f.cluster } : {}) };
}

/** 413 for an image with too many pixels, 415 for one that does not decode (as the queued routes). */
function uploadError(error: QueryImageError, name: string): HttpError {
  return new HttpError(error.reason === 'too-many-pixels' ? 413 : 415, `form.image: cannot decode "${name}" (${error.detail})`);
}

export function localSearchRoutes(app: FastifyInstance, ds: LocalDataset, o: { uploadLimitBytes: number; maxPixels: number; features: LocalFeatures }): void {
  const { index, model } = ds.opened;

  /** 404 unless the key is indexed (the queued routes' wording). */
  const requireKey = (key: string): void => {
    if (!ds.hasKey(key)) throw notFound(`body.key: "${key}" is not an image of dataset "${ds.name}" (index folder ${ds.dir})`);
  };

  /** 503 while the source folder is missing (feature search decodes the indexed images). */
  const requireSource = async (): Promise<void> => {
    if (!(await o.features.sourcePresent())) throw sourceMissing(ds, 'Feature search decodes');
  };

  /** The indexed image's bytes; 404 when it is gone from the source folder. */
  const indexedImage = async (key: string): Promise<Buffer> => {
    try {
      return await o.features.imageOf(key);
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === 'ENOENT') {
        throw notFound(`body.key: "${key}" is indexed in dataset "${ds.name}" but gone from its source folder ${ds.source.root}`);
      }
      throw error;
    }
  };

  app.post('/v1/datasets/:name/search', async (request) => {
    // The body first: a multipart stream is consumed before anything else.
    let query: SearchQuery;
    if (request.isMultipart()) {
      const upload = await readImageUpload(request, o.uploadLimitBytes);
      const f = parseRequest(searchFormFields, upload.fields, 'form');
      query = { kind: 'image', bytes: upload.bytes, filename: upload.filename, k: f.k, ...filtersOf(f) };
    } else {
      const b = parseRequest(searchJsonBody, jsonBody(request, '{key} or {vector}'), 'body');
      query = b.key !== undefined ? { kind: 'key', key: b.key, k: b.k, ...filtersOf(b.filters) } : { kind: 'vector', vector: b.vector ?? [], k: b.k, ...filtersOf(b.filters) };
    }
    requireLocalDataset(ds, request.params);
    const filter = filtersOf(query);
    let hits: Neighbor[];
    let warning: string | undefined;
    switch (query.kind) {
      case 'image': {
        const onCorruption = (w: string): void => {
          warning = `form.image: ${corruptQueryMessage(`"${query.filename}"`, w)}`;
          request.log.warn({ dataset: ds.name, query: query.filename, warning: w }, 'query image decoded with corruption warnings');
        };
        try {
          hits = await searchIndex({ index, model, query: query.bytes, queryName: query.filename, k: query.k, filter, maxPixels: o.maxPixels, onCorruption });
        } catch (error) {
          if (error instanceof QueryImageError) throw uploadError(error, query.filename);
          throw error;
        }
        break;
      }
      case 'key': {
        requireKey(query.key);
        const vector = (await index.vectorOf(query.key)) as Float32Array;
        hits = await index.search(vector, { k: query.k, excludeKeys: new Set([query.key]), filter });
        break;
      }
      case 'vector':
        if (query.vector.length !== index.dim) {
          throw badRequest(`body.vector: expected ${index.dim} numbers (the embedding size of model ${ds.record.modelId}), got ${query.vector.length}`, {
            issues: [{ field: 'body.vector', message: `expected ${index.dim} numbers, got ${query.vector.length}` }],
          });
        }
        hits = await index.search(Float32Array.from(query.vector), { k: query.k, filter });
        break;
    }
    return {
      dataset: ds.name,
      modelId: ds.record.modelId,
      neighbors: hits.map((h, i) => ({ rank: i + 1, key: h.key, score: h.score, ...(h.cluster !== undefined ? { cluster: h.cluster } : {}) })),
      ...(warning !== undefined ? { warning } : {}),
    };
  });

  app.post('/v1/datasets/:name/features', async (request) => {
    let q: { bytes: Buffer; name: string; field: string; exclude?: string; k: number; candidates: number; method: (typeof FEATURE_METHODS)[number]; nfeatures?: number };
    if (request.isMultipart()) {
      const upload = await readImageUpload(request, o.uploadLimitBytes);
      const f = parseRequest(featuresFormFields, upload.fields, 'form');
      q = { bytes: upload.bytes, name: upload.filename, field: 'form.image', k: f.k, candidates: f.candidates, method: f.method, ...(f.nfeatures !== undefined ? { nfeatures: f.nfeatures } : {}) };
    } else {
      const b = parseRequest(featuresJsonBody, jsonBody(request, '{key}'), 'body');
      requireLocalDataset(ds, request.params);
      requireKey(b.key);
      await requireSource(); // before reading the key's image: a missing folder is not that image's 404
      q = { bytes: await indexedImage(b.key), name: b.key, field: 'body.key', exclude: b.key, k: b.k, candidates: b.candidates, method: b.method, ...(b.nfeatures !== undefined ? { nfeatures: b.nfeatures } : {}) };
    }
    requireLocalDataset(ds, request.params);
    await requireSource();
    let warning: string | undefined;
    const onCorruption = (w: string): void => {
      warning = `${q.field}: ${corruptQueryMessage(`"${q.name}"`, w)}`;
      request.log.warn({ dataset: ds.name, query: q.name, warning: w }, 'query image decoded with corruption warnings');
    };
    let result;
    try {
      result = await o.features.search({ ...q, onCorruption });
    } catch (error) {
      if (error instanceof QueryImageError) {
        throw new HttpError(error.reason === 'too-many-pixels' ? 413 : 415, `${q.field}: cannot decode "${q.name}" (${error.detail})`);
      }
      throw error;
    }
    if (result.wordIndexPending) {
      const pending = `the visual-word index of ${ds.dir} is not ready yet (built once in the background; the server logs when it is): these are the autoencoder's ${q.candidates} candidates re-ranked by ORB, without the images sharing the most visual words (rotated copies, tight crops)`;
      warning = warning === undefined ? pending : `${warning}; ${pending}`;
    }
    return {
      dataset: ds.name,
      modelId: ds.record.modelId,
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
  });
}
