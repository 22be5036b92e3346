// POST /v1/datasets/{name}/features on the local server, in the queued route's shape
// (workers/server/routes/features.ts; the request and answer in ../../query-requests.ts):
// a multipart upload or JSON {key} (the indexed image, read from the source folder, left
// out of the answer), ORB matching over the index's visual-word index (match) or the
// reference method — as `imgsim features --index` (../local-features.ts).
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';
import { corruptionWarning, featureQueryOf, featuresAnswer, queryImageHttpError, readFeatureRequest } from '../../query-requests.js';
import type { LocalFeatures } from '../local-features.js';
import { sourceMissing, type LocalDataset } from '../local-dataset.js';
import { requireLocalDataset } from './datasets.js';

export function localFeatureRoutes(app: FastifyInstance, ds: LocalDataset, o: { uploadLimitBytes: number; features: LocalFeatures }): void {
  /** The indexed image's bytes: 404 unless the key is indexed or when it is gone from the folder. */
  const indexedImage = async (key: string): Promise<Buffer> => {
    if (!ds.hasKey(key)) throw notFound(`body.key: "${key}" is not an image of dataset "${ds.name}" (index folder ${ds.dir})`);
    try {
      return await o.features.imageOf(key);
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === 'ENOENT') {
        throw notFound(`body.key: "${key}" is indexed in dataset "${ds.name}" but gone from its source folder ${ds.source.root}`);
      }
      throw error;
    }
  };

  app.post('/v1/datasets/:name/features', async (request) => {
    const req = await readFeatureRequest(request, o.uploadLimitBytes);
    requireLocalDataset(ds, request.params);
    // Before reading a key's image: a missing folder is a 503, not that image's 404.
    if (!(await o.features.sourcePresent())) throw sourceMissing(ds, 'Feature search decodes');
    const query = await featureQueryOf(req, indexedImage);
    const decode = corruptionWarning(request, ds.name, query.field, query.name);
    let result;
    try {
      result = await o.features.search({ ...query, onCorruption: decode.onCorruption });
    } catch (error) {
      throw queryImageHttpError(error, query.field, query.name);
    }
    let warning = decode.warning;
    if (result.wordIndexPending) {
      const pending = `the visual-word index of ${ds.dir} is not ready yet (built once in the background; the server logs when it is): these are the autoencoder's ${query.candidates} candidates re-ranked by ORB, without the images sharing the most visual words (rotated copies, tight crops)`;
      warning = warning === undefined ? pending : `${warning}; ${pending}`;
    }
    return featuresAnswer(ds.name, ds.record.modelId, result, warning);
  });
}
