// Datasets: GET /v1/datasets, GET /v1/datasets/{name} (model, collection, point count),
// GET /v1/datasets/{name}/clusters (coords + labels) and /clusters.png (the plot), both
// written by the cluster stage into the artefact store.
import type { FastifyInstance } from 'fastify';
import type { DatasetRecord } from '../../../shared/runs/index.js';
import { artifactKeys } from '../../../shared/runs/naming.js';
import { ArtifactCache } from '../artifact-cache.js';
import type { RouteContext } from '../context.js';
import { notFound, parseRequest } from '../errors.js';
import { datasetParams } from '../schemas.js';

/** The dataset named by the route's {name}, or a 404. */
export async function requireDataset(ctx: RouteContext, params: unknown): Promise<DatasetRecord> {
  const { name } = parseRequest(datasetParams, params, 'params');
  const record = await ctx.deps.runs.getDataset(name);
  if (!record) throw notFound(`Dataset "${name}" not found: no run has completed for it yet`);
  return record;
}

/** An artefact's bytes, or undefined when it does not exist (local ENOENT, S3 NoSuchKey). */
async function readArtifact(ctx: RouteContext, key: string): Promise<Buffer | undefined> {
  try {
    return await ctx.deps.artifacts.get(key);
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'ENOENT') return undefined;
    throw error;
  }
}

export function datasetRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.get('/v1/datasets', async () => ({ datasets: await deps.runs.listDatasets() }));

  app.get('/v1/datasets/:name', async (request) => {
    const record = await requireDataset(ctx, request.params);
    const points = await deps.qdrant.count(record.alias, { dataset: record.name });
    return { ...record, points };
  });

  // clusters.json is large at scale (~60 bytes a point): kept in memory by version, sent
  // with that version as its ETag (a browser revalidating gets a 304).
  const clusters = new ArtifactCache();
  app.get('/v1/datasets/:name/clusters', async (request, reply) => {
    const record = await requireDataset(ctx, request.params);
    const found = await clusters.read(deps.artifacts, artifactKeys.clusters(record.name));
    if (!found) throw notFound(`Dataset "${record.name}" has no clusters yet (too few images, or its cluster job has not run)`);
    const etag = `"${found.etag.replace(/"/g, '')}"`;
    void reply.header('etag', etag).header('cache-control', 'private, no-cache');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(found.bytes);
  });

  app.get('/v1/datasets/:name/clusters.png', async (request, reply) => {
    const record = await requireDataset(ctx, request.params);
    const png = await readArtifact(ctx, artifactKeys.clusterPlot(record.name));
    if (!png) throw notFound(`Dataset "${record.name}" has no cluster plot yet`);
    return reply.type('image/png').header('cache-control', 'no-cache').send(png);
  });
}
