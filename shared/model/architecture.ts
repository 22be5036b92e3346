// Convolutional autoencoder factories (tfjs layers API only, so every backend runs them).
// Defaults reproduce the reference CAE: 5 encoder stages of conv 3×3 'same' + ReLU +
// 2×2 max-pool with 16, 32, 64, 128, 256 filters; a decoder of 2×2 stride-2 transposed
// convolutions back to 3 channels (ReLU between stages, sigmoid at the end because
// targets are pixels in [0, 1]). The embedding is the flattened encoder output:
// (size / 2^stages)² × lastFilters values, 1,024 at 64×64.
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

export function buildDecoder(o: ArchitectureOptions): tf.Sequential {
  validateArchitecture(o);
  const side = latentSide(o);
  const reversed = [...o.filters].reverse();
  const outputs = [...reversed.slice(1), 3];
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

export interface Autoencoder {
  encoder: tf.LayersModel;
  decoder: tf.LayersModel;
}

export function buildAutoencoder(o: ArchitectureOptions): Autoencoder {
  return { encoder: buildEncoder(o), decoder: buildDecoder(o) };
}
