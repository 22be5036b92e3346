import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuadTree } from '../../../shared/analysis/quadtree.js';
import { createRng, gaussian } from '../../../shared/analysis/rng.js';
import { runTsne } from '../../../shared/analysis/tsne.js';
import { CRASH_AT, PARALLEL_MIN_POINTS, RepulsionStep, repulsionShared } from '../../../shared/analysis/tsne-repulsion.js';
import { knnPurity2d, makeBlobs, rowDistance } from './blobs.js';

/** Fraction of points whose nearest 2-D class centroid is their own class's. */
function centroidAccuracy(y: Float64Array, labels: readonly number[]): number {
  const classes = Math.max(...labels) + 1;
  const cx = new Float64Array(classes);
  const cy = new Float64Array(classes);
  const count = new Float64Array(classes);
  labels.forEach((l, i) => {
    cx[l] = (cx[l] as number) + (y[2 * i] as number);
    cy[l] = (cy[l] as number) + (y[2 * i + 1] as number);
    count[l] = (count[l] as number) + 1;
  });
  let ok = 0;
  labels.forEach((l, i) => {
    let best = -1;
    let bestD = Infinity;
    for (let c = 0; c < classes; c++) {
      const d = ((y[2 * i] as number) - (cx[c] as number) / (count[c] as number)) ** 2 + ((y[2 * i + 1] as number) - (cy[c] as number) / (count[c] as number)) ** 2;
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    if (best === l) ok++;
  });
  return ok / labels.length;
}

test('t-SNE: 4 well-separated 50-D blobs stay separated in 2-D', () => {
  const { matrix, labels } = makeBlobs([100, 100, 100, 100], 50, 4, 1);
  // Random init: the start is unstructured (kNN purity ≈ 0.25), so the optimiser
  // itself must separate the blobs (PCA init alone would already separate these).
  let calls = 0;
  let last: [number, number] = [0, 0];
  const y = runTsne(matrix, {
    perplexity: 30,
    seed: 1,
    iterations: 500,
    init: 'random',
    onProgress: (iter, total) => {
      calls++;
      last = [iter, total];
    },
  });
  assert.equal(y.length, 800);
  assert.ok(y.every(Number.isFinite));
  assert.equal(calls, 500);
  assert.deepEqual(last, [500, 500]);
  const extent = Math.max(...Array.from(y, Math.abs));
  assert.ok(extent > 1, `layout expanded from the 1e-4 start (extent ${extent})`);
  const purity = knnPurity2d(y, labels, 10);
  assert.ok(purity >= 0.95, `kNN purity ${purity}`);
  assert.equal(centroidAccuracy(y, labels), 1);

  const withPcaInit = runTsne(matrix, { perplexity: 30, seed: 1, iterations: 500 });
  assert.ok(knnPurity2d(withPcaInit, labels, 10) >= 0.95);
});

test('quadtree: θ = 0 gives exact repulsion; θ = 0.5 stays close; duplicates are handled', () => {
  const rng = createRng(9);
  const n = 300;
  const y = Float64Array.from({ length: 2 * n }, () => gaussian(rng) * 5);
  y.set([y[0] as number, y[1] as number], 2); // point 1 duplicates point 0
  y.set([y[0] as number, y[1] as number], 4); // point 2 too
  const tree = new QuadTree();
  tree.build(y, n);
  let exactZ = 0;
  let approxZ = 0;
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < n; i++) {
    let fx = 0;
    let fy = 0;
    let z = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const dx = (y[2 * i] as number) - (y[2 * j] as number);
      const dy = (y[2 * i + 1] as number) - (y[2 * j + 1] as number);
      const q = 1 / (1 + dx * dx + dy * dy);
      z += q;
      fx += q * q * dx;
      fy += q * q * dy;
    }
    const exact = new Float64Array(2);
    const zi = tree.repulsion(y[2 * i] as number, y[2 * i + 1] as number, 0, exact);
    assert.ok(Math.abs(zi - z) < 1e-9 * z, `θ=0 Σq for point ${i}`);
    assert.ok(Math.abs((exact[0] as number) - fx) < 1e-9 && Math.abs((exact[1] as number) - fy) < 1e-9, `θ=0 force for point ${i}`);
    const approx = new Float64Array(2);
    approxZ += tree.repulsion(y[2 * i] as number, y[2 * i + 1] as number, 0.5 * 0.5, approx);
    exactZ += z;
    worst = Math.max(worst, Math.hypot((approx[0] as number) - fx, (approx[1] as number) - fy));
    scale = Math.max(scale, Math.hypot(fx, fy));
  }
  assert.ok(Math.abs(approxZ - exactZ) < 0.01 * exactZ, 'θ=0.5: Z within 1%');
  assert.ok(worst < 0.05 * scale, `θ=0.5: force error ${worst} vs scale ${scale}`);
});

test('t-SNE: input above 50-D is PCA-reduced first and still separates', () => {
  const { matrix, labels } = makeBlobs([60, 60, 60], 256, 2, 2);
  const y = runTsne(matrix, { perplexity: 20, seed: 3, iterations: 400 });
  assert.ok(knnPurity2d(y, labels, 10) >= 0.95);
});

test('t-SNE: deterministic for a fixed seed (pca and random init); seed matters for random init', () => {
  const { matrix } = makeBlobs([40, 40, 40], 20, 3, 4);
  const a = runTsne(matrix, { perplexity: 10, seed: 7, iterations: 300 });
  const b = runTsne(matrix, { perplexity: 10, seed: 7, iterations: 300 });
  assert.deepEqual(Array.from(a), Array.from(b));
  const r1 = runTsne(matrix, { perplexity: 10, seed: 7, iterations: 300, init: 'random' });
  const r2 = runTsne(matrix, { perplexity: 10, seed: 7, iterations: 300, init: 'random' });
  const r3 = runTsne(matrix, { perplexity: 10, seed: 8, iterations: 300, init: 'random' });
  assert.deepEqual(Array.from(r1), Array.from(r2));
  assert.notDeepEqual(Array.from(r1), Array.from(r3));
});

test('t-SNE: the repulsion split over threads gives the bit-identical layout, and the threads really work', () => {
  const { matrix } = makeBlobs([2000, 2000, 1500], 10, 3, 5);
  assert.ok(matrix.rows >= PARALLEL_MIN_POINTS);
  const serial = runTsne(matrix, { perplexity: 10, seed: 3, iterations: 30, threads: 0 });
  const parallel = runTsne(matrix, { perplexity: 10, seed: 3, iterations: 30, threads: 2 });
  assert.deepEqual(Array.from(parallel), Array.from(serial));

  // One step on its own: both threads start, and the step's result matches this thread's alone.
  const shared = repulsionShared(matrix.rows, 0.5);
  const rng = createRng(5);
  for (let i = 0; i < 2 * matrix.rows; i++) shared.y[i] = gaussian(rng) * 10;
  for (let i = 0; i < matrix.rows; i++) shared.order[i] = i;
  const threaded = new RepulsionStep(shared, 2);
  try {
    threaded.run();
    assert.equal(threaded.threads, 2, 'the worker threads started');
    const forces = Array.from(shared.repulse);
    const sums = Array.from(shared.sumQ);
    const alone = new RepulsionStep(shared, 0);
    alone.run();
    assert.deepEqual(Array.from(shared.repulse), forces);
    assert.deepEqual(Array.from(shared.sumQ), sums);
  } finally {
    threaded.close();
  }
});

test('t-SNE: a repulsion thread that fails mid-run is stopped, its step redone here, the result unchanged; the process lives on', () => {
  const n = PARALLEL_MIN_POINTS + 500;
  const fresh = (): ReturnType<typeof repulsionShared> => {
    const shared = repulsionShared(n, 0.5);
    const rng = createRng(9);
    for (let i = 0; i < 2 * n; i++) shared.y[i] = gaussian(rng) * 10;
    for (let i = 0; i < n; i++) shared.order[i] = i;
    return shared;
  };
  const alone = fresh();
  const reference = new RepulsionStep(alone, 0);
  const shared = fresh();
  Atomics.store(shared.control, CRASH_AT, 2);
  const step = new RepulsionStep(shared, 1, { stepMs: 20_000 });
  try {
    for (let k = 1; k <= 3; k++) {
      reference.run();
      step.run();
      assert.deepEqual(Array.from(shared.repulse), Array.from(alone.repulse), `step ${k}`);
      assert.deepEqual(Array.from(shared.sumQ), Array.from(alone.sumQ), `step ${k}`);
      assert.equal(step.threads, k < 2 ? 1 : 0, `threads after step ${k}`);
    }
  } finally {
    step.close();
  }
});

test('t-SNE: tiny N gives a simple exact layout', () => {
  assert.equal(runTsne({ rows: 0, dim: 5, data: new Float32Array(0) }, { perplexity: 30, seed: 1 }).length, 0);
  assert.deepEqual(Array.from(runTsne({ rows: 1, dim: 3, data: new Float32Array([1, 2, 3]) }, { perplexity: 30, seed: 1 })), [0, 0]);
  const three = new Float32Array([0, 0, 0, 3, 0, 0, 0, 4, 0]);
  const y = runTsne({ rows: 3, dim: 3, data: three }, { perplexity: 30, seed: 1 });
  assert.equal(y.length, 6);
  // Three points span ≤ 2 dimensions: PCA keeps their distances exactly.
  for (const [i, j] of [[0, 1], [0, 2], [1, 2]] as const) {
    assert.ok(Math.abs(rowDistance(three, 3, i, j) - rowDistance(y, 2, i, j)) < 1e-5);
  }
  const two = runTsne({ rows: 2, dim: 2, data: new Float32Array([0, 0, 1, 1]) }, { perplexity: 5, seed: 1 });
  assert.ok(Math.abs(rowDistance(two, 2, 0, 1) - Math.SQRT2) < 1e-6);
});

test('t-SNE: perplexity is clamped for small N; duplicates and constant data stay finite', () => {
  const small = makeBlobs([3, 3], 4, 5, 5).matrix;
  const y = runTsne(small, { perplexity: 30, seed: 1, iterations: 200 });
  assert.equal(y.length, 12);
  assert.ok(y.every(Number.isFinite));

  const dupes = new Float32Array(40 * 3);
  for (let i = 20; i < 40; i++) dupes.set([5, 5, 5], i * 3); // two groups of 20 identical points
  const yd = runTsne({ rows: 40, dim: 3, data: dupes }, { perplexity: 5, seed: 1, iterations: 250 });
  assert.ok(yd.every(Number.isFinite));

  const constant = runTsne({ rows: 30, dim: 4, data: new Float32Array(120).fill(1) }, { perplexity: 5, seed: 2, iterations: 100 });
  assert.ok(constant.every(Number.isFinite));
});

test('t-SNE: exact mode (theta 0) agrees in quality with Barnes-Hut', () => {
  const { matrix, labels } = makeBlobs([50, 50, 50], 10, 4, 6);
  const exact = runTsne(matrix, { perplexity: 15, seed: 1, iterations: 300, theta: 0 });
  assert.ok(knnPurity2d(exact, labels, 10) >= 0.95);
});

test('t-SNE: rejects invalid options', () => {
  const { matrix } = makeBlobs([10], 3, 1, 1);
  assert.throws(() => runTsne(matrix, { perplexity: 0, seed: 1 }), RangeError);
  assert.throws(() => runTsne(matrix, { perplexity: Number.NaN, seed: 1 }), RangeError);
  assert.throws(() => runTsne(matrix, { perplexity: 5, seed: 1, iterations: -1 }), RangeError);
  assert.throws(() => runTsne(matrix, { perplexity: 5, seed: 1, theta: -0.5 }), RangeError);
  assert.throws(() => runTsne(matrix, { perplexity: 5, seed: 1, learningRate: 0 }), RangeError);
});
