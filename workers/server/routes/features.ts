// POST /v1/datasets/{name}/features: images of a dataset sharing ORB keypoint features
// with a query image — uploaded (multipart field "image"), or an indexed image named by
// its key (JSON {key}: read from the dataset's source and left out of the answer). The
// live collection's autoencoder neighbours re-ranked by ORB matching (method match), or
// the reference method; the candidates' images are read from the dataset's source. As
// `imgsim features --dataset`. Both query kinds take the same path once the bytes are in hand.
import type { FastifyInstance } from 'fastify';
import { loadOpenCv } from '../../../shared/features/opencv.js';
import { openDataset } from '../../../shared/runs/open-dataset.js';
import type { DatasetRecord } from '../../../shared/runs/index.js';
import { FeatureExtractor, featureSettings, imagesOf, searchFeaturesIn } from '../../../pipelines/features.js';
import { collectionReferenceStore } from '../../../pipelines/features-reference.js';
import type { RouteContext } from '../context.js';
import { notFound } from '../errors.js';
import { corruptionWarning, featureQueryOf, featuresAnswer, queryImageHttpError, readFeatureRequest } from '../query-requests.js';
import { requireDataset } from './datasets.js';

export function featureRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.post('/v1/datasets/:name/features', async (request) => {
    // Read (and check) the body first: a multipart stream is consumed before anything else.
    const req = await readFeatureRequest(request, ctx.uploadLimitBytes);
    const record = await requireDataset(ctx, request.params);
    const query = await featureQueryOf(req, (key) => readIndexedImage(ctx, record, key));
    const settings = featureSettings(query.method, { maxPixels: deps.config.maxPixels, ...(query.nfeatures !== undefined ? { nfeatures: query.nfeatures } : {}) });
    const decode = corruptionWarning(request, record.name, query.field, query.name);
    let result;
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
          ...(query.exclude !== undefined ? { excludeKeys: new Set([query.exclude]) } : {}),
          maxPixels: deps.config.maxPixels,
          referenceStore: collectionReferenceStore(deps.artifacts, opened.index),
          onCorruption: decode.onCorruption,
        },
        extractor,
        deps.logger,
      );
    } catch (error) {
      throw queryImageHttpError(error, query.field, query.name);
    }
    return featuresAnswer(record.name, record.modelId, result, decode.warning);
  });
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
