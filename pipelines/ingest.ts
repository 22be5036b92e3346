// The ingest stage: list a source (listSource: what to embed, what is not an image, what
// an incremental run removes) and choose the seeded training sample; plus decoding a set
// of objects to size×size RGB in memory (decodeObjects, concurrently in sharp's thread
// pool), which the train stage uses on its sample. Both drivers call these.
// Files that are not images or that fail to decode are returned as failures with a
// reason; they never stop the batch.
// Only the image's own faults are recorded: its bytes (ImageError) or the file itself
// (gone since listing, unreadable by permissions). Anything else — a store unreachable
// or failing (transient), rejected credentials, a bug — is NOT the image's fault: it is
// thrown, so the whole batch is retried or gives up as a job, never recorded per image.
import { errorMessage, ImageError, UserError } from '../shared/errors.js';
import { decodeImageToRgb8 } from '../shared/images/decode.js';
import { isImagePath } from '../shared/images/formats.js';
import type { Logger } from '../shared/logger.js';
import { mapConcurrent } from '../shared/concurrency.js';
import { createProgress } from '../shared/progress.js';
import { createRng, shuffled } from '../shared/random.js';
import type { ObjectInfo, Storage } from '../shared/storage/types.js';
import type { DecodedImages, Failure } from '../shared/images/decoded.js';

/** An object of a source at the version listed. */
export type ObjectVersion = Pick<ObjectInfo, 'key' | 'etag'>;

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
  images: ObjectVersion[];
  /** The images to embed: all, or (incremental) those not indexed at their current version. */
  toEmbed: ObjectVersion[];
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

/** File-level errors of one object: it is gone (S3 NoSuchKey maps to ENOENT too), or this process may not read it. */
const FILE_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ELOOP', 'ENAMETOOLONG']);

/** The failure record of an image's own fault; undefined when the fault is not the image's. */
export function failureOf(key: string, error: unknown): Failure | undefined {
  if (error instanceof ImageError) return { key, reason: error.reason, message: errorMessage(error) };
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && FILE_CODES.has(code)) {
    return { key, reason: 'unreadable', message: errorMessage(error) };
  }
  return undefined;
}

/** Decode these objects; the good ones in order, the bad ones as failures sorted by key. */
export async function decodeObjects(
  source: Storage,
  objects: ReadonlyArray<Pick<ObjectInfo, 'key' | 'etag'>>,
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
export function trainingSample(images: readonly ObjectVersion[], size: number, seed: number, where: string): ObjectVersion[] {
  if (images.length < 2) throw new UserError(`Cannot train on ${images.length} image(s) in ${where}: at least 2 are needed`);
  const sample = images.length <= size ? [...images] : shuffled(images, createRng(seed)).slice(0, size);
  return sortByKey(sample);
}

/** Sorts in place by key and returns the array (failures.json and run records list them so). */
export function sortByKey<T extends { key: string }>(failures: T[]): T[] {
  return failures.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
