// The OpenAPI 3.1 document served at /openapi.json, generated from the zod schemas the
// routes parse with (schemas.ts), so the document and the validation cannot drift apart.
// test/integration/server checks that it lists every route the app registers.
import { z } from 'zod';
import { BOARD_PATH } from './board.js';
import * as s from './schemas.js';

type Json = Record<string, unknown>;

function schema(t: z.ZodType, io: 'input' | 'output' = 'output'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(t, { io, unrepresentable: 'any' });
  return rest;
}

const json = (t: z.ZodType, io: 'input' | 'output' = 'output'): Json => ({ 'application/json': { schema: schema(t, io) } });

function parameters(where: 'path' | 'query', t: z.ZodObject): Json[] {
  const js = schema(t, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, p]) => {
    const { description, ...rest } = p;
    return {
      name,
      in: where,
      required: where === 'path' || (js.required ?? []).includes(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

const error = (description: string): Json => ({ description, content: json(s.errorResponse) });
const ERRORS = {
  400: error('invalid request: `issues` names each invalid field'),
  401: error('missing or wrong credentials'),
  403: error("refused by the request guards: a write a browser marks as from another site (Sec-Fetch-Site, Origin), or, on a server without credentials, a Host that is not a loopback name"),
  503: error('Redis, Qdrant or the artefact store is unreachable: `service` names it'),
};
const NOT_FOUND = { 404: error('unknown dataset or run') };

function op(summary: string, responses: Json, extra: Json = {}): Json {
  return { summary, ...extra, responses: { ...responses, 401: ERRORS[401], 403: ERRORS[403] } };
}

export function openApiDocument(): Json {
  const datasetPath = parameters('path', s.datasetParams);
  const runPath = parameters('path', s.runParams);
  return {
    openapi: '3.1.0',
    info: {
      title: 'imgsim',
      version: '1',
      description:
        'Similar-image search, runs (bulk dataset jobs) and datasets of the imgsim queue-driven pipeline. Every route but /healthz and /readyz needs a bearer token (IMGSIM_API_TOKEN) or basic auth (IMGSIM_BASIC_AUTH). Errors have the body {statusCode, error, message}.',
    },
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer' },
        basicAuth: { type: 'http', scheme: 'basic' },
      },
    },
    security: [{ bearerAuth: [] }, { basicAuth: [] }],
    paths: {
      '/v1/datasets/{name}/search': {
        post: op(
          'k nearest images of an uploaded image, an indexed key or a vector',
          {
            200: { description: 'neighbours, best first', content: json(s.searchResponse) },
            400: ERRORS[400],
            404: error('unknown dataset, or the key is not indexed'),
            413: error('upload larger than IMGSIM_UPLOAD_LIMIT_BYTES (or an image with too many pixels)'),
            415: error('not an image (JPEG, PNG, WebP, GIF, TIFF, AVIF), or neither multipart nor JSON'),
            503: ERRORS[503],
          },
          {
            parameters: datasetPath,
            requestBody: {
              required: true,
              content: {
                'multipart/form-data': { schema: schema(s.searchMultipartBody, 'input'), encoding: { image: { contentType: 'image/*' } } },
                ...json(s.searchJsonBody, 'input'),
              },
            },
          },
        ),
      },
      '/v1/datasets/{name}/features': {
        post: op(
          'images sharing ORB keypoint features with an uploaded image, or with an indexed image named by its key (left out of the answer): AE candidates re-ranked by ORB matching, or the reference method',
          {
            200: { description: 'neighbours, best first', content: json(s.featuresResponse) },
            400: ERRORS[400],
            404: error('unknown dataset; a key that is not an image of the dataset, or whose object is gone from the source'),
            413: error('upload larger than IMGSIM_UPLOAD_LIMIT_BYTES (or an image with too many pixels)'),
            415: error('not an image (JPEG, PNG, WebP, GIF, TIFF, AVIF), or neither multipart nor JSON'),
            503: ERRORS[503],
          },
          {
            parameters: datasetPath,
            requestBody: {
              required: true,
              content: {
                'multipart/form-data': { schema: schema(s.featuresMultipartBody, 'input'), encoding: { image: { contentType: 'image/*' } } },
                ...json(s.featuresJsonBody, 'input'),
              },
            },
          },
        ),
      },
      '/v1/runs': {
        post: op(
          'enqueue a bulk dataset job (a run): ingest → [train] → embed → index → cluster',
          {
            201: { description: 'run created', content: json(s.createRunResponse) },
            200: { description: 'an active run already does this work: that run', content: json(s.createRunResponse) },
            400: ERRORS[400],
            503: ERRORS[503],
          },
          { requestBody: { required: true, content: json(s.createRunBody, 'input') } },
        ),
        get: op('recent runs, newest first', { 200: { description: 'runs', content: json(s.listRunsResponse) }, 400: ERRORS[400], 503: ERRORS[503] }, { parameters: parameters('query', s.listRunsQuery) }),
      },
      '/v1/runs/{id}': {
        get: op(
          'progress of a run: counts, throughput, ETA and a page of its failed items',
          { 200: { description: 'the run', content: json(s.runResponse) }, 400: ERRORS[400], ...NOT_FOUND, 503: ERRORS[503] },
          { parameters: [...runPath, ...parameters('query', s.runQuery)] },
        ),
      },
      '/v1/runs/{id}/retry-failed': {
        post: op(
          "embed and index a run's failed items again",
          { 200: { description: 'items re-enqueued', content: json(s.retryResponse) }, 400: ERRORS[400], ...NOT_FOUND, 409: error('the run has no model yet'), 503: ERRORS[503] },
          { parameters: runPath },
        ),
      },
      '/v1/datasets': {
        get: op('datasets with a completed run', { 200: { description: 'datasets', content: json(s.listDatasetsResponse) }, 503: ERRORS[503] }),
      },
      '/v1/datasets/{name}': {
        get: op('model, collection and point count of a dataset', { 200: { description: 'the dataset', content: json(s.datasetResponse) }, 400: ERRORS[400], ...NOT_FOUND, 503: ERRORS[503] }, { parameters: datasetPath }),
      },
      '/v1/datasets/{name}/clusters': {
        get: op('2-D coordinates (t-SNE) and cluster labels (k-means) of every image', { 200: { description: 'clusters.json', content: json(s.clustersResponse) }, 400: ERRORS[400], ...NOT_FOUND, 503: ERRORS[503] }, { parameters: datasetPath }),
      },
      '/v1/datasets/{name}/clusters.png': {
        get: op('the cluster plot', { 200: { description: 'PNG image', content: { 'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } } } }, 400: ERRORS[400], ...NOT_FOUND, 503: ERRORS[503] }, { parameters: datasetPath }),
      },
      '/v1/datasets/{name}/duplicates': {
        post: op(
          'start a duplicates pass of the dataset (fingerprint batches over the fingerprint workers, then the pairs): mode missing looks only at images new or changed since the last pass; cosine or fraction sets the learned tier\'s threshold; joins the active pass if there is one',
          {
            202: { description: 'pass started: follow it with GET (pass.status)', content: json(s.createDuplicatesResponse) },
            200: { description: 'a pass of this dataset is already active: that pass', content: json(s.createDuplicatesResponse) },
            400: ERRORS[400],
            ...NOT_FOUND,
            409: error('a pass of this dataset is active at another learned threshold than the one asked: start again once it is done'),
            503: ERRORS[503],
          },
          { parameters: datasetPath, requestBody: { required: false, content: json(s.createDuplicatesBody, 'input') } },
        ),
        get: op(
          "the dataset's duplicate groups from its latest pass, largest first, each with its members (a suggested keeper) and the evidence of each pair; pairs marked not a duplicate are left out",
          {
            200: { description: 'a page of groups, and the pass and report they come from', content: json(s.duplicatesResponse) },
            400: ERRORS[400],
            ...NOT_FOUND,
            500: error('the stored duplicates report (or the dismissed pairs) cannot be read: damaged, or written by another version; a new pass (POST mode all) writes it again'),
            503: ERRORS[503],
          },
          { parameters: [...datasetPath, ...parameters('query', s.duplicatesQuery)] },
        ),
      },
      '/v1/datasets/{name}/duplicates/dismiss': {
        post: op(
          'mark a pair "not a duplicate": never reported again, in the stored groups and by later passes, across re-indexes',
          {
            201: { description: 'the pair is marked', content: json(s.dismissResponse) },
            200: { description: 'the pair was already marked', content: json(s.dismissResponse) },
            400: ERRORS[400],
            ...NOT_FOUND,
            503: ERRORS[503],
          },
          { parameters: datasetPath, requestBody: { required: true, content: json(s.dismissBody, 'input') } },
        ),
      },
      '/v1/app': {
        get: op("what the web app needs of this server: mode (queued or local), version, the pages it backs, thumbnail sizes", {
          200: { description: 'the server', content: json(s.appInfoResponse) },
          503: ERRORS[503],
        }),
      },
      '/v1/schedules': {
        get: op('the schedules (re-indexing runs and duplicates passes on cron patterns; `imgsim schedule` adds them), by name, with when each fires next', {
          200: { description: 'schedules', content: json(s.schedulesResponse) },
          503: ERRORS[503],
        }),
      },
      '/v1/datasets/{name}/thumbnail': {
        get: op(
          "a WebP of one image of the dataset, fitting inside size × size (never enlarged), read from the dataset's source; for the web app's grids",
          {
            200: {
              description: 'WebP image; Cache-Control private, max-age=300; an ETag (If-None-Match → 304)',
              headers: { ETag: { schema: { type: 'string' } }, 'Cache-Control': { schema: { type: 'string' } } },
              content: { 'image/webp': { schema: { type: 'string', contentMediaType: 'image/webp' } } },
            },
            304: { description: 'not modified: the ETag sent in If-None-Match is current' },
            400: error('invalid query: `query.key` with a ".." segment, an absolute path, a backslash or a NUL; `query.size` outside 32..512'),
            404: error('unknown dataset, a key that is not an image of the dataset, or its object is gone from the source'),
            413: error('the image has more pixels than IMGSIM_MAX_PIXELS'),
            415: error('the stored object is not an image (JPEG, PNG, WebP, GIF, TIFF, AVIF)'),
            503: ERRORS[503],
          },
          { parameters: [...datasetPath, ...parameters('query', s.thumbnailQuery)] },
        ),
      },
      '/': {
        get: op('the web app (index.html of dist/web/, built by `npm run build`; its files are under /assets/)', {
          200: { description: 'HTML page; Cache-Control no-cache', content: { 'text/html': { schema: { type: 'string' } } } },
          503: error('the web app is not built: run `npm run build`'),
        }),
      },
      '/healthz': {
        get: { summary: 'the process is up', security: [], responses: { 200: { description: 'up', content: json(s.healthResponse) } } },
      },
      '/readyz': {
        get: {
          summary: 'Redis, the artefact store and Qdrant answer',
          security: [],
          responses: { 200: { description: 'ready', content: json(s.readyResponse) }, 503: { description: '`failed` names what did not answer, `checks` says why', content: json(s.readyResponse) } },
        },
      },
      '/metrics': {
        get: op('Prometheus metrics: queue depths by state, job durations, images embedded, failures', {
          200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
        }),
      },
      '/openapi.json': {
        get: op('this document', { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } }),
      },
      [BOARD_PATH]: {
        get: op('Bull Board: every imgsim queue, with retry/clean actions (HTML; its own API lives under this path)', {
          200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } },
        }),
      },
    },
  };
}
