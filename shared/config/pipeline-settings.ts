// The settings of the pipeline itself (decoding, the model and its training, image-to-image
// tasks, embedding, the cluster map): the first part of the configuration table, in the
// order of the README's table (schema.ts joins the parts).
import { z } from 'zod';
import { int, num, setting } from './setting.js';

/**
 * Points the t-SNE map is computed on by default. t-SNE's cost grows with the points it
 * maps (Barnes-Hut, ~N log N per iteration): on the 2-core development machine a
 * 10,000-point map takes ~20–40 s and keeps 100k points in the 90 s target (bench:scale;
 * docs/performance.md); 20,000 doubles the map's time for a few hundredths of 10-NN kept.
 */
export const MAP_SAMPLE_DEFAULT = 10_000;

export const PIPELINE_SETTINGS = {
  logLevel: setting({
    env: 'IMGSIM_LOG_LEVEL',
    flag: '--log-level',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    doc: 'pino log level (logs go to stderr)',
  }),
  logFormat: setting({
    env: 'IMGSIM_LOG_FORMAT',
    flag: '--log-format',
    schema: z.enum(['human', 'json']),
    default: 'human',
    doc: 'human: short rounded lines and a progress bar on a terminal; json: pino JSON lines, full-precision numbers, durations in seconds or ms',
  }),
  backend: setting({
    env: 'IMGSIM_BACKEND',
    flag: '--backend',
    schema: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']),
    default: 'auto',
    doc: 'TensorFlow.js backend; auto tries tfjs-node-gpu, tfjs-node, wasm, cpu in that order',
  }),
  imageSize: setting({
    env: 'IMGSIM_IMAGE_SIZE',
    flag: '--size',
    schema: int(8, 1024),
    default: 64,
    doc: 'model input side in pixels; must be divisible by 2^stages (32 for the default 5 stages)',
  }),
  fit: setting({
    env: 'IMGSIM_FIT',
    flag: '--fit',
    schema: z.enum(['crop', 'letterbox']),
    default: 'crop',
    doc: 'resize policy: crop = cover the square and cut the centre; letterbox = fit inside, pad black',
  }),
  maxPixels: setting({
    env: 'IMGSIM_MAX_PIXELS',
    flag: '--max-pixels',
    schema: int(1),
    default: 100_000_000,
    doc: 'images declaring more pixels than this are refused (decompression-bomb guard)',
  }),
  decodeConcurrency: setting({
    env: 'IMGSIM_DECODE_CONCURRENCY',
    flag: '--decode-concurrency',
    schema: int(1, 64),
    default: 4,
    doc: 'images decoded at once (sharp thread pool)',
  }),
  filters: setting({
    env: 'IMGSIM_FILTERS',
    flag: '--filters',
    schema: z
      .string()
      .regex(/^\d+(,\d+)*$/, 'comma-separated positive integers such as 16,32,64,128,256')
      .transform((s) => s.split(',').map(Number))
      .refine((f) => f.every((n) => n >= 1), 'comma-separated positive integers such as 16,32,64,128,256'),
    default: '16,32,64,128,256',
    doc: 'encoder filters per stage (each stage halves the side)',
  }),
  kernelSize: setting({
    env: 'IMGSIM_KERNEL_SIZE',
    flag: '--kernel-size',
    schema: int(1, 11),
    default: 3,
    doc: 'encoder convolution kernel side',
  }),
  epochs: setting({
    env: 'IMGSIM_EPOCHS',
    flag: '--epochs',
    schema: int(1, 10_000),
    default: 20,
    doc: 'training epochs (upper bound: early stopping may end sooner); 20 as in the reference method',
  }),
  batchSize: setting({
    env: 'IMGSIM_BATCH_SIZE',
    flag: '--batch',
    schema: int(1, 4096),
    default: 32,
    doc: 'training batch size',
  }),
  trainThreads: setting({
    env: 'IMGSIM_TRAIN_THREADS',
    flag: '--train-threads',
    schema: int(1, 64),
    default: 1,
    doc: 'threads computing training gradients on the wasm/cpu backends (data-parallel: the batch is split across worker threads); 1 trains on the main thread only',
  }),
  learningRate: setting({
    env: 'IMGSIM_LEARNING_RATE',
    flag: '--lr',
    schema: num(1e-7, 10),
    default: 1e-3,
    doc: 'optimizer learning rate',
  }),
  optimizer: setting({
    env: 'IMGSIM_OPTIMIZER',
    flag: '--optimizer',
    schema: z.enum(['adam', 'adamw']),
    default: 'adamw',
    doc: 'adam, or adamw (Adam with decoupled weight decay)',
  }),
  weightDecay: setting({
    env: 'IMGSIM_WEIGHT_DECAY',
    flag: '--weight-decay',
    schema: num(0, 1),
    default: 1e-4,
    doc: 'decoupled weight decay for adamw',
  }),
  patience: setting({
    env: 'IMGSIM_PATIENCE',
    flag: '--patience',
    schema: int(0, 10_000),
    default: 5,
    doc: 'early stopping: epochs without validation improvement before stopping (0 = never stop early)',
  }),
  validationSplit: setting({
    env: 'IMGSIM_VALIDATION_SPLIT',
    flag: '--validation-split',
    schema: num(0.01, 0.9),
    default: 0.25,
    doc: 'fraction of images held out for validation (seeded split)',
  }),
  seed: setting({
    env: 'IMGSIM_SEED',
    flag: '--seed',
    schema: int(0, 2 ** 31 - 1),
    default: 42,
    doc: 'seed for the split, shuffling, initial weights and t-SNE',
  }),
  // --- image-to-image tasks (imgsim train --task, docs/tasks.md) ---
  task: setting({
    env: 'IMGSIM_TASK',
    flag: '--task',
    schema: z.enum(['reconstruct', 'denoise', 'colorize', 'superres']),
    default: 'reconstruct',
    doc: 'what the model learns: reconstruct (the embedding autoencoder), denoise, colorize (grey → colour) or superres (low-res → high-res)',
  }),
  noise: setting({
    env: 'IMGSIM_NOISE',
    flag: '--noise',
    schema: z
      .string()
      .regex(
        /^(gaussian|salt-pepper|crosshair|erase)(,(gaussian|salt-pepper|crosshair|erase))*$/,
        'a comma-separated list of gaussian, salt-pepper, crosshair, erase',
      )
      .transform((s) => [...new Set(s.split(','))] as Array<'gaussian' | 'salt-pepper' | 'crosshair' | 'erase'>),
    default: 'gaussian',
    doc: 'denoise: noise kinds added to every training image, applied in the order gaussian, salt-pepper, crosshair, erase',
  }),
  noiseSigma: setting({
    env: 'IMGSIM_NOISE_SIGMA',
    flag: '--noise-sigma',
    schema: num(0, 1),
    default: 0.1,
    doc: 'denoise: standard deviation of the gaussian noise (pixels in [0, 1])',
  }),
  saltPepperAmount: setting({
    env: 'IMGSIM_SP_AMOUNT',
    flag: '--sp-amount',
    schema: num(0, 1),
    default: 0.05,
    doc: 'denoise: fraction of pixels set to black or white by salt-pepper noise',
  }),
  crosshairWidth: setting({
    env: 'IMGSIM_CROSSHAIR_WIDTH',
    flag: '--crosshair-width',
    schema: z
      .string()
      .regex(/^\d{1,3}(-\d{1,3})?$/, 'a width in pixels or a range min-max such as 1-3')
      .transform((s) => s.split('-').map(Number))
      .refine((w) => (w[0] as number) >= 1 && (w.at(-1) as number) >= (w[0] as number), 'a width ≥ 1, or a range min-max with 1 ≤ min ≤ max')
      .transform((w): [number, number] => [w[0] as number, w.at(-1) as number]),
    default: '1-3',
    doc: 'denoise: crosshair line width in pixels, or a min-max range drawn per image',
  }),
  eraseFraction: setting({
    env: 'IMGSIM_ERASE_FRACTION',
    flag: '--erase-fraction',
    schema: num(0.02, 0.9),
    default: 0.2,
    doc: 'denoise: largest fraction of the image area a random-erasing rectangle covers',
  }),
  eraseFill: setting({
    env: 'IMGSIM_ERASE_FILL',
    flag: '--erase-fill',
    schema: z.enum(['noise', 'constant']),
    default: 'noise',
    doc: 'denoise: what fills an erased rectangle: uniform noise, or one random grey',
  }),
  superresScale: setting({
    env: 'IMGSIM_SUPERRES_SCALE',
    flag: '--scale',
    schema: z.coerce
      .number()
      .refine((v) => v === 2 || v === 4, '2 or 4')
      .transform((v): 2 | 4 => (v === 4 ? 4 : 2)),
    default: 2,
    doc: 'superres: upscale factor; the model input is the image size / scale (area downscale), its output the image size',
  }),
  embedBatchSize: setting({
    env: 'IMGSIM_EMBED_BATCH_SIZE',
    flag: '--embed-batch',
    schema: int(1, 4096),
    default: 64,
    doc: 'images per forward pass when a model is run on images (embedding, search queries, apply): inference, not the training batch',
  }),
  pcaComponents: setting({
    env: 'IMGSIM_PCA_COMPONENTS',
    flag: '--pca',
    schema: int(2, 4096),
    default: 50,
    doc: 'PCA components before t-SNE and k-means',
  }),
  perplexity: setting({
    env: 'IMGSIM_PERPLEXITY',
    flag: '--perplexity',
    schema: num(2, 200),
    default: 30,
    doc: 't-SNE perplexity (clamped to (N-1)/3 for small collections)',
  }),
  tsneIterations: setting({
    env: 'IMGSIM_TSNE_ITERATIONS',
    flag: '--tsne-iterations',
    schema: int(250, 100_000),
    default: 1000,
    doc: 't-SNE iterations',
  }),
  clusters: setting({
    env: 'IMGSIM_CLUSTERS',
    flag: '--clusters',
    schema: z.union([z.literal('auto'), int(2, 1000)]),
    default: 'auto',
    doc: 'k-means clusters, or auto: a k to browse — best silhouette among k ≤ min(√N, 400) whose median cluster holds 10 to ~2√N images, or the best overall if it is ≥ 0.7',
  }),
  mapSample: setting({
    env: 'IMGSIM_MAP_SAMPLE',
    flag: '--map-sample',
    schema: int(10, 10_000_000),
    default: MAP_SAMPLE_DEFAULT,
    doc: 'points the t-SNE map is computed on: above it, a seeded sample chosen by key is mapped, every other point placed from its nearest sampled neighbours, and k-means runs by mini-batches',
  }),
};
