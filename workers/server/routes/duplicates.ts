// Duplicates of a dataset (pipelines/distributed/duplicates-*.ts, docs/duplicates.md):
//   POST /v1/datasets/{name}/duplicates          {mode?, cosine? | fraction?}: start a pass (or
//                                                join the active one; 409 when it runs at
//                                                another learned threshold than asked), as
//                                                `imgsim dataset duplicates <name>`
//   GET  /v1/datasets/{name}/duplicates          the latest pass's groups, paged (limit,
//                                                offset → nextOffset), filtered by tier;
//                                                dismissed pairs are never in them; grouped
//                                                once per report and dismissals version, off
//                                                the event loop (duplicate-groups-cache.ts); a
//                                                damaged stored report is a 500
//   POST /v1/datasets/{name}/duplicates/dismiss  {a, b}: mark a pair "not a duplicate" (400
//                                                naming a or b when it is no image of the dataset)
import type { FastifyInstance } from 'fastify';
import { dismissPair, enqueueDuplicates, NotInDatasetError } from '../../../pipelines/distributed/duplicates-results.js';
import { DamagedReportError } from '../../../pipelines/distributed/duplicates-view.js';
import { learnedFields } from '../../../shared/duplicates/tiers.js';
import { DuplicatePasses } from '../../../shared/runs/duplicate-passes.js';
import type { RouteContext } from '../context.js';
import { DuplicateGroupsCache } from '../duplicate-groups-cache.js';
import { badRequest, HttpError, parseRequest } from '../errors.js';
import { createDuplicatesBody, dismissBody, duplicatesQuery } from '../schemas.js';
import { requireDataset } from './datasets.js';

export function duplicatesRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;
  const passes = new DuplicatePasses(deps.redis, deps.config.queuePrefix);

  app.post('/v1/datasets/:name/duplicates', async (request, reply) => {
    const record = await requireDataset(ctx, request.params);
    const body = parseRequest(createDuplicatesBody, request.body ?? {}, 'body');
    const { pass, created } = await enqueueDuplicates(record.name, body.mode, { runs: deps.runs, passes, scheduler: deps.scheduler }, learnedFields(body));
    return reply
      .code(created ? 202 : 200)
      .header('location', `/v1/datasets/${record.name}/duplicates`)
      .send({ pass, created });
  });

  const groups = new DuplicateGroupsCache();
  app.get('/v1/datasets/:name/duplicates', async (request, reply) => {
    const record = await requireDataset(ctx, request.params);
    const q = parseRequest(duplicatesQuery, request.query, 'query');
    const body = await groups.page(record.name, q, { artifacts: deps.artifacts, passes }).catch((error: unknown) => {
      // A stored file we cannot read is our fault, not the request's.
      throw error instanceof DamagedReportError ? new HttpError(500, `Dataset "${record.name}": ${error.message}`, {}, { cause: error }) : error;
    });
    return reply.type('application/json; charset=utf-8').send(body);
  });

  app.post('/v1/datasets/:name/duplicates/dismiss', async (request, reply) => {
    const record = await requireDataset(ctx, request.params);
    const { a, b } = parseRequest(dismissBody, request.body ?? {}, 'body');
    const dismissed = await dismissPair(record, a, b, { artifacts: deps.artifacts, redis: deps.redis, prefix: deps.config.queuePrefix, qdrant: deps.qdrant }).catch((error: unknown) => {
      if (!(error instanceof NotInDatasetError)) throw error;
      const issue = { field: `body.${error.field}`, message: `"${error.key}" is not an image of dataset "${record.name}"` };
      throw badRequest(`${issue.field}: ${issue.message}`, { issues: [issue] });
    });
    return reply.code(dismissed ? 201 : 200).send({ dataset: record.name, a, b, dismissed });
  });
}
