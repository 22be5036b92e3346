// POST /v1/datasets/{name}/search: the k nearest images of an uploaded image
// (multipart/form-data, field "image", embedded with the dataset's model), of an indexed
// key, or of a vector — through the dataset's Qdrant alias, so a re-index swapping the
// alias never interrupts searches. Filters: key prefix (folder) and cluster label.
import type { FastifyInstance } from 'fastify';
import { UserError, errorMessage } from '../../../shared/errors.js';
import type { LoadedModel } from '../../../shared/model/store.js';
import { datasetIndex } from '../../../shared/runs/open-dataset.js';
import type { SearchHit } from '../../../shared/vectors/qdrant/index.js';
import type { Neighbor } from '../../../shared/vectors/types.js';
import { searchIndex } from '../../../pipelines/search.js';
import type { RouteContext } from '../context.js';
import { notFound, unavailable, unreachableService } from '../errors.js';
import { corruptionWarning, queryImageHttpError, readSearchRequest, searchAnswer } from '../query-requests.js';
import { requireDataset } from './datasets.js';

export function searchRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.post('/v1/datasets/:name/search', async (request) => {
    // Read (and check) the body first: a multipart stream is consumed before anything else.
    const query = await readSearchRequest(request, ctx.uploadLimitBytes);
    const record = await requireDataset(ctx, request.params);
    const within = {
      ...(query.keyPrefix !== undefined ? { keyPrefix: query.keyPrefix } : {}),
      ...(query.cluster !== undefined ? { cluster: query.cluster } : {}),
    };
    const filter = { dataset: record.name, ...within };
    let hits: Neighbor[];
    let warning: string | undefined;
    switch (query.kind) {
      case 'image': {
        const model = await loadModel(ctx, record.modelId);
        // The registry's (model, collection) pair, not the alias: during a swap to a new
        // model the alias may already point at vectors the registry's model did not make.
        const decode = corruptionWarning(request, record.name, 'form.image', query.filename);
        try {
          hits = await searchIndex({ index: datasetIndex(deps.qdrant, record, model), model, query: query.bytes, queryName: query.filename, k: query.k, filter: within, maxPixels: deps.config.maxPixels, onCorruption: decode.onCorruption });
        } catch (error) {
          throw queryImageHttpError(error, 'form.image', query.filename);
        }
        warning = decode.warning;
        break;
      }
      case 'key':
        try {
          hits = neighborsOf(await deps.qdrant.searchByKey(record.alias, record.name, query.key, { k: query.k, filter }));
        } catch (error) {
          if (error instanceof UserError) throw notFound(error.message);
          throw error;
        }
        break;
      case 'vector':
        hits = neighborsOf(await deps.qdrant.search(record.alias, Float32Array.from(query.vector), { k: query.k, filter }));
        break;
    }
    return searchAnswer(record.name, record.modelId, hits, warning);
  });
}

async function loadModel(ctx: RouteContext, modelId: string): Promise<LoadedModel> {
  try {
    return await ctx.models.get(modelId);
  } catch (error) {
    const service = unreachableService(error);
    throw unavailable(service ?? 'storage', `Cannot load model "${modelId}" from the artefact store: ${errorMessage(error)}`, error);
  }
}

function neighborsOf(hits: readonly SearchHit[]): Neighbor[] {
  return hits.map(({ key, score, payload }) => ({ key, score, ...(typeof payload.cluster === 'number' ? { cluster: payload.cluster } : {}) }));
}
