// What both servers (`imgsim serve` and `imgsim serve --index`) set up the same way: a
// Fastify instance logging through our logger, errors answered in the API's one shape
// ({statusCode, error, message, issues?}), 404s naming the route, the authentication hook
// (or the --insecure warning), the cross-site / framing / DNS-rebinding refusals
// (request-guards.ts) and multipart uploads within the upload limit.
import multipart from '@fastify/multipart';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../../shared/config/index.js';
import type { Logger } from '../../shared/logger.js';
import { credentialsFrom, registerAuth } from './auth.js';
import { errorBody, HttpError, toHttpError } from './errors.js';
import { registerRequestGuards } from './request-guards.js';

/** JSON bodies: a 65,536-dimensional vector fits. Uploads have their own limit. */
const JSON_BODY_LIMIT = 4 * 1024 * 1024;

export interface BaseAppOptions {
  config: Pick<Config, 'apiToken' | 'basicAuth' | 'uploadLimitBytes'>;
  logger: Logger;
  /** Whether requests are authenticated (auth.ts checkExposure decided). */
  authenticated: boolean;
  /** Told of every route as it is registered (tests compare them with the OpenAPI document). */
  onRoute?: (route: { method: string; url: string; hidden: boolean }) => void;
}

export async function createBaseApp(o: BaseAppOptions): Promise<FastifyInstance> {
  const fastifyLogger: FastifyBaseLogger = o.logger;
  const app = Fastify({
    loggerInstance: fastifyLogger,
    // Requests are logged at debug by the onResponse hook below, errors by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: JSON_BODY_LIMIT,
  });
  const { onRoute } = o;
  if (onRoute) {
    app.addHook('onRoute', (r) => {
      const hidden = (r.schema as { hide?: unknown } | undefined)?.hide === true;
      for (const method of [r.method].flat()) onRoute({ method, url: r.url, hidden });
    });
  }
  app.setErrorHandler(async (error, request, reply) => {
    const e = toHttpError(error);
    if (e.statusCode >= 500) {
      const level = e.statusCode === 503 ? 'warn' : 'error';
      request.log[level]({ err: error, url: request.url, method: request.method }, e.message);
    }
    return reply.code(e.statusCode).send(errorBody(e));
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send(errorBody(new HttpError(404, `No route ${request.method} ${request.url.split('?')[0] ?? ''}`))),
  );
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  registerRequestGuards(app, { authenticated: o.authenticated });
  if (o.authenticated) registerAuth(app, credentialsFrom(o.config));
  else o.logger.warn('serving WITHOUT authentication (--insecure, localhost only)');
  await app.register(multipart, {
    throwFileSizeLimit: true,
    limits: { fileSize: o.config.uploadLimitBytes, files: 1, fields: 8, fieldSize: 4096, parts: 9 },
  });
  return app;
}
