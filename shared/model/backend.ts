// TensorFlow.js backend selection at start-up: tfjs-node-gpu → tfjs-node → wasm → cpu,
// the first that loads, unless config names one. The native packages are optional
// (their install downloads libtensorflow, impossible on many machines) and are only
// imported when present. On wasm, the training kernels it lacks are registered.
import * as tf from '@tensorflow/tfjs';
import { errorMessage, UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import { registerWasmTrainingKernels } from './kernels/index.js';

export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
type Concrete = Exclude<BackendChoice, 'auto'>;

const ORDER: readonly Concrete[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

let active: Concrete | undefined;

/** Select and initialise the backend once per process; returns what was chosen. */
export async function initBackend(choice: BackendChoice, logger?: Logger): Promise<Concrete> {
  if (active && (choice === 'auto' || choice === active)) return active;
  const candidates = choice === 'auto' ? ORDER : [choice];
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      await activate(candidate);
      active = candidate;
      logger?.info({ backend: candidate, tfjs: tf.version.tfjs }, `tfjs backend: ${candidate}`);
      return candidate;
    } catch (error) {
      failures.push(`${candidate}: ${errorMessage(error)}`);
      logger?.debug({ backend: candidate, err: errorMessage(error) }, 'backend unavailable');
    }
  }
  throw new UserError(`No usable TensorFlow.js backend (${failures.join('; ')})`);
}

/** The backend chosen by initBackend, for meta.json and logs. */
export function activeBackend(): Concrete | undefined {
  return active;
}

async function activate(candidate: Concrete): Promise<void> {
  switch (candidate) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      // A variable specifier keeps TypeScript from requiring the optional package.
      const pkg: string = candidate === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      await import(pkg);
      await setBackend('tensorflow');
      return;
    }
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      registerWasmTrainingKernels();
      await setBackend('wasm');
      return;
    case 'cpu':
      await setBackend('cpu');
      return;
  }
}

async function setBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}
