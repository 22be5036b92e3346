// `imgsim serve --index <dir>`: the web app and the /v1 API over one local index folder,
// with no Redis, S3 or Qdrant — the same paths and answers as `imgsim serve` for what a
// local index has (datasets, clusters, search, features, thumbnails, duplicates), no runs
// or schedules (GET /v1/app lists the pages). The folder is opened once (model, vectors);
// clusters.json, the duplicates report and the dismissals are read when asked.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../shared/config/index.js';
import { UserError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import { initBackend } from '../../../shared/model/backend.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import { readIndexManifest } from '../../../pipelines/layout.js';
import { onShutdown } from '../../shutdown.js';
import { browserAuthWarning, checkExposure } from '../auth.js';
import { createBaseApp } from '../base-app.js';
import { appInfoRoutes, LOCAL_PAGES } from '../routes/app-info.js';
import { registerWebApp } from '../web-app.js';
import { LocalDuplicates } from './duplicates-report.js';
import { LocalFeatures } from './local-features.js';
import { openLocalDataset, type LocalDataset } from './local-dataset.js';
import { localDatasetRoutes } from './routes/datasets.js';
import { localDuplicatesRoutes } from './routes/duplicates.js';
import { localFeatureRoutes } from './routes/features.js';
import { localSearchRoutes } from './routes/search.js';
import { localThumbnailRoutes } from './routes/thumbnails.js';

export interface LocalServerOptions {
  insecure?: boolean;
  /** The built web app served at / (default dist/web/ of this package). */
  webDir?: string;
  /**
   * The visual-word index of feature search (orb-words.bin, read or built once):
   * 'background' (default) opened as soon as the server listens, match requests answered
   * without it until it is ready; 'wait' opened before the server is ready (tests); 'lazy'
   * on the first match request.
   */
  wordIndex?: 'background' | 'wait' | 'lazy';
}

type LocalConfig = Pick<Config, 'apiToken' | 'basicAuth' | 'serverHost' | 'uploadLimitBytes' | 'maxPixels'>;

export async function buildLocalServer(ds: LocalDataset, config: LocalConfig, logger: Logger, o: LocalServerOptions = {}): Promise<FastifyInstance> {
  const authenticated = checkExposure(config, o.insecure ?? false);
  const app = await createBaseApp({ config, logger: logger.child({ component: 'server' }), authenticated });
  const features = new LocalFeatures(ds, { maxPixels: config.maxPixels, logger });
  const wordIndex = o.wordIndex ?? 'background';
  if (wordIndex === 'wait') await features.prepare();
  if (wordIndex === 'background') {
    // Once listening: reading a large store holds the thread for a second or two (docs/web.md).
    app.addHook('onListen', (done) => {
      void features.prepare();
      done();
    });
  }
  app.get('/healthz', () => ({ status: 'ok' }));
  appInfoRoutes(app, { mode: 'local', pages: LOCAL_PAGES });
  localDatasetRoutes(app, ds);
  localSearchRoutes(app, ds, { uploadLimitBytes: config.uploadLimitBytes, maxPixels: config.maxPixels });
  localFeatureRoutes(app, ds, { uploadLimitBytes: config.uploadLimitBytes, features });
  localDuplicatesRoutes(app, ds, new LocalDuplicates(ds));
  localThumbnailRoutes(app, ds, { maxPixels: config.maxPixels });
  registerWebApp(app, o.webDir !== undefined ? { distDir: o.webDir } : {});
  await app.ready();
  return app;
}

export interface StartedLocalServer {
  app: FastifyInstance;
  url: string;
  dataset: string;
}

/** Check the exposure, open the index, listen, and shut down gracefully on SIGINT/SIGTERM. */
export async function startLocalServer(dir: string, config: Config, logger: Logger, o: LocalServerOptions = {}): Promise<StartedLocalServer> {
  checkExposure(config, o.insecure ?? false);
  const warning = browserAuthWarning(config);
  if (warning) logger.warn(warning);
  const started = performance.now();
  await readIndexManifest(new LocalStorage(dir)); // a wrong folder is refused before TensorFlow.js loads
  await initBackend(config.backend, logger);
  const ds = await openLocalDataset(dir, logger);
  const app = await buildLocalServer(ds, config, logger, o);
  try {
    await app.listen({ host: config.serverHost, port: config.serverPort });
  } catch (error) {
    await app.close();
    if ((error as { code?: unknown } | null)?.code === 'EADDRINUSE') {
      throw new UserError(`Cannot listen on ${config.serverHost}:${config.serverPort}: the port is in use (another imgsim serve?); choose another with --port`, 2);
    }
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.serverPort;
  const host = config.serverHost.includes(':') && !config.serverHost.startsWith('[') ? `[${config.serverHost}]` : config.serverHost;
  const url = `http://${host}:${port}`;
  logger.info(
    { url, app: `${url}/`, dataset: ds.name, points: ds.points, index: ds.dir, seconds: Math.round(performance.now() - started) / 1000 },
    `imgsim web app on ${url}/ (dataset "${ds.name}": ${ds.points} images of ${ds.dir})`,
  );
  onShutdown([() => app.close()], { timeoutMs: config.shutdownTimeoutMs, logger });
  return { app, url, dataset: ds.name };
}
