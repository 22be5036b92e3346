// `--clusters auto` chooses a k a person can browse (issue 15): the rule of
// shared/analysis/choose-k.ts through both k-means paths (clusterKMeans below the map
// sample, miniBatchKMeans above it), on data with a known answer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { autoKRange, candidateKs, MAX_CANDIDATES, sizeSummary, STRONG_SILHOUETTE, wardCuts } from '../../../shared/analysis/choose-k.js';
import { clusterKMeans } from '../../../shared/analysis/kmeans.js';
import type { EmbeddingMatrix } from '../../../shared/analysis/matrix.js';
import { miniBatchKMeans } from '../../../shared/analysis/minibatch-kmeans.js';
import { createRng } from '../../../shared/analysis/rng.js';
import { normalisedMutualInformation } from '../../support/cluster-metrics.js';
import { makeBlobs } from './blobs.js';

function sizesOf(labels: ArrayLike<number>, k: number): number[] {
  const sizes = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) sizes[labels[i] as number] = (sizes[labels[i] as number] as number) + 1;
  return sizes;
}

function uniform(n: number, dim: number, seed: number): EmbeddingMatrix {
  const rng = createRng(seed);
  return { rows: n, dim, data: Float32Array.from({ length: n * dim }, () => rng()) };
}

const blobs = (count: number, each: number, dim: number, separation: number, seed: number) => makeBlobs(new Array<number>(count).fill(each), dim, separation, seed);

describe('the browsable-k rule', () => {
  test('range: K = min(⌊√N⌋, 400), browsable median sizes 10 (or N/K) to 2·N/K', () => {
    assert.deepEqual(autoKRange(1000), { maxK: 31, minSize: 10, maxSize: (2 * 1000) / 31 });
    assert.deepEqual(autoKRange(30), { maxK: 5, minSize: 6, maxSize: 12 });
    assert.equal(autoKRange(1_000_000).maxK, 400);
    assert.equal(autoKRange(1_000_000).maxSize, 5000);
    assert.equal(autoKRange(10_000, 8).maxK, 8);
    assert.equal(autoKRange(3).maxK, 1);
  });

  test('candidates: every k up to 65, then at most 64 spaced geometrically, 2 and K included', () => {
    assert.deepEqual(candidateKs(5), [2, 3, 4, 5]);
    assert.deepEqual(candidateKs(1), []);
    const many = candidateKs(400);
    assert.ok(many.length <= MAX_CANDIDATES && many.length > 40, `${many.length}`);
    assert.equal(many[0], 2);
    assert.equal(many.at(-1), 400);
    assert.deepEqual([...many].sort((a, b) => a - b), many);
  });

  test("Ward cuts merge the pair that raises inertia least; the first pair wins a tie", () => {
    const centres = Float64Array.from([0, 1, 10, 11, 30]);
    const cuts = wardCuts(centres, [1, 1, 1, 1, 1], 5, 1, [1, 2, 3, 4]);
    assert.deepEqual([...(cuts.get(4) as Int32Array)], [0, 0, 1, 2, 3]);
    assert.deepEqual([...(cuts.get(3) as Int32Array)], [0, 0, 1, 1, 2]);
    assert.deepEqual([...(cuts.get(2) as Int32Array)], [0, 0, 0, 0, 1]);
    assert.deepEqual([...(cuts.get(1) as Int32Array)], [0, 0, 0, 0, 0]);
    // Weight counts: a heavy centre is dearer to move, so the light pair merges first.
    const weighted = wardCuts(Float64Array.from([0, 1, 3]), [100, 100, 1], 3, 1, [2]);
    assert.deepEqual([...(weighted.get(2) as Int32Array)], [0, 1, 1]);
    assert.deepEqual(sizeSummary([5, 1, 3, 9]), { median: 4, min: 1, max: 9 });
  });

  test('40 separated blobs (N = 2,000): auto finds 40, not 2', () => {
    // Strong structure (silhouette ≥ 0.7), and blobs close enough (silhouette ~0.5) that
    // the browsable window decides; random centres put a few blobs nearly on top of each
    // other, so the best silhouette is at 37–40.
    for (const [separation, reason] of [
      [6, 'strong'],
      [3, 'browsable'],
    ] as const) {
      const { matrix, labels } = blobs(40, 50, 10, separation, 11);
      const r = clusterKMeans(matrix, { k: 'auto', seed: 4 });
      assert.equal(r.auto?.reason, reason, `separation ${separation}: silhouette ${r.silhouette}`);
      assert.ok(Math.abs(r.k - 40) <= 3, `separation ${separation}: k ${r.k}`);
      const nmi = normalisedMutualInformation(r.labels, labels);
      assert.ok(nmi > 0.9, `separation ${separation}: NMI ${nmi.toFixed(3)}`);
    }
  });

  test('two broad groups (where the old rule chose k = 2): a browsable k', () => {
    const { matrix } = makeBlobs([1000, 1000], 10, 1.5, 12);
    const r = clusterKMeans(matrix, { k: 'auto', seed: 1 });
    const two = (r.auto?.candidates ?? []).find((c) => c.k === 2);
    assert.ok(two && two.silhouette === Math.max(...(r.auto?.candidates ?? []).map((c) => c.silhouette)), 'silhouette alone would pick 2');
    assert.ok((two?.silhouette ?? 1) < STRONG_SILHOUETTE);
    const range = autoKRange(2000);
    const { median } = sizeSummary(sizesOf(r.labels, r.k));
    assert.ok(r.k >= 20 && r.k <= range.maxK, `k ${r.k}`);
    assert.ok(median >= range.minSize && median <= range.maxSize * 1.25, `median ${median}`);
  });

  test('uniform noise: a browsable k, the same for the same seed', () => {
    const matrix = uniform(1500, 8, 3);
    const a = clusterKMeans(matrix, { k: 'auto', seed: 7 });
    const b = clusterKMeans(matrix, { k: 'auto', seed: 7 });
    assert.deepEqual(a.labels, b.labels);
    assert.equal(a.auto?.reason, 'browsable');
    const range = autoKRange(1500);
    const sizes = sizesOf(a.labels, a.k);
    const { median, min } = sizeSummary(sizes);
    assert.ok(a.k >= 10 && a.k <= range.maxK, `k ${a.k}`);
    assert.ok(median >= range.minSize && median <= range.maxSize * 1.25, `median ${median}`);
    assert.ok(min >= 5, `smallest cluster ${min}`);
  });

  test('mini-batch path (maps above the sample): 40 blobs of 100 and uniform noise', () => {
    const { matrix, labels } = blobs(40, 100, 10, 3, 13);
    const a = miniBatchKMeans(matrix.data, matrix.rows, matrix.dim, { k: 'auto', seed: 2 });
    assert.ok(Math.abs(a.k - 40) <= 2, `k ${a.k}`);
    const nmi = normalisedMutualInformation(Array.from(a.labels), labels);
    assert.ok(nmi > 0.95, `NMI ${nmi.toFixed(3)}`);
    assert.deepEqual(miniBatchKMeans(matrix.data, matrix.rows, matrix.dim, { k: 'auto', seed: 2 }).labels, a.labels);

    const noise = uniform(20_000, 8, 5);
    const steps: number[] = [];
    const r = miniBatchKMeans(noise.data, noise.rows, noise.dim, { k: 'auto', seed: 3, onProgress: (done) => steps.push(done) });
    const range = autoKRange(20_000);
    const { median } = sizeSummary(sizesOf(r.labels, r.k));
    assert.ok(r.k >= 20 && r.k <= range.maxK, `k ${r.k}`);
    assert.ok(median >= range.minSize && median <= range.maxSize * 1.25, `median ${median}`);
    assert.deepEqual(steps, [1, 2, 3, 4]);
  });

  test('a given k is used as it is', () => {
    const matrix = uniform(500, 4, 9);
    assert.equal(clusterKMeans(matrix, { k: 2, seed: 1 }).k, 2);
    assert.equal(clusterKMeans(matrix, { k: 2, seed: 1 }).auto, undefined);
    assert.equal(miniBatchKMeans(matrix.data, 500, 4, { k: 3, seed: 1 }).k, 3);
  });
});
