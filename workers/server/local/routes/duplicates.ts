// The duplicates of the local server, in the queued routes' shapes (routes/duplicates.ts):
//   GET  …/duplicates          groups of <index>/duplicates/duplicates.json (written by
//                              `imgsim duplicates --index <dir>`), paged, filtered by tier,
//                              dismissed pairs left out
//   POST …/duplicates/dismiss  {a, b}: "not a duplicate", kept in the store the CLI's
//                              --dismiss uses, so later CLI passes honour it too
//   POST …/duplicates          409: a pass over a local folder is the CLI's
//                              (it decodes every image; not a request's work)
import type { FastifyInstance } from 'fastify';
import { UserError } from '../../../../shared/errors.js';
import { badRequest, HttpError, notFound, parseRequest } from '../../errors.js';
import { dismissBody, duplicatesQuery } from '../../schemas.js';
import type { LocalDuplicates } from '../duplicates-report.js';
import type { LocalDataset } from '../local-dataset.js';
import { requireLocalDataset } from './datasets.js';

export function localDuplicatesRoutes(app: FastifyInstance, ds: LocalDataset, duplicates: LocalDuplicates): void {
  app.get('/v1/datasets/:name/duplicates', async (request) => {
    requireLocalDataset(ds, request.params);
    const q = parseRequest(duplicatesQuery, request.query, 'query');
    try {
      return await duplicates.groups({ limit: q.limit, offset: q.offset, ...(q.tier ? { tier: q.tier } : {}), ...(q.minTier ? { minTier: q.minTier } : {}) });
    } catch (error) {
      if (error instanceof UserError) throw badRequest(`query.${error.message}`, { issues: [{ field: 'query.tier', message: error.message }] });
      throw error;
    }
  });

  app.post('/v1/datasets/:name/duplicates/dismiss', async (request, reply) => {
    requireLocalDataset(ds, request.params);
    const { a, b } = parseRequest(dismissBody, request.body ?? {}, 'body');
    for (const [field, key] of [['a', a], ['b', b]] as const) {
      if (!ds.hasKey(key)) throw notFound(`body.${field}: "${key}" is not an image of dataset "${ds.name}" (index folder ${ds.dir})`);
    }
    const dismissed = await duplicates.dismiss(a, b);
    return reply.code(dismissed ? 201 : 200).send({ dataset: ds.name, a, b, dismissed });
  });

  app.post('/v1/datasets/:name/duplicates', (request) => {
    requireLocalDataset(ds, request.params);
    throw new HttpError(409, `A local index's duplicates come from the command line: run ${duplicates.command()} (it writes the report this page reads)`);
  });
}
