// POST /v1/datasets/{name}/search on the local server, in the queued route's shape
// (workers/server/routes/search.ts; the request and answer in ../../query-requests.ts),
// over the FlatIndex and model opened once at start-up: a multipart upload (field "image";
// fields k, keyPrefix, cluster) embedded with the index's model, or JSON {key} (its stored
// vector; the key left out) or {vector}, with filters {keyPrefix, cluster} — as
// `imgsim search --index`.
import type { FastifyInstance } from 'fastify';
import { searchIndex } from '../../../../pipelines/search.js';
import type { Neighbor } from '../../../../shared/vectors/types.js';
import { badRequest, notFound } from '../../errors.js';
import { corruptionWarning, queryImageHttpError, readSearchRequest, searchAnswer } from '../../query-requests.js';
import type { LocalDataset } from '../local-dataset.js';
import { requireLocalDataset } from './datasets.js';

export function localSearchRoutes(app: FastifyInstance, ds: LocalDataset, o: { uploadLimitBytes: number; maxPixels: number }): void {
  const { index, model } = ds.opened;

  app.post('/v1/datasets/:name/search', async (request) => {
    // The body first: a multipart stream is consumed before anything else.
    const query = await readSearchRequest(request, o.uploadLimitBytes);
    requireLocalDataset(ds, request.params);
    const filter = { ...(query.keyPrefix !== undefined ? { keyPrefix: query.keyPrefix } : {}), ...(query.cluster !== undefined ? { cluster: query.cluster } : {}) };
    let hits: Neighbor[];
    let warning: string | undefined;
    switch (query.kind) {
      case 'image': {
        const decode = corruptionWarning(request, ds.name, 'form.image', query.filename);
        try {
          hits = await searchIndex({ index, model, query: query.bytes, queryName: query.filename, k: query.k, filter, maxPixels: o.maxPixels, onCorruption: decode.onCorruption });
        } catch (error) {
          throw queryImageHttpError(error, 'form.image', query.filename);
        }
        warning = decode.warning;
        break;
      }
      case 'key': {
        if (!ds.hasKey(query.key)) throw notFound(`body.key: "${query.key}" is not an image of dataset "${ds.name}" (index folder ${ds.dir})`);
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
    return searchAnswer(ds.name, ds.record.modelId, hits, warning);
  });
}
