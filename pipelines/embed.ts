// Embed: encode images with a trained encoder into flattened float32 vectors.
// Two entry points: images already decoded in memory (a local run), or a stream from
// storage where the next batch is decoding (sharp's thread pool) while this one encodes.
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../shared/images/decode.js';
import type { Logger } from '../shared/logger.js';
import { yieldToEventLoop } from '../shared/concurrency.js';
import { createProgress } from '../shared/progress.js';
import type { ObjectInfo, Storage } from '../shared/storage/types.js';
import { batchFloats, type DecodedImages, type Failure } from '../shared/images/decoded.js';
import { failureOf } from './ingest.js';

export interface Embeddings {
  keys: string[];
  dim: number;
  /** keys.length × dim, row-major. */
  vectors: Float32Array;
}

/** Encode one NHWC float batch; returns batch × dim values. */
export function encodeBatch(encoder: tf.LayersModel, batch: Float32Array, count: number, size: number): Float32Array {
  const out = tf.tidy(() => {
    const x = tf.tensor4d(batch, [count, size, size, 3]);
    const y = encoder.predict(x) as tf.Tensor;
    return y.reshape([count, -1]);
  });
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data;
}

export function embeddingDimOf(encoder: tf.LayersModel): number {
  const shape = encoder.outputs[0]?.shape ?? [];
  return shape.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
}

export async function embedDecoded(
  encoder: tf.LayersModel,
  images: DecodedImages,
  o: { batchSize: number; logger?: Logger; progressBar?: boolean },
): Promise<Embeddings> {
  const n = images.keys.length;
  const dim = embeddingDimOf(encoder);
  const vectors = new Float32Array(n * dim);
  const progress = createProgress({ label: 'embed', total: n, logger: o.logger, bar: o.progressBar });
  for (let start = 0; start < n; start += o.batchSize) {
    const idx = Array.from({ length: Math.min(o.batchSize, n - start) }, (_, i) => start + i);
    vectors.set(encodeBatch(encoder, batchFloats(images, idx), idx.length, images.size), start * dim);
    progress.update(start + idx.length);
    await yieldToEventLoop();
  }
  progress.stop();
  return { keys: [...images.keys], dim, vectors };
}

export interface StreamEmbedOptions {
  size: number;
  fit: 'crop' | 'letterbox';
  maxPixels: number;
  batchSize: number;
  concurrency: number;
  logger?: Logger;
  progressBar?: boolean;
}

/**
 * Decode-and-encode from storage as a pipeline that keeps both cores busy: decoding
 * (storage read + sharp, on libuv's thread pool) runs continuously up to
 * `2 × batchSize` images ahead of the encoder, `concurrency` images at a time, and
 * the encoder (one wasm thread, synchronous) yields to the event loop after every
 * batch so finished decodes are collected and the next ones started while it works.
 * Output order is the order of `objects` (failures left out and listed).
 */
export async function embedFromStorage(
  encoder: tf.LayersModel,
  source: Storage,
  objects: readonly ObjectInfo[],
  o: StreamEmbedOptions,
): Promise<{ embeddings: Embeddings; failures: Failure[] }> {
  const dim = embeddingDimOf(encoder);
  const per = o.size * o.size * 3;
  const keys: string[] = [];
  const chunks: Float32Array[] = [];
  const failures: Failure[] = [];
  const progress = createProgress({ label: 'embed', total: objects.length, logger: o.logger, bar: o.progressBar });

  type Decoded = { key: string; data: Float32Array } | undefined;
  /** A fault that is not an image's own (the store down…): it stops the whole embedding. */
  let fatal: Error | undefined;
  const decodeOne = async (obj: ObjectInfo): Promise<Decoded> => {
    try {
      const img = await decodeImage(await source.get(obj.key), { size: o.size, fit: o.fit, maxPixels: o.maxPixels });
      return { key: obj.key, data: img.data };
    } catch (error) {
      const failure = failureOf(obj.key, error);
      if (failure) failures.push(failure);
      else fatal ??= error instanceof Error ? error : new Error(String(error));
      return undefined;
    }
  };

  // One settled-later slot per object; the pump starts decodes in order, at most
  // `concurrency` in flight and at most `ahead` beyond what the encoder has taken.
  const slots = objects.map(() => {
    let resolve: (d: Decoded) => void = () => undefined;
    const promise = new Promise<Decoded>((r) => (resolve = r));
    return { promise, resolve };
  });
  const ahead = Math.max(2 * o.batchSize, o.concurrency);
  let started = 0;
  let running = 0;
  let consumed = 0;
  const pump = (): void => {
    while (running < o.concurrency && started < objects.length && started < consumed + ahead) {
      const i = started++;
      running++;
      void decodeOne(objects[i] as ObjectInfo).then((d) => {
        running--;
        (slots[i] as (typeof slots)[number]).resolve(d);
        pump();
      });
    }
  };

  for (let start = 0; start < objects.length; start += o.batchSize) {
    const end = Math.min(objects.length, start + o.batchSize);
    pump();
    const decoded = (await Promise.all(slots.slice(start, end).map((s) => s.promise))).filter((d): d is NonNullable<Decoded> => d !== undefined);
    if (fatal !== undefined) {
      progress.stop();
      throw fatal;
    }
    consumed = end;
    pump(); // the next images start decoding before this batch is encoded
    if (decoded.length > 0) {
      const input = new Float32Array(decoded.length * per);
      decoded.forEach((d, i) => input.set(d.data, i * per));
      chunks.push(encodeBatch(encoder, input, decoded.length, o.size));
      keys.push(...decoded.map((d) => d.key));
    }
    progress.update(end);
    await yieldToEventLoop();
  }
  progress.stop();
  const vectors = new Float32Array(keys.length * dim);
  let offset = 0;
  for (const c of chunks) {
    vectors.set(c, offset);
    offset += c.length;
  }
  failures.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { embeddings: { keys, dim, vectors }, failures };
}
