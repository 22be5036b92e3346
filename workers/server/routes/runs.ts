// Runs: POST /v1/runs (enqueue a bulk dataset job, as `imgsim enqueue`), GET /v1/runs,
// GET /v1/runs/{id} (progress, ETA, a page of failures), POST /v1/runs/{id}/retry-failed.
import type { FastifyInstance } from 'fastify';
import { summariseFailures, withMetrics } from '../../../shared/runs/index.js';
import { enqueueRun, retryFailed } from '../../../pipelines/distributed/runs.js';
import type { RouteContext } from '../context.js';
import { HttpError, notFound, parseRequest } from '../errors.js';
import { createRunBody, listRunsQuery, runParams, runQuery } from '../schemas.js';

export function runRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.post('/v1/runs', async (request, reply) => {
    const body = parseRequest(createRunBody, request.body ?? {}, 'body');
    const { run, created, modelFrom } = await enqueueRun(
      {
        source: body.source,
        dataset: body.dataset,
        mode: body.mode,
        ...(body.model !== undefined ? { modelId: body.model } : {}),
        ...(body.task !== undefined ? { task: body.task } : {}),
      },
      deps,
    );
    return reply
      .code(created ? 201 : 200)
      .header('location', `/v1/runs/${run.id}`)
      .send({ run: withMetrics(run), created, modelFrom });
  });

  app.get('/v1/runs', async (request) => {
    const q = parseRequest(listRunsQuery, request.query, 'query');
    const runs = await deps.runs.list({ limit: q.limit, offset: q.offset });
    return { runs: runs.map((r) => withMetrics(r)), limit: q.limit, offset: q.offset };
  });

  app.get('/v1/runs/:id', async (request) => {
    const { id } = parseRequest(runParams, request.params, 'params');
    const q = parseRequest(runQuery, request.query, 'query');
    const run = await deps.runs.get(id);
    if (!run) throw notFound(`Run "${id}" not found`);
    const all = await deps.runs.failures(id, { limit: Number.MAX_SAFE_INTEGER });
    const items = all.items.slice(q.failuresOffset, q.failuresOffset + q.failuresLimit);
    const summary = summariseFailures(all.items.map((f) => f.reason));
    return { run: withMetrics(run), failures: { total: all.total, offset: q.failuresOffset, limit: q.failuresLimit, items, summary } };
  });

  app.post('/v1/runs/:id/retry-failed', async (request) => {
    const { id } = parseRequest(runParams, request.params, 'params');
    const run = await deps.runs.get(id);
    if (!run) throw notFound(`Run "${id}" not found`);
    if (!run.modelId) throw new HttpError(409, `Run "${id}" has no model yet (status ${run.status}); nothing to retry`);
    const { retried } = await retryFailed(id, deps);
    return { runId: id, retried };
  });
}
