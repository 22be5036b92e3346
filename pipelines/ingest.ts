// The ingest stage: list a source (listSource: what to embed, what is not an image, what
// an incremental run removes) and choose the seeded training sample; plus decoding a set
// of objects to size×size RGB in memory (decodeObjects, concurrently in sharp's thread
// pool), which the train stage uses on its sample. Both drivers call these.
// Files that are not images or that fail to decode are returned as failures with a
// reason; they never stop the batch.
// Only the image's own faults are recorded (shared/images/failures.ts failureOf);
// anything else is thrown, so the whole batch is retried or gives up as a job.
import { UserError } from '../shared/errors.js';
import { decodeImageToRgb8 } from '../shared/images/decode.js';
import { isImagePath } from '../shared/images/formats.js';
import type { Logger } from '../shared/logger.js';
import { mapConcurrent } from '../shared/concurrency.js';
import { createProgress } from '../shared/progress.js';
import { createRng, shuffled } from '../shared/random.js';
import type { ObjectInfo, Storage } from '../shared/storage/types.js';
import type { DecodedImages, Failure } from '../shared/images/decoded.js';
import { failureOf, sortByKey } from '../shared/images/failures.js';
import type { ObjectRef } from '../shared/jobs/scheduler.js';


export interface DecodeSettings {
  size: number;
  fit: 'crop' | 'letterbox';
  maxPixels: number;
  concurrency: number;
  logger?: Logger;
  progressBar?: boolean;
}

export interface Listing {
  /** Every image object of the source, in listing order. */
  images: ObjectRef[];
  /** The images to embed: all, or (incremental) those not indexed at their current version. */
  toEmbed: ObjectRef[];
  /** Files that are not images, as failures. */
  ignored: Failure[];
  /** Indexed keys whose object is gone from the source (an incremental run removes them). */
  gone: string[];
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

/** Decode these objects; the good ones in order, the bad ones as failures sorted by key. */
export async function decodeObjects(
  source: Storage,
  objects: readonly ObjectRef[],
  o: DecodeSettings,
): Promise<{ images: DecodedImages; failures: Failure[] }> {
  const progress = createProgress({ label: 'decode', total: objects.length, logger: o.logger, bar: o.progressBar });
  let done = 0;
  const decoded = await mapConcurrent(objects, o.concurrency, async (obj) => {
    try {
      const img = await decodeImageToRgb8(await source.get(obj.key), { size: o.size, fit: o.fit, maxPixels: o.maxPixels });
      return { ok: true as const, obj, img };
    } catch (error) {
      const failure = failureOf(obj.key, error);
      if (!failure) throw error;
      return { ok: false as const, failure };
    } finally {
      progress.update(++done);
    }
  }).finally(() => progress.stop());
  const good = decoded.flatMap((d) => (d.ok ? [d] : []));
  const per = o.size * o.size * 3;
  const pixels = new Uint8Array(good.length * per);
  good.forEach(({ img }, i) => pixels.set(img.data, i * per));
  const failures = decoded.flatMap((d) => (d.ok ? [] : [d.failure]));
  return {
    images: {
      size: o.size,
      keys: good.map((g) => g.obj.key),
      etags: good.map((g) => g.obj.etag),
      widths: good.map((g) => g.img.width),
      heights: good.map((g) => g.img.height),
      pixels,
    },
    failures: sortByKey(failures),
  };
}

/**
 * List the source and decide what to embed. `indexed` (key → etag of what the index
 * holds) makes the run incremental: only new or changed images are embedded, and the
 * indexed keys whose object is gone are returned in `gone`.
 */
export async function listSource(source: Storage, o: { indexed?: ReadonlyMap<string, string> } = {}): Promise<Listing> {
  const listed = await listImages(source);
  const images = listed.images.map((obj) => ({ key: obj.key, etag: obj.etag }));
  if (!o.indexed) return { images, toEmbed: images, ignored: listed.ignored, gone: [] };
  const indexed = o.indexed;
  const present = new Set(images.map((obj) => obj.key));
  return {
    images,
    toEmbed: images.filter((obj) => indexed.get(obj.key) !== obj.etag),
    ignored: listed.ignored,
    gone: [...indexed.keys()].filter((key) => !present.has(key)),
  };
}

/**
 * The seeded training sample: `size` images drawn from the listing (all of them when
 * there are fewer), in key order, so the same source and seed give the same sample
 * whichever driver lists it.
 */
export function trainingSample(images: readonly ObjectRef[], size: number, seed: number, where: string): ObjectRef[] {
  if (images.length < 2) throw new UserError(`Cannot train on ${images.length} image(s) in ${where}: at least 2 are needed`);
  const sample = images.length <= size ? [...images] : shuffled(images, createRng(seed)).slice(0, size);
  return sortByKey(sample);
}
