// `imgsim serve`: check the exposure (credentials or --insecure on localhost) before
// connecting anything (and warn when only a bearer token is set: no browser can open the
// web app then), initialise the tfjs backend (uploaded queries are embedded here),
// connect the services, listen, and shut down gracefully on SIGINT/SIGTERM (stop taking
// requests, let running ones finish, close the queues and Redis).
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../shared/config/index.js';
import type { Logger } from '../../shared/logger.js';
import { initBackend } from '../../shared/model/backend.js';
import { connectServices } from '../../shared/services.js';
import { onShutdown } from '../shutdown.js';
import { browserAuthWarning, checkExposure } from './auth.js';
import { buildServer } from './app.js';

export interface StartedServer {
  app: FastifyInstance;
  /** http://host:port actually bound (port 0 resolved). */
  url: string;
}

export async function startServer(config: Config, logger: Logger, o: { insecure: boolean }): Promise<StartedServer> {
  checkExposure(config, o.insecure);
  const browserWarning = browserAuthWarning(config);
  if (browserWarning !== undefined) logger.warn(browserWarning);
  await initBackend(config.backend, logger);
  const services = await connectServices(config, logger);
  let app: FastifyInstance;
  try {
    app = await buildServer(services, { insecure: o.insecure });
    await app.listen({ host: config.serverHost, port: config.serverPort });
  } catch (error) {
    await services.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.serverPort;
  const host = config.serverHost.includes(':') && !config.serverHost.startsWith('[') ? `[${config.serverHost}]` : config.serverHost;
  const url = `http://${host}:${port}`;
  logger.info({ url, app: `${url}/`, board: `${url}/admin/queues`, openapi: `${url}/openapi.json` }, `imgsim server listening on ${url}: the web app at ${url}/`);
  onShutdown([() => app.close(), () => services.close()], { timeoutMs: config.shutdownTimeoutMs, logger });
  return { app, url };
}
