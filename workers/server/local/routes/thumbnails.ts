// GET /v1/datasets/{name}/thumbnail on the local server: the queued route
// (workers/server/routes/thumbnails.ts) over the index's source folder. A thumbnail is
// keyed by the file's size and modification time, so a file replaced since is made again
// (and gets a new ETag); a missing source folder is a 503, a file gone from it a 404.
import { stat } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';
import { thumbnailRoutes } from '../../routes/thumbnails.js';
import { sourceMissing, sourcePresent, type LocalDataset } from '../local-dataset.js';

export function localThumbnailRoutes(app: FastifyInstance, ds: LocalDataset, o: { maxPixels: number }): void {
  thumbnailRoutes(
    app,
    (name) => {
      if (name !== ds.name) return Promise.reject(notFound(`Dataset "${name}" not found: this server serves the index folder ${ds.dir} as dataset "${ds.name}"`));
      return Promise.resolve({
        storage: ds.source,
        hasKey: (key: string) => Promise.resolve(ds.hasKey(key)),
        versionOf: async (key: string) => {
          if (!ds.hasKey(key)) return undefined;
          const info = await stat(ds.source.resolveKey(key)).catch(() => undefined);
          if (info) return `${info.size}-${Math.round(info.mtimeMs)}`;
          if (!(await sourcePresent(ds))) throw sourceMissing(ds, 'Thumbnails are made from');
          return 'missing'; // read, then 404 "gone from its source"
        },
      });
    },
    { maxPixels: o.maxPixels },
  );
}
