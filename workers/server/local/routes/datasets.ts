// GET /v1/datasets, /v1/datasets/{name}, …/clusters and …/clusters.png of the local
// server: the one dataset of the index folder, in the queued routes' shapes
// (workers/server/routes/datasets.ts). clusters.json and clusters.png are read from the
// index folder at each request (`imgsim cluster` may rewrite them while the server runs).
import type { FastifyInstance } from 'fastify';
import { CLUSTER_PLOT_FILE, CLUSTERS_FILE } from '../../../../shared/analysis/clusters-file.js';
import { notFound, parseRequest } from '../../errors.js';
import { datasetParams } from '../../schemas.js';
import type { LocalDataset } from '../local-dataset.js';

/** The dataset named by the route's {name} (400 for an invalid name), or a 404 naming the one there is. */
export function requireLocalDataset(ds: LocalDataset, params: unknown): LocalDataset {
  const { name } = parseRequest(datasetParams, params, 'params');
  if (name !== ds.name) throw notFound(`Dataset "${name}" not found: this server serves the index folder ${ds.dir} as dataset "${ds.name}"`);
  return ds;
}

/** A file of the index folder, or undefined when it does not exist. */
async function readOptional(ds: LocalDataset, file: string): Promise<Buffer | undefined> {
  try {
    return await ds.folder.get(file);
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'ENOENT') return undefined;
    throw error;
  }
}

export function localDatasetRoutes(app: FastifyInstance, ds: LocalDataset): void {
  app.get('/v1/datasets', () => ({ datasets: [ds.record] }));

  app.get('/v1/datasets/:name', (request) => {
    requireLocalDataset(ds, request.params);
    return { ...ds.record, points: ds.points };
  });

  app.get('/v1/datasets/:name/clusters', async (request, reply) => {
    requireLocalDataset(ds, request.params);
    const json = await readOptional(ds, CLUSTERS_FILE);
    if (!json) throw notFound(`Dataset "${ds.name}" has no clusters: ${ds.dir} has no ${CLUSTERS_FILE} (imgsim cluster --index ${ds.dir} writes one; an index of fewer than 3 images has none)`);
    return reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(json);
  });

  app.get('/v1/datasets/:name/clusters.png', async (request, reply) => {
    requireLocalDataset(ds, request.params);
    const png = await readOptional(ds, CLUSTER_PLOT_FILE);
    if (!png) throw notFound(`Dataset "${ds.name}" has no cluster plot: ${ds.dir} has no ${CLUSTER_PLOT_FILE}`);
    return reply.type('image/png').header('cache-control', 'no-cache').send(png);
  });
}
