// The embed stage: decode images from a source and encode them with a trained encoder
// into flattened float32 vectors. The local runner calls it on every listed image, a
// queue embed job on one batch of a run; both get the same vectors for the same image.
//
// Decoding (storage read + sharp, on libuv's thread pool) runs as a pipeline up to
// `2 × batchSize` images ahead of the encoder, `concurrency` images at a time, and the
// encoder (one wasm thread, synchronous) yields to the event loop after every batch, so
// both cores stay busy and a worker's job lock keeps renewing. Output order is the
// order of `objects`; images whose own bytes or file are bad are left out and returned
// as failures; any other fault (the store unreachable…) stops the stage and is thrown.
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../shared/images/decode.js';
import { batchFloats, type DecodedImages, type Failure } from '../shared/images/decoded.js';
import type { Logger } from '../shared/logger.js';
import { yieldToEventLoop } from '../shared/concurrency.js';
import type { LoadedModel } from '../shared/model/store.js';
import { createProgress } from '../shared/progress.js';
import type { Storage } from '../shared/storage/types.js';
import { failureOf, sortByKey } from '../shared/images/failures.js';
import type { ObjectRef } from '../shared/jobs/scheduler.js';

/** Vectors of a set of images with what is known about each (the index stage's input). */
export interface EmbeddedImages {
  modelId: string;
  dim: number;
  keys: string[];
  etags: string[];
  /** Original sizes after EXIF orientation. */
  widths: number[];
  heights: number[];
  /** keys.length × dim, row-major. */
  vectors: Float32Array;
}

export interface EmbedSettings {
  maxPixels: number;
  /** Images per encoder call. */
  batchSize: number;
  /** Images decoding at once. */
  concurrency: number;
}

export interface EmbedInput {
  source: Storage;
  objects: ReadonlyArray<ObjectRef>;
  /** The encoder and its meta.json (input size, resize fit). */
  model: LoadedModel;
  settings: EmbedSettings;
  /**
   * Images already decoded at the model's input size and resize fit (the local run's
   * training sample): reused instead of decoding them again (the same values).
   */
  predecoded?: DecodedImages;
  logger?: Logger;
  progressBar?: boolean;
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

interface Decoded {
  key: string;
  etag: string;
  width: number;
  height: number;
  data: Float32Array;
}

/** The embed stage, every vector in memory at the end (a queue embed job's batch). */
export async function embedImages(input: EmbedInput): Promise<{ embedded: EmbeddedImages; failures: Failure[] }> {
  const dim = embeddingDimOf(input.model.encoder);
  const embedded: EmbeddedImages = { modelId: input.model.meta.modelId, dim, keys: [], etags: [], widths: [], heights: [], vectors: new Float32Array(0) };
  const chunks: Float32Array[] = [];
  const { failures } = await embedBatches(input, (batch) => {
    chunks.push(batch.vectors);
    embedded.keys.push(...batch.keys);
    embedded.etags.push(...batch.etags);
    embedded.widths.push(...batch.widths);
    embedded.heights.push(...batch.heights);
  });
  embedded.vectors = concat(chunks, embedded.keys.length * dim);
  return { embedded, failures };
}

/**
 * The embed stage as a stream: each encoded batch (the images of one encoder call that
 * decoded, in order) goes to `onBatch`, awaited before the next batch is taken, and is
 * not kept. Returns how many images were embedded and the failures, sorted by key.
 */
export async function embedBatches(
  input: EmbedInput,
  onBatch: (batch: EmbeddedImages) => void | Promise<void>,
): Promise<{ embedded: number; failures: Failure[] }> {
  const { source, objects, settings: o } = input;
  const { meta, encoder } = input.model;
  const size = meta.inputSize;
  const dim = embeddingDimOf(encoder);
  const per = size * size * 3;
  let count = 0;
  const failures: Failure[] = [];
  const progress = createProgress({ label: 'embed', total: objects.length, unit: 'images', logger: input.logger, bar: input.progressBar });

  /** A fault that is not an image's own (the store down…): it stops the whole stage. */
  let fatal: Error | undefined;
  const pre = input.predecoded?.size === size ? input.predecoded : undefined;
  const preRow = new Map(pre?.keys.map((key, i) => [key, i]));
  const decodeOne = async (obj: ObjectRef): Promise<Decoded | undefined> => {
    const row = preRow.get(obj.key);
    if (pre && row !== undefined && pre.etags[row] === obj.etag) {
      return { key: obj.key, etag: obj.etag, width: pre.widths[row] as number, height: pre.heights[row] as number, data: batchFloats(pre, [row]) };
    }
    try {
      const img = await decodeImage(await source.get(obj.key), { size, fit: meta.fit, maxPixels: o.maxPixels });
      return { key: obj.key, etag: obj.etag, width: img.width, height: img.height, data: img.data };
    } catch (error) {
      const failure = failureOf(obj.key, error);
      if (failure) failures.push(failure);
      else fatal ??= error instanceof Error ? error : new Error(String(error));
      return undefined;
    }
  };

  // One settled-later slot per object being decoded; the pump starts decodes in order, at
  // most `concurrency` in flight and at most `ahead` beyond what the encoder has taken.
  // A slot is made when first needed and dropped once its batch is taken, so decoded
  // pixels are held for the images ahead of the encoder only.
  const slots = new Map<number, { promise: Promise<Decoded | undefined>; resolve: (d: Decoded | undefined) => void }>();
  const slot = (i: number) => {
    let s = slots.get(i);
    if (!s) {
      let resolve: (d: Decoded | undefined) => void = () => undefined;
      const promise = new Promise<Decoded | undefined>((r) => (resolve = r));
      s = { promise, resolve };
      slots.set(i, s);
    }
    return s;
  };
  const ahead = Math.max(2 * o.batchSize, o.concurrency);
  let started = 0;
  let running = 0;
  let consumed = 0;
  const pump = (): void => {
    while (running < o.concurrency && started < objects.length && started < consumed + ahead) {
      const i = started++;
      running++;
      void decodeOne(objects[i] as ObjectRef).then((d) => {
        running--;
        slot(i).resolve(d);
        pump();
      });
    }
  };

  try {
    for (let start = 0; start < objects.length; start += o.batchSize) {
      const end = Math.min(objects.length, start + o.batchSize);
      pump();
      const taken = Array.from({ length: end - start }, (_, j) => slot(start + j).promise);
      const decoded = (await Promise.all(taken)).filter((d): d is Decoded => d !== undefined);
      for (let i = start; i < end; i++) slots.delete(i);
      if (fatal !== undefined) throw fatal;
      consumed = end;
      pump(); // the next images start decoding before this batch is encoded
      if (decoded.length > 0) {
        const batch = new Float32Array(decoded.length * per);
        decoded.forEach((d, i) => batch.set(d.data, i * per));
        const vectors = encodeBatch(encoder, batch, decoded.length, size);
        count += decoded.length;
        await onBatch({
          modelId: meta.modelId,
          dim,
          keys: decoded.map((d) => d.key),
          etags: decoded.map((d) => d.etag),
          widths: decoded.map((d) => d.width),
          heights: decoded.map((d) => d.height),
          vectors,
        });
      }
      progress.update(end);
      await yieldToEventLoop();
    }
  } finally {
    progress.stop();
  }
  return { embedded: count, failures: sortByKey(failures) };
}

function concat(chunks: readonly Float32Array[], length: number): Float32Array {
  const out = new Float32Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
