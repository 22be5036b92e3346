// The HTTP server: Fastify with the versioned JSON API (routes/), the web app at /
// (web-app.ts), Bull Board, /metrics, /openapi.json and the health probes. Services are
// injected (connectServices in production, the tests' own in tests); nothing here
// connects to anything.
import type { FastifyInstance } from 'fastify';
import { ModelCache } from '../../shared/model/cache.js';
import { checkExposure } from './auth.js';
import { createBaseApp } from './base-app.js';
import { registerBoard } from './board.js';
import { queueErrorListener } from '../../shared/queue/connection.js';
import { SCHEDULE_QUEUE, Schedules } from '../../shared/queue/schedules.js';
import { RedisState, type RouteContext, type ServerDeps } from './context.js';
import { unavailable } from './errors.js';
import { createMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { datasetRoutes } from './routes/datasets.js';
import { duplicatesRoutes } from './routes/duplicates.js';
import { healthRoutes } from './routes/health.js';
import { runRoutes } from './routes/runs.js';
import { searchRoutes } from './routes/search.js';
import { featureRoutes } from './routes/features.js';
import { appInfoRoutes, QUEUED_PAGES } from './routes/app-info.js';
import { scheduleRoutes } from './routes/schedules.js';
import { datasetThumbnails, thumbnailRoutes } from './routes/thumbnails.js';
import { registerWebApp } from './web-app.js';

export type { ServerDeps } from './context.js';

export interface ServerOptions {
  /** Allow running without credentials (only on localhost; see auth.ts). */
  insecure?: boolean;
  /** Encoders of uploaded queries (default: a cache over deps.artifacts). */
  models?: ModelCache;
  /** Told of every route as it is registered (tests compare them with the OpenAPI document). */
  onRoute?: (route: { method: string; url: string; hidden: boolean }) => void;
  /** The built web app served at / (default dist/web/ of this package). */
  webDir?: string;
  /** Bytes of thumbnails kept in memory (default 64 MiB). */
  thumbnailCacheBytes?: number;
}

export async function buildServer(deps: ServerDeps, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const authenticated = checkExposure(deps.config, opts.insecure ?? false);
  const logger = deps.logger.child({ component: 'server' });
  const app = await createBaseApp({ config: deps.config, logger, authenticated, ...(opts.onRoute ? { onRoute: opts.onRoute } : {}) });
  const ctx: RouteContext = {
    deps,
    models: opts.models ?? new ModelCache(deps.artifacts),
    redis: new RedisState(deps.redis, deps.config.redisUrl),
    uploadLimitBytes: deps.config.uploadLimitBytes,
  };
  // Every /v1 route reads Redis: answer 503 at once while it is away (no offline queue wait).
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.routeOptions.url?.startsWith('/v1/') && !ctx.redis.up) done(unavailable('redis', ctx.redis.reason()));
    else done();
  });

  healthRoutes(app, ctx);
  appInfoRoutes(app, { mode: 'queued', pages: QUEUED_PAGES });
  runRoutes(app, ctx);
  datasetRoutes(app, ctx);
  duplicatesRoutes(app, ctx);
  searchRoutes(app, ctx);
  featureRoutes(app, ctx);
  thumbnailRoutes(app, datasetThumbnails(ctx), {
    maxPixels: deps.config.maxPixels,
    ...(opts.thumbnailCacheBytes !== undefined ? { cacheBytes: opts.thumbnailCacheBytes } : {}),
  });
  registerWebApp(app, opts.webDir !== undefined ? { distDir: opts.webDir } : {});

  const metrics = createMetrics({ queues: deps.scheduler.queues, redis: deps.redis, redisUp: () => ctx.redis.up, prefix: deps.config.queuePrefix, logger });
  app.addHook('onClose', async () => {
    await metrics.close();
    ctx.redis.dispose();
  });
  try {
    app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
    const document = openApiDocument();
    app.get('/openapi.json', () => document);
    const schedules = new Schedules(deps.redis, deps.config.queuePrefix);
    schedules.queue.on('error', queueErrorListener(logger, { queue: SCHEDULE_QUEUE }, 'queue error'));
    app.addHook('onClose', () => schedules.close());
    scheduleRoutes(app, schedules);
    await registerBoard(app, deps.scheduler.queues, schedules.queue);
    await app.ready();
  } catch (error) {
    await app.close(); // the queue-event connections and the Redis listener go with it
    throw error;
  }
  return app;
}
