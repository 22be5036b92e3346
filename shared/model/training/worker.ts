// Gradient worker of the data-parallel trainer (see data-parallel.ts): a replica of
// the encoder+decoder on its own tfjs backend instance (the wasm backend is
// single-threaded, so each worker thread adds a core). Per step it loads the
// weights the main thread wrote into the shared weights buffer, computes the
// gradient of the mean MSE over its shard, and writes it into its grads buffer.
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendChoice } from '../backend.js';
import type { FromWorker, InitMessage, StepMessage, ToWorker } from './protocol.js';

interface Replica {
  encoder: tf.LayersModel;
  decoder: tf.LayersModel;
  variables: tf.Variable[];
  weights: Float32Array;
  grads: Float32Array;
}

let replica: Replica | undefined;

function post(message: FromWorker): void {
  parentPort?.postMessage(message);
}

async function init(m: InitMessage): Promise<void> {
  await initBackend(m.backend as BackendChoice);
  const encoder = await tf.models.modelFromJSON({ modelTopology: m.encoderJson as tf.io.ModelJSON['modelTopology'] });
  const decoder = await tf.models.modelFromJSON({ modelTopology: m.decoderJson as tf.io.ModelJSON['modelTopology'] });
  const variables = [...encoder.trainableWeights, ...decoder.trainableWeights].map((w) => w.read() as tf.Variable);
  const shapes = variables.map((v) => v.shape);
  if (JSON.stringify(shapes) !== JSON.stringify(m.shapes)) {
    throw new Error(`replica variables ${JSON.stringify(shapes)} do not match the trainer's ${JSON.stringify(m.shapes)}`);
  }
  replica = { encoder, decoder, variables, weights: new Float32Array(m.weights), grads: new Float32Array(m.grads) };
}

function step(m: StepMessage): { loss: number; numTensors: number } {
  const r = replica;
  if (r === undefined) throw new Error('step before init');
  let offset = 0;
  for (const v of r.variables) {
    const values = r.weights.subarray(offset, offset + v.size);
    tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
    offset += v.size;
  }
  const loss = tf.tidy(() => {
    const input = tf.tensor4d(m.input, [m.count, ...m.inputShape]);
    const target = tf.tensor4d(m.target, [m.count, ...m.targetShape]);
    const { value, grads } = tf.variableGrads(
      () => tf.losses.meanSquaredError<tf.Tensor, tf.Scalar>(target, r.decoder.apply(r.encoder.apply(input)) as tf.Tensor),
      r.variables,
    );
    let at = 0;
    for (const v of r.variables) {
      const g = grads[v.name];
      if (g === undefined) throw new Error(`no gradient for ${v.name}`);
      r.grads.set(g.dataSync(), at);
      at += v.size;
    }
    return value.dataSync()[0] as number;
  });
  return { loss, numTensors: tf.memory().numTensors };
}

function dispose(): void {
  replica?.encoder.dispose();
  replica?.decoder.dispose();
  replica = undefined;
}

parentPort?.on('message', (m: ToWorker) => {
  const fail = (error: unknown): void => {
    const e = error instanceof Error ? error : new Error(String(error));
    post({ type: 'error', message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
  };
  switch (m.type) {
    case 'init':
      init(m).then(() => post({ type: 'ready' }), fail);
      return;
    case 'step':
      try {
        post({ type: 'done', ...step(m) });
      } catch (error) {
        fail(error);
      }
      return;
    case 'close':
      dispose();
      parentPort?.close();
      return;
  }
});
