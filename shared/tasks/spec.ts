// What an image-to-image task is (docs/tasks.md): the four tasks and their parameters
// (TaskSpec), read from the configuration or from a saved model's meta.json and written
// back to meta.json, with the labels and one-line descriptions the CLI, the run status
// and meta.json show. How each task makes a model input from a clean image is in
// corruptions.ts.
import type { Config } from '../config/index.js';
import { UserError } from '../errors.js';
import type { ModelMeta } from '../model/meta.js';

export const TASKS = ['reconstruct', 'denoise', 'colorize', 'superres'] as const;
export type Task = (typeof TASKS)[number];

export const NOISE_KINDS = ['gaussian', 'salt-pepper', 'crosshair', 'erase'] as const;
export type NoiseKind = (typeof NOISE_KINDS)[number];

export const SUPERRES_SCALES = [2, 4] as const;
export type SuperresScale = (typeof SUPERRES_SCALES)[number];

export interface NoiseParams {
  /** Applied in the order of NOISE_KINDS, each to every image. */
  kinds: NoiseKind[];
  /** Standard deviation of the Gaussian noise (pixel values in [0, 1]). */
  sigma: number;
  /** Fraction of pixels turned black or white by salt-and-pepper noise. */
  saltPepperAmount: number;
  /** Crosshair line width range in pixels, [min, max] inclusive. */
  crosshairWidth: [number, number];
  /** Largest fraction of the image area a random-erasing rectangle covers. */
  eraseFraction: number;
  /** What fills the erased rectangle: uniform noise or one random grey. */
  eraseFill: 'noise' | 'constant';
}

export type TaskSpec =
  | { task: 'reconstruct' }
  | { task: 'denoise'; noise: NoiseParams }
  | { task: 'colorize' }
  | { task: 'superres'; scale: SuperresScale };

export const DEFAULT_NOISE: NoiseParams = {
  kinds: ['gaussian'],
  sigma: 0.1,
  saltPepperAmount: 0.05,
  crosshairWidth: [1, 3],
  eraseFraction: 0.2,
  eraseFill: 'noise',
};

/** Side of the model's input for a target side (superres: target / scale). */
export function inputSideOf(spec: TaskSpec, targetSide: number): number {
  return spec.task === 'superres' ? targetSide / spec.scale : targetSide;
}

/** The noise kinds with their parameters: "gaussian sigma 0.1 + crosshair width 1-3". */
export function describeNoise(n: NoiseParams): string {
  return n.kinds
    .map((k) => {
      switch (k) {
        case 'gaussian':
          return `gaussian sigma ${n.sigma}`;
        case 'salt-pepper':
          return `salt-pepper ${n.saltPepperAmount}`;
        case 'crosshair':
          return `crosshair width ${n.crosshairWidth[0]}-${n.crosshairWidth[1]}`;
        case 'erase':
          return `erase ≤${n.eraseFraction} of the area (${n.eraseFill})`;
      }
    })
    .join(' + ');
}

/** One line saying how the input is made, for meta.json and help. */
export function describeTask(spec: TaskSpec): string {
  switch (spec.task) {
    case 'reconstruct':
      return 'input = target = the image';
    case 'denoise':
      return `input = image + ${describeNoise(spec.noise)}; target = the clean image`;
    case 'colorize':
      return 'input = Rec.601 luma replicated to 3 channels; target = the colour image';
    case 'superres':
      return `input = area (box) downscale ×1/${spec.scale}; target = the image at full size`;
  }
}

/** "superres (×2)", "denoise (gaussian,crosshair)", "colorize", "reconstruct". */
export function taskLabel(spec: TaskSpec): string {
  switch (spec.task) {
    case 'superres':
      return `superres (×${spec.scale})`;
    case 'denoise':
      return `denoise (${spec.noise.kinds.join(',')})`;
    case 'colorize':
    case 'reconstruct':
      return spec.task;
  }
}

type TaskConfig = Pick<
  Config,
  'task' | 'noise' | 'noiseSigma' | 'saltPepperAmount' | 'crosshairWidth' | 'eraseFraction' | 'eraseFill' | 'superresScale'
>;

/** The task spec the configuration asks for. */
export function taskSpecFromConfig(c: TaskConfig): TaskSpec {
  switch (c.task) {
    case 'reconstruct':
      return { task: 'reconstruct' };
    case 'colorize':
      return { task: 'colorize' };
    case 'superres':
      return { task: 'superres', scale: c.superresScale };
    case 'denoise':
      return {
        task: 'denoise',
        noise: {
          kinds: [...c.noise],
          sigma: c.noiseSigma,
          saltPepperAmount: c.saltPepperAmount,
          crosshairWidth: [...c.crosshairWidth],
          eraseFraction: c.eraseFraction,
          eraseFill: c.eraseFill,
        },
      };
  }
}

/** The task a saved model was trained for (old meta.json files: reconstruct). */
export function taskSpecFromMeta(meta: Pick<ModelMeta, 'task' | 'taskParams' | 'modelId'>): TaskSpec {
  const p = meta.taskParams;
  switch (meta.task) {
    case 'reconstruct':
      return { task: 'reconstruct' };
    case 'colorize':
      return { task: 'colorize' };
    case 'superres':
      if (p?.scale === undefined) throw new UserError(`model ${meta.modelId}: meta.json says superres but has no taskParams.scale`);
      return { task: 'superres', scale: p.scale };
    case 'denoise':
      if (p?.noise === undefined) throw new UserError(`model ${meta.modelId}: meta.json says denoise but has no taskParams.noise`);
      return { task: 'denoise', noise: p.noise };
  }
}

/** The taskParams block of meta.json (what taskSpecFromMeta reads back). */
export function taskParams(spec: TaskSpec, outputSize: number, seed: number): NonNullable<ModelMeta['taskParams']> {
  return {
    outputSize,
    input: describeTask(spec),
    ...(spec.task === 'denoise' ? { noise: spec.noise } : {}),
    ...(spec.task === 'superres' ? { scale: spec.scale } : {}),
    seed,
  };
}
