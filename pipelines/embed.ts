// Embed: encode images with a trained encoder into flattened float32 vectors.
// Two entry points: images already decoded in memory (a local run), or a stream from
// storage where the next batch is decoding (sharp's thread pool) while this one encodes.
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../shared/images/decode.js';
import type { Logger } from '../shared/logger.js';
import { mapConcurrent, yieldToEventLoop } from '../shared/concurrency.js';
import { createProgress } from '../shared/progress.js';
import type { ObjectInfo, Storage } from '../shared/storage/types.js';
import { batchFloats, type DecodedImages, type Failure } from './dataset.js';
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

/** Decode-and-encode from storage, overlapping the next batch's decoding with encoding. */
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

  const decodeBatch = (batch: readonly ObjectInfo[]) =>
    mapConcurrent(batch, o.concurrency, async (obj) => {
      try {
        const img = await decodeImage(await source.get(obj.key), { size: o.size, fit: o.fit, maxPixels: o.maxPixels });
        return { key: obj.key, data: img.data };
      } catch (error) {
        failures.push(failureOf(obj.key, error));
        return undefined;
      }
    });

  const batches: ObjectInfo[][] = [];
  for (let i = 0; i < objects.length; i += o.batchSize) batches.push(objects.slice(i, i + o.batchSize));
  let pending = batches.length > 0 ? decodeBatch(batches[0] as ObjectInfo[]) : undefined;
  let done = 0;
  for (let b = 0; b < batches.length; b++) {
    const decoded = (await (pending as Promise<Array<{ key: string; data: Float32Array } | undefined>>)).filter(
      (d): d is { key: string; data: Float32Array } => d !== undefined,
    );
    pending = b + 1 < batches.length ? decodeBatch(batches[b + 1] as ObjectInfo[]) : undefined;
    if (decoded.length > 0) {
      const input = new Float32Array(decoded.length * per);
      decoded.forEach((d, i) => input.set(d.data, i * per));
      chunks.push(encodeBatch(encoder, input, decoded.length, o.size));
      keys.push(...decoded.map((d) => d.key));
    }
    done += (batches[b] as ObjectInfo[]).length;
    progress.update(done);
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
