// zod schemas of an image-to-image task (TaskSpec, spec.ts): the full spec carried by
// job payloads and meta.json, and the request form of the HTTP API where every noise
// parameter may be left out (the CLI's defaults fill it in).
import { z } from 'zod';
import { DEFAULT_NOISE, NOISE_KINDS, type TaskSpec } from './spec.js';

export const noiseParamsSchema = z.object({
  kinds: z.array(z.enum(NOISE_KINDS)).min(1),
  sigma: z.number().min(0).max(1),
  saltPepperAmount: z.number().min(0).max(1),
  crosshairWidth: z.tuple([z.number().int().min(1), z.number().int().min(1)]).refine(([a, b]) => a <= b, 'expected [min, max] with min ≤ max'),
  eraseFraction: z.number().gt(0).max(1),
  eraseFill: z.enum(['noise', 'constant']),
});

const scaleSchema = z.union([z.literal(2), z.literal(4)]);

export const taskSpecSchema = z.discriminatedUnion('task', [
  z.object({ task: z.literal('reconstruct') }),
  z.object({ task: z.literal('denoise'), noise: noiseParamsSchema }),
  z.object({ task: z.literal('colorize') }),
  z.object({ task: z.literal('superres'), scale: scaleSchema }),
]);

/** As taskSpecSchema; noise parameters and the scale may be omitted (defaults: DEFAULT_NOISE, ×2). */
export const taskRequestSchema = z
  .discriminatedUnion('task', [
    z.object({ task: z.literal('reconstruct') }).strict(),
    z.object({ task: z.literal('denoise'), noise: noiseParamsSchema.partial().optional() }).strict(),
    z.object({ task: z.literal('colorize') }).strict(),
    z.object({ task: z.literal('superres'), scale: scaleSchema.optional() }).strict(),
  ])
  .transform((t): TaskSpec => {
    switch (t.task) {
      case 'denoise':
        return { task: 'denoise', noise: { ...DEFAULT_NOISE, ...t.noise } };
      case 'superres':
        return { task: 'superres', scale: t.scale ?? 2 };
      case 'colorize':
      case 'reconstruct':
        return t;
    }
  });

// The schemas must describe exactly the TaskSpec type.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
export const TASK_SCHEMA_MATCHES_TYPE: Same<z.infer<typeof taskSpecSchema>, TaskSpec> = true;
