// POST /v1/datasets/{name}/search: the k nearest images of an uploaded image
// (multipart/form-data, field "image", embedded with the dataset's model), of an indexed
// key, or of a vector — through the dataset's Qdrant alias, so a re-index swapping the
// alias never interrupts searches. Filters: key prefix (folder) and cluster label.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UserError, errorMessage } from '../../../shared/errors.js';
import { sniffFormat } from '../../../shared/images/sniff.js';
import type { LoadedModel } from '../../../shared/model/store.js';
import { datasetIndex } from '../../../shared/runs/open-dataset.js';
import type { SearchHit } from '../../../shared/vectors/qdrant/index.js';
import type { Neighbor } from '../../../shared/vectors/types.js';
import { corruptQueryMessage, QueryImageError, searchIndex } from '../../../pipelines/search.js';
import type { RouteContext } from '../context.js';
import { badRequest, HttpError, notFound, parseRequest, unavailable, unreachableService } from '../errors.js';
import { searchFormFields, searchJsonBody } from '../schemas.js';
import { requireDataset } from './datasets.js';

const FORMATS = 'JPEG, PNG, WebP, GIF, TIFF or AVIF';

type SearchQuery =
  | { kind: 'image'; bytes: Buffer; filename: string; k: number; keyPrefix?: string; cluster?: number }
  | { kind: 'key'; key: string; k: number; keyPrefix?: string; cluster?: number }
  | { kind: 'vector'; vector: number[]; k: number; keyPrefix?: string; cluster?: number };

export function searchRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.post('/v1/datasets/:name/search', async (request) => {
    // Read (and check) the body first: a multipart stream is consumed before anything else.
    const query = request.isMultipart() ? await readUpload(request, ctx.uploadLimitBytes) : readJson(request);
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
        const onCorruption = (w: string): void => {
          warning = `form.image: ${corruptQueryMessage(`"${query.filename}"`, w)}`;
          request.log.warn({ dataset: record.name, query: query.filename, warning: w }, 'query image decoded with corruption warnings');
        };
        hits = await searchUpload({ index: datasetIndex(deps.qdrant, record, model), model, query: query.bytes, queryName: query.filename, k: query.k, filter: within, maxPixels: deps.config.maxPixels, onCorruption });
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
    return {
      dataset: record.name,
      modelId: record.modelId,
      neighbors: hits.map((h, i) => ({ rank: i + 1, key: h.key, score: h.score, ...(h.cluster !== undefined ? { cluster: h.cluster } : {}) })),
      ...(warning !== undefined ? { warning } : {}),
    };
  });
}

function readJson(request: FastifyRequest): SearchQuery {
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
    throw new HttpError(415, 'Expected multipart/form-data with an image in the field "image", or application/json {key} or {vector}');
  }
  const b = parseRequest(searchJsonBody, request.body, 'body');
  const filters = { ...(b.filters?.keyPrefix !== undefined ? { keyPrefix: b.filters.keyPrefix } : {}), ...(b.filters?.cluster !== undefined ? { cluster: b.filters.cluster } : {}) };
  if (b.key !== undefined) return { kind: 'key', key: b.key, k: b.k, ...filters };
  return { kind: 'vector', vector: b.vector ?? [], k: b.k, ...filters };
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

async function readUpload(request: FastifyRequest, limit: number): Promise<SearchQuery> {
  const image = await readImageUpload(request, limit);
  const f = parseRequest(searchFormFields, image.fields, 'form');
  return {
    kind: 'image',
    bytes: image.bytes,
    filename: image.filename,
    k: f.k,
    ...(f.keyPrefix !== undefined ? { keyPrefix: f.keyPrefix } : {}),
    ...(f.cluster !== undefined ? { cluster: f.cluster } : {}),
  };
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

/** The search stage on an uploaded image; 415 when it does not decode, 413 when it has too many pixels. */
async function searchUpload(input: Parameters<typeof searchIndex>[0]): Promise<Neighbor[]> {
  try {
    return await searchIndex(input);
  } catch (error) {
    if (!(error instanceof QueryImageError)) throw error;
    throw new HttpError(error.reason === 'too-many-pixels' ? 413 : 415, `form.image: cannot decode "${input.queryName}" (${error.detail})`);
  }
}
