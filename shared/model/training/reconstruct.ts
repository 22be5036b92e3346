// A trained autoencoder's reconstructions of decoded images, for previews.
import * as tf from '@tensorflow/tfjs';
import { batchFloats, type DecodedImages } from '../../images/decoded.js';
import type { Autoencoder } from '../architecture.js';

/** Reconstructions of the images at `indices` as float HWC arrays (for previews). */
export function reconstruct(model: Autoencoder, images: DecodedImages, indices: readonly number[]): Float32Array[] {
  const out = tf.tidy(() => {
    const x = tf.tensor4d(batchFloats(images, indices), [indices.length, images.size, images.size, 3]);
    return model.decoder.predict(model.encoder.predict(x)) as tf.Tensor;
  });
  const data = out.dataSync() as Float32Array;
  out.dispose();
  const per = images.size * images.size * 3;
  return indices.map((_, i) => data.slice(i * per, (i + 1) * per));
}
