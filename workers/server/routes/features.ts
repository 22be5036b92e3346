// POST /v1/datasets/{name}/features: images of a dataset sharing ORB keypoint features
// with an uploaded image (multipart field "image"): the live collection's autoencoder
// neighbours re-ranked by ORB matching (method match), or the reference method; the
// candidates' images are read from the dataset's source. As `imgsim features --dataset`.
import type { FastifyInstance } from 'fastify';
import { loadOpenCv } from '../../../shared/features/opencv.js';
import { openDataset } from '../../../shared/runs/open-dataset.js';
import { FeatureExtractor, featureSettings, imagesOf, searchFeaturesIn } from '../../../pipelines/features.js';
import { collectionReferenceStore } from '../../../pipelines/features-reference.js';
import { corruptQueryMessage, QueryImageError } from '../../../pipelines/search.js';
import type { RouteContext } from '../context.js';
import { HttpError, parseRequest } from '../errors.js';
import { featuresFormFields } from '../schemas.js';
import { requireDataset } from './datasets.js';
import { readImageUpload } from './search.js';

export function featureRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.post('/v1/datasets/:name/features', async (request) => {
    if (!request.isMultipart()) throw new HttpError(415, 'Expected multipart/form-data with the query image in the field "image"');
    const upload = await readImageUpload(request, ctx.uploadLimitBytes);
    const f = parseRequest(featuresFormFields, upload.fields, 'form');
    const record = await requireDataset(ctx, request.params);
    const settings = featureSettings(f.method, { maxPixels: deps.config.maxPixels, ...(f.nfeatures !== undefined ? { nfeatures: f.nfeatures } : {}) });
    let result;
    let warning: string | undefined;
    const onCorruption = (w: string): void => {
      warning = `form.image: ${corruptQueryMessage(`"${upload.filename}"`, w)}`;
      request.log.warn({ dataset: record.name, query: upload.filename, warning: w }, 'query image decoded with corruption warnings');
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
          query: upload.bytes,
          queryName: upload.filename,
          method: f.method,
          k: f.k,
          candidates: f.candidates,
          maxPixels: deps.config.maxPixels,
          referenceStore: collectionReferenceStore(deps.artifacts, opened.index),
          onCorruption,
        },
        extractor,
        deps.logger,
      );
    } catch (error) {
      if (error instanceof QueryImageError) throw new HttpError(error.reason === 'too-many-pixels' ? 413 : 415, `form.image: ${error.message}`);
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
