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
import { compareKeys, keyHash } from '../shared/analysis/key-sample.js';
import { KeySet, type KeyVersions } from '../shared/vectors/hashed-keys.js';
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
  /** Files that are not images, as failures. */
  ignored: Failure[];
}

/** Objects of a source, split into image candidates and ignored files (and links the listing left out: outside-root). */
export async function listImages(source: Storage): Promise<{ images: ObjectInfo[]; ignored: Failure[] }> {
  const images: ObjectInfo[] = [];
  const ignored: Failure[] = [];
  for await (const obj of source.list('', { onSkipped: (e) => ignored.push(e) })) {
    if (isImagePath(obj.key)) images.push(obj);
    else ignored.push(notAnImage(obj.key));
  }
  return { images, ignored: sortByKey(ignored) };
}

function notAnImage(key: string): Failure {
  return { key, reason: 'not-an-image', message: 'extension is not a supported image type' };
}

/** Decode these objects; the good ones in order, the bad ones as failures sorted by key. */
export async function decodeObjects(
  source: Storage,
  objects: readonly ObjectRef[],
  o: DecodeSettings,
): Promise<{ images: DecodedImages; failures: Failure[] }> {
  const progress = createProgress({ label: 'decode', total: objects.length, unit: 'images', logger: o.logger, bar: o.progressBar });
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

/** What one pass over a source found (scanSource). */
export interface ScanCounts {
  /** Image objects listed. */
  listed: number;
  /** Of those, the images to embed. */
  toEmbed: number;
  /** Files that are not images. */
  ignored: number;
  /** Incremental passes: every listed image's key (to find the indexed keys whose object is gone). */
  listedKeys?: KeySet;
}

/**
 * One pass over a source in listing order, without holding the listing: every image
 * (with whether it is to be embedded) and every ignored file go to `sink` as they come.
 * `indexed` (the versions the index holds) makes the pass incremental: only new or
 * changed images are to be embedded, and the listed keys come back as a compact set
 * (8 bytes a key) to find what the index holds that the source no longer has.
 */
export async function scanSource(
  source: Storage,
  o: { indexed?: KeyVersions },
  sink: { image(ref: ObjectRef, toEmbed: boolean): void | Promise<void>; ignored(failure: Failure): void | Promise<void> },
): Promise<ScanCounts> {
  const listedKeys = o.indexed ? new KeySet() : undefined;
  const counts: ScanCounts = { listed: 0, toEmbed: 0, ignored: 0 };
  // Entries the listing leaves out (a symlink escaping the folder: outside-root) are
  // ignored files too, passed on as they come.
  const skipped: Failure[] = [];
  const flushSkipped = async (): Promise<void> => {
    for (const failure of skipped.splice(0)) {
      counts.ignored++;
      await sink.ignored(failure);
    }
  };
  for await (const obj of source.list('', { onSkipped: (e) => skipped.push(e) })) {
    await flushSkipped();
    if (!isImagePath(obj.key)) {
      counts.ignored++;
      await sink.ignored(notAnImage(obj.key));
      continue;
    }
    const toEmbed = !o.indexed?.holds(obj.key, obj.etag);
    listedKeys?.add(obj.key);
    counts.listed++;
    if (toEmbed) counts.toEmbed++;
    await sink.image({ key: obj.key, etag: obj.etag }, toEmbed);
  }
  await flushSkipped();
  return { ...counts, ...(listedKeys ? { listedKeys: listedKeys.seal() } : {}) };
}

/** List the source as arrays (the local driver; the queue's ingest streams the same pass into listing pages: scanSource). */
export async function listSource(source: Storage): Promise<Listing> {
  const images: ObjectRef[] = [];
  const ignored: Failure[] = [];
  await scanSource(source, {}, {
    image(ref) {
      images.push(ref);
    },
    ignored(failure) {
      ignored.push(failure);
    },
  });
  return { images, ignored };
}

/**
 * The seeded training sample, chosen while a listing streams by: the `size` images whose
 * hash(seed, key) is smallest (ties: the smaller key). The choice depends only on the
 * set of keys and the seed — not on listing order or on how the listing was paged — so
 * both drivers train on the same sample, and memory is O(size), not O(images).
 */
export class TrainingSample {
  private held: Array<{ h: number; ref: ObjectRef }> = [];
  private offered = 0;

  constructor(
    private readonly size: number,
    private readonly seed: number,
  ) {}

  offer(ref: ObjectRef): void {
    this.offered++;
    this.held.push({ h: keyHash(this.seed, ref.key), ref });
    // Keep the smallest `size`; sorting whenever the buffer doubles is O(N log size) overall.
    if (this.held.length >= 2 * Math.max(this.size, 1024)) this.trim();
  }

  /** The sample in key order; refuses fewer than 2 images (`where` names the source). */
  result(where: string): ObjectRef[] {
    if (this.offered < 2) throw new UserError(`Cannot train on ${this.offered} image(s) in ${where}: at least 2 are needed`);
    this.trim();
    return sortByKey(this.held.map((e) => e.ref));
  }

  private trim(): void {
    this.held.sort((a, b) => a.h - b.h || compareKeys(a.ref.key, b.ref.key));
    this.held.length = Math.min(this.held.length, this.size);
  }
}

/** The seeded training sample of a listing held in memory (TrainingSample over it). */
export function trainingSample(images: readonly ObjectRef[], size: number, seed: number, where: string): ObjectRef[] {
  const sample = new TrainingSample(size, seed);
  for (const ref of images) sample.offer(ref);
  return sample.result(where);
}
