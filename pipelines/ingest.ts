// Ingest: list a source, decode every image to size×size RGB (concurrently, in sharp's
// thread pool) and keep the good ones in memory. Files that are not images or that
// fail to decode are returned as failures with a reason; they never stop the batch.
import { errorMessage, ImageError, UserError } from '../shared/errors.js';
import { decodeImageToRgb8 } from '../shared/images/decode.js';
import { isImagePath } from '../shared/images/formats.js';
import type { Logger } from '../shared/logger.js';
import { mapConcurrent } from '../shared/concurrency.js';
import { createProgress } from '../shared/progress.js';
import type { ObjectInfo, Storage } from '../shared/storage/types.js';
import type { DecodedImages, Failure } from './dataset.js';

export interface IngestOptions {
  size: number;
  fit: 'crop' | 'letterbox';
  maxPixels: number;
  concurrency: number;
  logger?: Logger;
  progressBar?: boolean;
}

export interface IngestResult {
  images: DecodedImages;
  failures: Failure[];
  /** Every object listed, images or not. */
  listed: number;
}

/** Objects of a source, split into image candidates and ignored files. */
export async function listImages(source: Storage): Promise<{ images: ObjectInfo[]; ignored: Failure[] }> {
  const images: ObjectInfo[] = [];
  const ignored: Failure[] = [];
  for await (const obj of source.list()) {
    if (isImagePath(obj.key)) images.push(obj);
    else ignored.push({ key: obj.key, reason: 'not-an-image', message: 'extension is not a supported image type' });
  }
  return { images, ignored };
}

export async function ingest(source: Storage, o: IngestOptions): Promise<IngestResult> {
  const { images: objects, ignored } = await listImages(source);
  if (objects.length === 0) {
    throw new UserError(`No images found in ${source.uri} (${ignored.length} other files)`);
  }
  o.logger?.info({ source: source.uri, images: objects.length, ignored: ignored.length }, 'decoding images');
  const progress = createProgress({ label: 'decode', total: objects.length, logger: o.logger, bar: o.progressBar });
  let done = 0;
  const per = o.size * o.size * 3;
  const decoded = await mapConcurrent(objects, o.concurrency, async (obj) => {
    try {
      const img = await decodeImageToRgb8(await source.get(obj.key), { size: o.size, fit: o.fit, maxPixels: o.maxPixels });
      return { ok: true as const, img };
    } catch (error) {
      const reason = error instanceof ImageError ? error.reason : 'unreadable';
      return { ok: false as const, failure: { key: obj.key, reason, message: errorMessage(error) } };
    } finally {
      progress.update(++done);
    }
  });
  progress.stop();

  const good = decoded.flatMap((d, i) => (d.ok ? [{ obj: objects[i] as ObjectInfo, img: d.img }] : []));
  const pixels = new Uint8Array(good.length * per);
  good.forEach(({ img }, i) => pixels.set(img.data, i * per));
  const failures = [...decoded.flatMap((d) => (d.ok ? [] : [d.failure])), ...ignored];
  failures.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  o.logger?.info({ decoded: good.length, failed: failures.length - ignored.length }, 'decoded');
  return {
    images: {
      size: o.size,
      keys: good.map((g) => g.obj.key),
      etags: good.map((g) => g.obj.etag),
      widths: good.map((g) => g.img.width),
      heights: good.map((g) => g.img.height),
      pixels,
    },
    failures,
    listed: objects.length + ignored.length,
  };
}
