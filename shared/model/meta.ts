// meta.json of a trained model: what it was trained on, how, and how it went.
// Read back through a zod schema so an unreadable or foreign file gets a clear error.
import { z } from 'zod';
import { noiseParamsSchema } from '../tasks/schema.js';
import { TASKS } from '../tasks/spec.js';

/** Task parameters: how the input is made from the clean image (shared/tasks/corruptions.ts). */
export const taskParamsSchema = z.object({
  /** Side of the decoder's output (= inputSize, or inputSize × scale for superres). */
  outputSize: z.number().int(),
  /** Human-readable description of the input transform. */
  input: z.string(),
  noise: noiseParamsSchema.optional(),
  scale: z.union([z.literal(2), z.literal(4)]).optional(),
  /** Seed of the training corruption stream (validation uses one seed per image). */
  seed: z.number().int(),
});

/** PSNR in dB (null = Infinity: output identical to target) and SSIM, means over images. */
const qualitySchema = z.object({ psnr: z.number().nullable(), ssim: z.number() });

/** Quality on the validation split: the model's output, and the baseline it must beat. */
export const taskMetricsSchema = z.object({
  images: z.number().int(),
  output: qualitySchema,
  baseline: qualitySchema.extend({ method: z.enum(['input', 'grey-input', 'bicubic']) }),
});
export type TaskMetrics = z.infer<typeof taskMetricsSchema>;

/**
 * The task model against its baseline on the validation split (PSNR in dB): written for
 * every task that has a baseline (not reconstruct, whose input is its target), so a model
 * that makes images worse than what it was given says so in meta.json.
 */
export const modelQualitySchema = z.object({ psnr: z.number(), baselinePsnr: z.number(), worseThanBaseline: z.boolean() });
export type ModelQuality = z.infer<typeof modelQualitySchema>;

export const modelMetaSchema = z.object({
  modelId: z.string(),
  createdAt: z.string(),
  /** Old files (before image-to-image tasks) say 'reconstruct' and have no taskParams/metrics. */
  task: z.enum(TASKS),
  taskParams: taskParamsSchema.optional(),
  source: z.string(),
  inputSize: z.number().int(),
  fit: z.enum(['crop', 'letterbox']),
  architecture: z.object({ filters: z.array(z.number().int()), kernelSize: z.number().int() }),
  embeddingDim: z.number().int(),
  training: z.object({
    epochsRequested: z.number().int(),
    epochsRun: z.number().int(),
    bestEpoch: z.number().int(),
    bestValidationLoss: z.number(),
    stoppedEarly: z.boolean(),
    batchSize: z.number().int(),
    learningRate: z.number(),
    optimizer: z.enum(['adam', 'adamw']),
    weightDecay: z.number(),
    patience: z.number().int(),
    validationSplit: z.number(),
    seed: z.number().int(),
    trainImages: z.number().int(),
    validationImages: z.number().int(),
  }),
  losses: z.array(z.object({ epoch: z.number().int(), train: z.number(), validation: z.number(), seconds: z.number() })),
  backend: z.string(),
  timings: z.object({ trainSeconds: z.number(), imagesPerSecond: z.number() }),
  metrics: taskMetricsSchema.optional(),
  quality: modelQualitySchema.optional(),
});

export type ModelMeta = z.infer<typeof modelMetaSchema>;
