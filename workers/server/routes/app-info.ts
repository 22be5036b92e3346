// GET /v1/app: what the web app needs to know of the server it runs against — the mode
// (queued or local), imgsim's version, the pages this server backs and the thumbnail
// sizes. Both servers register it, each with its mode and pages.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { THUMBNAIL_DEFAULT_SIZE, THUMBNAIL_MAX_SIZE } from '../../../shared/images/thumbnail.js';
import type { AppMode, AppPage } from '../schemas.js';
import { packageRoot } from '../web-app.js';

/** `imgsim serve`: every page. */
export const QUEUED_PAGES: readonly AppPage[] = Object.freeze(['datasets', 'runs', 'search', 'map', 'duplicates']);
/** `imgsim serve --index <dir>`: no runs (nor schedules). */
export const LOCAL_PAGES: readonly AppPage[] = Object.freeze(['datasets', 'search', 'map', 'duplicates']);

export interface AppInfoOptions {
  mode: AppMode;
  pages: readonly AppPage[];
  /** Default: the version in the package's package.json. */
  version?: string;
}

export interface AppInfo {
  mode: AppMode;
  version: string;
  pages: AppPage[];
  thumbnailSizes: { default: typeof THUMBNAIL_DEFAULT_SIZE; max: typeof THUMBNAIL_MAX_SIZE };
}

let cachedVersion: string | undefined;

/** The package's version (package.json, read once); 'unknown' when it cannot be read. */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
      cachedVersion = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}

export function appInfoRoutes(app: FastifyInstance, opts: AppInfoOptions): void {
  const info: AppInfo = {
    mode: opts.mode,
    version: opts.version ?? packageVersion(),
    pages: [...opts.pages],
    thumbnailSizes: { default: THUMBNAIL_DEFAULT_SIZE, max: THUMBNAIL_MAX_SIZE },
  };
  app.get('/v1/app', () => info);
}
