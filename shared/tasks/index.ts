// Image-to-image tasks on top of the autoencoder (docs/tasks.md), one building block:
//   spec.ts         the task spec (TaskSpec) from config or meta.json, labels, descriptions
//   schema.ts       its zod schemas (job payloads, meta.json, HTTP requests)
//   corruptions.ts  the pure pixel transforms making a model input from a clean image
//   batches.ts      size checks and (input, target) batches from decoded images
//   quality.ts      PSNR / SSIM
//   evaluate.ts     prediction, quality metrics on the validation split, preview rows
// Importing this barrel loads tfjs (evaluate.ts); modules that must stay light (job
// contracts, the meta.json and HTTP schemas) import spec.ts or schema.ts directly.
export * from './spec.js';
export * from './schema.js';
export * from './corruptions.js';
export * from './batches.js';
export * from './quality.js';
export * from './evaluate.js';
