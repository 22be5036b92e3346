// GET /v1/datasets/{name}/thumbnail?key=&size=: a WebP of one image of a dataset, fitting
// inside size × size (shared/images/thumbnail.ts), for the web app's grids. Both servers
// register it with their own `resolve` (the queued one: datasetThumbnails below; the
// local one: its index folder).
//
// Order of the checks: the query (a key with a ".." segment, an absolute path, a
// backslash or a NUL is a 400 naming query.key before any storage is touched; size
// 32..512), the dataset (resolve throws its 404), the key in the dataset (404 — a key of
// the source that is not indexed is not served), then the cache, then the object (404
// when it is gone from the source; 415 not an image, 413 too many pixels).
//
// Caching: an LRU in memory bounded by bytes (thumbnail-cache.ts, default 64 MiB), keyed
// by dataset, key, size and — when the dataset gives one (versionOf) — the indexed
// version of the object (its ETag at indexing time: a re-index of a changed image makes a
// new entry). The HTTP ETag is derived from the same (no bytes read for a 304); without a
// version it is a hash of the thumbnail. Cache-Control private, max-age=300.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ImageError } from '../../../shared/errors.js';
import { makeThumbnail } from '../../../shared/images/thumbnail.js';
import type { Storage } from '../../../shared/storage/types.js';
import type { RouteContext } from '../context.js';
import { HttpError, notFound, parseRequest } from '../errors.js';
import { thumbnailQuery } from '../schemas.js';
import { ThumbnailCache, type CachedThumbnail } from '../thumbnail-cache.js';
import { requireDataset } from './datasets.js';

/** What the route needs of a dataset. */
export interface ThumbnailDataset {
  /** The dataset's source: where the images are read from. */
  storage: Storage;
  /** Whether `key` is an image of the dataset (only those are served). */
  hasKey(key: string): Promise<boolean>;
  /**
   * Optional, asked instead of hasKey when present: the indexed version of `key` (its
   * ETag/mtime tag when indexed), undefined when the key is not in the dataset. Keys the
   * cache and the HTTP ETag, so a 304 reads no bytes.
   */
  versionOf?(key: string): Promise<string | undefined>;
}

/** The dataset named `datasetName`; throws an HttpError (404) when there is none. */
export type ThumbnailResolver = (datasetName: string) => Promise<ThumbnailDataset>;

export interface ThumbnailRouteOptions {
  /** Largest width × height decoded (IMGSIM_MAX_PIXELS); over it is a 413. */
  maxPixels: number;
  /** Bytes of thumbnails kept in memory (default 64 MiB; 0 keeps none). */
  cacheBytes?: number;
}

export const THUMBNAIL_CACHE_BYTES = 64 * 1024 * 1024;
export const THUMBNAIL_CACHE_CONTROL = 'private, max-age=300';
/** Part of every ETag: bump when the thumbnails' encoding changes, so browsers fetch them again. */
const ENCODING = 'webp-q80-inside-v1';

const hash = (...parts: string[]): string => createHash('sha256').update(parts.join('\0')).digest('base64url').slice(0, 27);

/** Whether an If-None-Match header names `etag` (weak comparison, lists and * understood). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const bare = (tag: string): string => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}

function notModified(reply: FastifyReply, etag: string): FastifyReply {
  return reply.code(304).header('etag', etag).header('cache-control', THUMBNAIL_CACHE_CONTROL).send();
}

export function thumbnailRoutes(app: FastifyInstance, resolve: ThumbnailResolver, opts: ThumbnailRouteOptions): void {
  const cache = new ThumbnailCache(opts.cacheBytes ?? THUMBNAIL_CACHE_BYTES);

  app.get('/v1/datasets/:name/thumbnail', async (request, reply) => {
    const q = parseRequest(thumbnailQuery, request.query, 'query');
    const name = (request.params as { name?: unknown }).name;
    const dataset = await resolve(typeof name === 'string' ? name : '');

    let version: string | undefined;
    if (dataset.versionOf) {
      version = await dataset.versionOf(q.key);
      if (version === undefined) throw notFound(`query.key: "${q.key}" is not an image of dataset "${String(name)}"`);
    } else if (!(await dataset.hasKey(q.key))) {
      throw notFound(`query.key: "${q.key}" is not an image of dataset "${String(name)}"`);
    }
    const versionTag = version === undefined ? undefined : `"${hash(ENCODING, String(name), q.key, String(q.size), version)}"`;
    if (versionTag !== undefined && etagMatches(request.headers['if-none-match'], versionTag)) return notModified(reply, versionTag);

    const make = async (): Promise<CachedThumbnail> => {
      let bytes: Buffer;
      try {
        bytes = await dataset.storage.get(q.key);
      } catch (error) {
        if ((error as { code?: unknown } | null)?.code === 'ENOENT') {
          throw notFound(`query.key: "${q.key}" is indexed in dataset "${String(name)}" but gone from its source ${dataset.storage.uri}`);
        }
        throw error;
      }
      try {
        const t = await makeThumbnail(bytes, { size: q.size, maxPixels: opts.maxPixels });
        return { data: t.data, etag: versionTag ?? `"${hash(ENCODING, t.data.toString('base64'))}"` };
      } catch (error) {
        if (!(error instanceof ImageError)) throw error;
        const status = error.reason === 'too-many-pixels' ? 413 : 415;
        throw new HttpError(status, `query.key: the stored object "${q.key}" of dataset "${String(name)}" cannot be shown: ${error.message}`);
      }
    };
    const thumb = await cache.getOrMake(JSON.stringify([name, q.key, q.size, version ?? null]), make);
    if (etagMatches(request.headers['if-none-match'], thumb.etag)) return notModified(reply, thumb.etag);
    return reply
      .type('image/webp')
      .header('cache-control', THUMBNAIL_CACHE_CONTROL)
      .header('etag', thumb.etag)
      .header('x-content-type-options', 'nosniff')
      .send(thumb.data);
  });
}

/**
 * The queued server's datasets for thumbnailRoutes: the registry's record (404 when
 * unknown), its source opened once per URI, and the key's indexed version from the
 * dataset's live alias (the point's payload etag; one Qdrant retrieve, no vector).
 */
export function datasetThumbnails(ctx: RouteContext): ThumbnailResolver {
  const sources = new Map<string, Promise<Storage>>();
  const open = (uri: string): Promise<Storage> => {
    let source = sources.get(uri);
    if (!source) {
      source = ctx.deps.openSource(uri);
      void source.catch(() => sources.delete(uri));
      sources.set(uri, source);
    }
    return source;
  };
  return async (name) => {
    const record = await requireDataset(ctx, { name });
    const storage = await open(record.source);
    const versionOf = async (key: string): Promise<string | undefined> => (await ctx.deps.qdrant.versionsOf(record.alias, record.name, [key])).get(key);
    return { storage, versionOf, hasKey: async (key) => (await versionOf(key)) !== undefined };
  };
}
