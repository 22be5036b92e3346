// GET /healthz: the process answers. GET /readyz: Redis, the artefact store and Qdrant
// answer (each checked with a deadline, all at once); 503 names the ones that did not.
import type { FastifyInstance } from 'fastify';
import { errorMessage } from '../../../shared/errors.js';
import type { RouteContext } from '../context.js';
import { withTimeout } from '../metrics.js';

const CHECK_TIMEOUT_MS = 3_000;
/** A key that never exists: exists() proves the store answers. */
const PROBE_KEY = '.imgsim-readyz-probe';

interface Check {
  ok: boolean;
  ms: number;
  error?: string;
}

async function timed(run: () => Promise<unknown>): Promise<Check> {
  const t0 = performance.now();
  try {
    await withTimeout(run(), CHECK_TIMEOUT_MS);
    return { ok: true, ms: Math.round(performance.now() - t0) };
  } catch (error) {
    return { ok: false, ms: Math.round(performance.now() - t0), error: errorMessage(error) };
  }
}

export function healthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;
  app.get('/healthz', () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const [redis, storage, qdrant] = await Promise.all([
      ctx.redis.up ? timed(() => deps.redis.ping()) : Promise.resolve<Check>({ ok: false, ms: 0, error: ctx.redis.reason() }),
      timed(() => deps.artifacts.exists(PROBE_KEY)),
      timed(() => deps.qdrant.listCollections()),
    ]);
    const checks = { redis, storage, qdrant };
    const failed = (Object.keys(checks) as Array<keyof typeof checks>).filter((name) => !checks[name].ok);
    return reply.code(failed.length === 0 ? 200 : 503).send({ status: failed.length === 0 ? 'ready' : 'unavailable', checks, failed });
  });
}
