// meta.json of a trained model: what it was trained on, how, and how it went.
// Read back through a zod schema so an unreadable or foreign file gets a clear error.
import { z } from 'zod';

export const modelMetaSchema = z.object({
  modelId: z.string(),
  createdAt: z.string(),
  task: z.literal('reconstruct'),
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
});

export type ModelMeta = z.infer<typeof modelMetaSchema>;
