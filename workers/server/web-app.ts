// The web app (issue 14): the front end built by `npm run build` into dist/web/, served
// by both servers behind the same authentication as the API (registerAuth's hook covers
// every route but /healthz and /readyz; basic auth is what a browser can send).
//   GET /           dist/web/index.html, Cache-Control no-cache (a rebuild shows at once;
//                   an ETag makes the revalidation cheap); read on each request, so a
//                   build made while the server runs is served without a restart. 503
//                   with one line saying to run `npm run build` when it is missing.
//   GET /assets/*   dist/web/assets/ by @fastify/static: hashed file names, so cached
//                   for a year as immutable; no directory listing, no index file, nothing
//                   outside the folder (".." and non-canonical paths are refused by the
//                   plugin, dot files are not served).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { errorBody, HttpError } from './errors.js';

/** The package's root folder, from the sources (workers/server/) or the build (dist/workers/server/). */
export function packageRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const fromBuild = path.basename(path.resolve(here, '../..')) === 'dist';
  return path.resolve(here, fromBuild ? '../../..' : '../..');
}

/** Where `npm run build` writes the web app: <package>/dist/web. */
export function defaultWebDir(): string {
  return path.join(packageRoot(), 'dist', 'web');
}

export interface WebAppOptions {
  /** The built app: index.html and assets/ (default dist/web/ of this package). */
  distDir?: string;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** One line for a missing build (the 503's message). */
export function notBuiltMessage(distDir: string): string {
  return `The web app is not built (${path.join(distDir, 'index.html')} is missing): run \`npm run build\` and reload`;
}

/** Registers GET / and GET /assets/* on `app` (loaded with the app's other plugins, at ready()). */
export function registerWebApp(app: FastifyInstance, opts: WebAppOptions = {}): void {
  const distDir = path.resolve(opts.distDir ?? defaultWebDir());
  const indexPath = path.join(distDir, 'index.html');
  if (!existsSync(indexPath)) app.log.warn({ distDir }, `${notBuiltMessage(distDir)}; / answers 503 until then`);

  app.get('/', async (request, reply) => {
    let html: Buffer;
    try {
      html = await readFile(indexPath);
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== 'ENOENT') throw error;
      return reply.code(503).header('cache-control', 'no-store').send(errorBody(new HttpError(503, notBuiltMessage(distDir))));
    }
    const etag = `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`;
    reply.header('cache-control', 'no-cache').header('etag', etag).header('x-content-type-options', 'nosniff');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('text/html; charset=utf-8').send(html);
  });

  // In its own scope: @fastify/static decorates the reply (sendFile), as Bull Board's copy does in its scope.
  void app.register(async (scope) => {
    await scope.register(fastifyStatic, {
      root: path.join(distDir, 'assets'),
      prefix: '/assets/',
      wildcard: true, // files looked up per request: a later build is found without a restart
      index: false,
      list: false,
      dotfiles: 'ignore',
      cacheControl: true,
      maxAge: YEAR_MS,
      immutable: true,
      decorateReply: false,
      suppressWarning: true, // a missing build is reported once above
    });
  });
}
