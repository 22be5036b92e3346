// Per-kernel profile of one training step of the reference CAE on the wasm backend:
// the same step as shared/model/training/train-step.ts (forward, MSE, backward, Adam),
// run under tf.profile after warm-up steps, kernel times summed by kernel name and
// averaged over the profiled steps. A tool for finding the next kernel to speed up, not a
// throughput benchmark (bench:train is).
//
//   node --import tsx test/bench/profile-train.ts [-- --size=64 --batch=32 --steps=3 --warmup=2 --detail=1]
//   (--detail=1: one row per kernel and input shapes, not per kernel)
import * as tf from '@tensorflow/tfjs';
import { buildAutoencoder, REFERENCE_FILTERS } from '../../shared/model/architecture.js';
import { initBackend } from '../../shared/model/backend.js';
import { intOption, machineLine, table } from './common.js';

const argv = process.argv.slice(2);
const size = intOption(argv, 'size', 64);
const batch = intOption(argv, 'batch', 32);
const steps = intOption(argv, 'steps', 3);
const warmup = intOption(argv, 'warmup', 2, 0);
const detail = intOption(argv, 'detail', 0, 0) > 0;

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  console.log(`profile-train — ${machineLine()}; backend ${backend}, ${size}×${size}, batch ${batch}`);
  const model = buildAutoencoder({ inputSize: size, filters: REFERENCE_FILTERS, kernelSize: 3, seed: 1 });
  const variables = [...model.encoder.trainableWeights, ...model.decoder.trainableWeights].map((w) => w.read() as tf.Variable);
  const optimizer = tf.train.adam(1e-3);
  const data = new Float32Array(batch * size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (Math.sin(i * 0.37) + 1) / 2;
  const x = tf.tensor4d(data, [batch, size, size, 3]);
  const step = (): void => {
    tf.tidy(() => {
      const cost = optimizer.minimize(
        () => tf.losses.meanSquaredError<tf.Tensor, tf.Scalar>(x, model.decoder.apply(model.encoder.apply(x)) as tf.Tensor),
        true,
        variables,
      );
      cost?.dataSync();
    });
  };
  for (let i = 0; i < warmup; i++) step();
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let wall = 0;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const info = await tf.profile(step);
    wall += performance.now() - t0;
    for (const k of info.kernels) {
      const name = detail ? `${k.name} ${k.inputShapes.map((s) => (s ? s.join('x') : '?')).join(' ')}` : k.name;
      const e = byKernel.get(name) ?? { ms: 0, calls: 0 };
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      e.calls += 1;
      byKernel.set(name, e);
    }
  }
  const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.log(
    table([
      ['kernel', 'ms/step', 'calls/step', 'share'],
      ...rows.map(([name, e]) => [name, (e.ms / steps).toFixed(1), String(e.calls / steps), `${((100 * e.ms) / total).toFixed(1)}%`]),
    ]),
  );
  console.log(`kernels ${(total / steps).toFixed(0)} ms/step; wall under tf.profile ${(wall / steps).toFixed(0)} ms/step`);
  x.dispose();
  optimizer.dispose();
  model.encoder.dispose();
  model.decoder.dispose();
}

await main();
