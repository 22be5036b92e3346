// POST /v1/datasets/{name}/features: images of a dataset sharing ORB keypoint features
// with a query image — uploaded (multipart field "image"), or an indexed image named by
// its key (JSON {key}: read from the dataset's source and left out of the answer). The
// live collection's autoencoder neighbours re-ranked by ORB matching (method match), or
// the reference method; the candidates' images are read from the dataset's source. As
// `imgsim features --dataset`. Both query kinds take the same path once the bytes are in hand.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { loadOpenCv } from '../../../shared/features/opencv.js';
import { openDataset } from '../../../shared/runs/open-dataset.js';
import type { DatasetRecord } from '../../../shared/runs/index.js';
import { FeatureExtractor, featureSettings, imagesOf, searchFeaturesIn, type FeatureMethod } from '../../../pipelines/features.js';
import { collectionReferenceStore } from '../../../pipelines/features-reference.js';
import { corruptQueryMessage, QueryImageError } from '../../../pipelines/search.js';
import type { RouteContext } from '../context.js';
import { HttpError, notFound, parseRequest } from '../errors.js';
import { featuresFormFields, featuresJsonBody } from '../schemas.js';
import { requireDataset } from './datasets.js';
import { readImageUpload } from './search.js';

interface FeatureQuery {
  bytes: Buffer;
  /** The upload's file name or the key (messages and logs). */
  name: string;
  /** The request field the query came from (prefixes its errors). */
  field: 'form.image' | 'body.key';
  /** A query by key: that key is left out of the answer. */
  key?: string;
  method: FeatureMethod;
  k: number;
  candidates: number;
  nfeatures?: number;
}

export function featureRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.post('/v1/datasets/:name/features', async (request) => {
    // Read (and check) the body first: a multipart stream is consumed before anything else.
    let query: FeatureQuery;
    let record: DatasetRecord;
    if (request.isMultipart()) {
      const upload = await readImageUpload(request, ctx.uploadLimitBytes);
      const f = parseRequest(featuresFormFields, upload.fields, 'form');
      record = await requireDataset(ctx, request.params);
      query = { bytes: upload.bytes, name: upload.filename, field: 'form.image', ...f };
    } else {
      const b = readJson(request);
      record = await requireDataset(ctx, request.params);
      query = { bytes: await readIndexedImage(ctx, record, b.key), name: b.key, field: 'body.key', ...b };
    }
    const settings = featureSettings(query.method, { maxPixels: deps.config.maxPixels, ...(query.nfeatures !== undefined ? { nfeatures: query.nfeatures } : {}) });
    let result;
    let warning: string | undefined;
    const onCorruption = (w: string): void => {
      warning = `${query.field}: ${corruptQueryMessage(`"${query.name}"`, w)}`;
      request.log.warn({ dataset: record.name, query: query.name, warning: w }, 'query image decoded with corruption warnings');
    };
    try {
      const opened = await openDataset(record.name, { ...deps, models: ctx.models });
      const extractor = new FeatureExtractor(await loadOpenCv(), settings, deps.logger);
      result = await searchFeaturesIn(
        {
          index: opened.index,
          model: opened.model,
          imageOf: imagesOf(await opened.source()),
          name: `Dataset "${record.name}"`,
          query: query.bytes,
          queryName: query.name,
          method: query.method,
          k: query.k,
          candidates: query.candidates,
          ...(query.key !== undefined ? { excludeKeys: new Set([query.key]) } : {}),
          maxPixels: deps.config.maxPixels,
          referenceStore: collectionReferenceStore(deps.artifacts, opened.index),
          onCorruption,
        },
        extractor,
        deps.logger,
      );
    } catch (error) {
      if (error instanceof QueryImageError) throw new HttpError(error.reason === 'too-many-pixels' ? 413 : 415, `${query.field}: ${error.message}`);
      throw error;
    }
    return {
      dataset: record.name,
      modelId: record.modelId,
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

function readJson(request: FastifyRequest): ReturnType<typeof featuresJsonBody.parse> {
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
    throw new HttpError(415, 'Expected multipart/form-data with the query image in the field "image", or application/json {key} naming an indexed image');
  }
  return parseRequest(featuresJsonBody, request.body, 'body');
}

/** The bytes of the indexed image `key` of the dataset, from its source; 404 when it is not indexed or gone. */
async function readIndexedImage(ctx: RouteContext, record: DatasetRecord, key: string): Promise<Buffer> {
  const indexed = await ctx.deps.qdrant.versionsOf(record.alias, record.name, [key]);
  if (!indexed.has(key)) throw notFound(`body.key: "${key}" is not an image of dataset "${record.name}"`);
  const source = await ctx.deps.openSource(record.source);
  try {
    return await source.get(key);
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'ENOENT') {
      throw notFound(`body.key: "${key}" is indexed in dataset "${record.name}" but gone from its source ${source.uri}`);
    }
    throw error;
  }
}
