// Convolutional autoencoder factories (tfjs layers API only, so every backend runs them).
// Defaults reproduce the reference CAE: 5 encoder stages of conv 3×3 'same' + ReLU +
// 2×2 max-pool with 16, 32, 64, 128, 256 filters; a decoder of 2×2 stride-2 transposed
// convolutions back to 3 channels (ReLU between stages, sigmoid at the end because
// targets are pixels in [0, 1]). The embedding is the flattened encoder output:
// (size / 2^stages)² × lastFilters values, 1,024 at 64×64.
//
// Super-resolution (`upscale` 2 or 4): the encoder is unchanged (it takes the low-res
// inputSize), the decoder gets log2(upscale) extra 2×2 stride-2 transposed-conv stages
// (filters[0] channels each, ReLU) before the final one to 3 channels, so it outputs
// inputSize × upscale. Its last stage is linear (zero-initialised) and predicts a
// residual added to an interpolated upscale of the low-res input, the decoder's second
// input (`forward` passes the bicubic upscale when given, else a half-pixel bilinear
// one): the plain bottleneck alone loses more detail than bicubic upscaling does, the
// residual form only has to learn what interpolation misses, and an untrained model
// outputs the interpolation. Use `forward` to run either kind of decoder.
// upscale 1 (the default) builds exactly the plain decoder.
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';

export interface ArchitectureOptions {
  /** Input side in pixels; divisible by 2^filters.length. */
  inputSize: number;
  /** Filters per encoder stage. */
  filters: readonly number[];
  kernelSize: number;
  /** Seed for the initial weights. */
  seed: number;
  /** Kernel initialiser: 'he' (He uniform, suited to ReLU; default) or 'glorot'. */
  init?: 'he' | 'glorot';
  /** Decoder output side = inputSize × upscale (1, 2 or 4; default 1). */
  upscale?: number;
}

type Initializer = ReturnType<typeof tf.initializers.heUniform>;

function initializer(o: ArchitectureOptions, seed: number): Initializer {
  return o.init === 'glorot' ? tf.initializers.glorotUniform({ seed }) : tf.initializers.heUniform({ seed });
}

export const REFERENCE_FILTERS: readonly number[] = [16, 32, 64, 128, 256];

export function validateArchitecture(o: ArchitectureOptions): void {
  const stages = o.filters.length;
  if (stages < 1) throw new UserError('filters: at least one encoder stage is needed');
  if (o.filters.some((f) => !Number.isInteger(f) || f < 1)) {
    throw new UserError(`filters: expected positive integers, received ${o.filters.join(',')}`);
  }
  const up = o.upscale ?? 1;
  if (up !== 1 && up !== 2 && up !== 4) throw new UserError(`scale: expected 2 or 4 (decoder upscale), received ${up}`);
  const factor = 2 ** stages;
  if (o.inputSize % factor !== 0 || o.inputSize < factor) {
    throw new UserError(
      `size: ${o.inputSize} is not divisible by 2^${stages} = ${factor} (${stages} pooling stages); try ${Math.max(factor, Math.round(o.inputSize / factor) * factor)}`,
    );
  }
}

/** Side of the encoder's output feature map. */
export function latentSide(o: Pick<ArchitectureOptions, 'inputSize' | 'filters'>): number {
  return o.inputSize / 2 ** o.filters.length;
}

export function embeddingDim(o: Pick<ArchitectureOptions, 'inputSize' | 'filters'>): number {
  return latentSide(o) ** 2 * (o.filters[o.filters.length - 1] as number);
}

export function buildEncoder(o: ArchitectureOptions): tf.Sequential {
  validateArchitecture(o);
  const model = tf.sequential({ name: 'encoder' });
  o.filters.forEach((filters, i) => {
    model.add(
      tf.layers.conv2d({
        ...(i === 0 ? { inputShape: [o.inputSize, o.inputSize, 3] } : {}),
        filters,
        kernelSize: o.kernelSize,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: initializer(o, o.seed + i),
        name: `enc_conv${i + 1}`,
      }),
    );
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `enc_pool${i + 1}` }));
  });
  return model;
}

/** Side of the decoder's output: inputSize × upscale. */
export function outputSide(o: Pick<ArchitectureOptions, 'inputSize' | 'upscale'>): number {
  return o.inputSize * (o.upscale ?? 1);
}

export function buildDecoder(o: ArchitectureOptions): tf.LayersModel {
  validateArchitecture(o);
  const side = latentSide(o);
  const reversed = [...o.filters].reverse();
  const up = o.upscale ?? 1;
  const extra = Math.round(Math.log2(up));
  const outputs = [...reversed.slice(1), ...Array.from({ length: extra }, () => o.filters[0] as number), 3];
  if (up !== 1) {
    const latent = tf.input({ shape: [side, side, reversed[0] as number], name: 'latent' });
    const upscaled = tf.input({ shape: [o.inputSize * up, o.inputSize * up, 3], name: 'upscaled' });
    let h: tf.SymbolicTensor = latent;
    outputs.forEach((filters, i) => {
      const last = i === outputs.length - 1;
      h = tf.layers
        .conv2dTranspose({
          filters,
          kernelSize: 2,
          strides: 2,
          padding: 'valid',
          activation: last ? 'linear' : 'relu',
          // The residual starts at zero: an untrained model outputs the bilinear upscale.
          kernelInitializer: last ? tf.initializers.zeros() : initializer(o, o.seed + 100 + i),
          name: `dec_deconv${i + 1}`,
        })
        .apply(h) as tf.SymbolicTensor;
    });
    const out = tf.layers.add({ name: 'dec_residual' }).apply([upscaled, h]) as tf.SymbolicTensor;
    return tf.model({ inputs: [latent, upscaled], outputs: out, name: 'decoder' });
  }
  const model = tf.sequential({ name: 'decoder' });
  outputs.forEach((filters, i) => {
    const last = i === outputs.length - 1;
    model.add(
      tf.layers.conv2dTranspose({
        ...(i === 0 ? { inputShape: [side, side, reversed[0] as number] } : {}),
        filters,
        kernelSize: 2,
        strides: 2,
        padding: 'valid',
        activation: last ? 'sigmoid' : 'relu',
        kernelInitializer: initializer(o, o.seed + 100 + i),
        name: `dec_deconv${i + 1}`,
      }),
    );
  });
  return model;
}

/**
 * decoder(encoder(x)). A super-resolution decoder also gets the upscaled input its
 * residual is added to: `upscaled` (e.g. the bicubic upscale of x), or else x resized
 * bilinearly with half-pixel centres.
 */
export function forward(model: Autoencoder, x: tf.Tensor4D, opts: { predict?: boolean; upscaled?: tf.Tensor4D } = {}): tf.Tensor {
  const predict = opts.predict === true;
  const z = (predict ? model.encoder.predict(x) : model.encoder.apply(x)) as tf.Tensor;
  let input: tf.Tensor | tf.Tensor[] = z;
  if (model.decoder.inputs.length > 1) {
    const side = model.decoder.inputs[1]?.shape[1] as number;
    input = [z, opts.upscaled ?? tf.image.resizeBilinear(x, [side, side], false, true)];
  }
  return (predict ? model.decoder.predict(input) : model.decoder.apply(input)) as tf.Tensor;
}

export interface Autoencoder {
  encoder: tf.LayersModel;
  decoder: tf.LayersModel;
}

export function buildAutoencoder(o: ArchitectureOptions): Autoencoder {
  return { encoder: buildEncoder(o), decoder: buildDecoder(o) };
}
