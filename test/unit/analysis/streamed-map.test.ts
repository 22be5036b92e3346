// The map of more points than its sample: held-out points are placed among their own
// cluster, every point is labelled, and — through clusterIndex, the stage both drivers
// run — the result does not depend on the order the index yields its points.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clusterIndex, type ClusterProgress } from '../../../pipelines/cluster.js';
import { sampleIndices } from '../../../shared/analysis/rng.js';
import { StreamedMap } from '../../../shared/analysis/streamed-map.js';
import { createRng, shuffled } from '../../../shared/random.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import { adjustedRandIndex, makeBlobs } from './blobs.js';
import { arrayIndex } from './scan-index.js';

const dim = 64;
const { matrix, labels } = makeBlobs([400, 300, 300, 200], dim, 5, 21);
const n = matrix.rows;
const unit = new Float32Array(matrix.data.length);
for (let i = 0; i < n; i++) {
  const row = matrix.data.subarray(i * dim, (i + 1) * dim);
  const norm = Math.hypot(...row);
  for (let j = 0; j < dim; j++) unit[i * dim + j] = (row[j] as number) / norm;
}

describe('StreamedMap', () => {
  test('places held-out points among their own cluster and labels every point', () => {
    const sampleRanks = Int32Array.from(sampleIndices(n, 300, createRng(4)));
    const sample = new Float32Array(300 * dim);
    sampleRanks.forEach((r, i) => sample.set(unit.subarray(r * dim, (r + 1) * dim), i * dim));
    const map = new StreamedMap(n, dim, sampleRanks, sample, { pcaComponents: 20, perplexity: 30, iterations: 500, clusters: 'auto', seed: 3, exactBelow: 0 });
    for (let r0 = 0; r0 < n; r0 += 128) {
      const rows = Math.min(128, n - r0);
      map.add(unit.slice(r0 * dim, (r0 + rows) * dim), Int32Array.from({ length: rows }, (_, i) => r0 + i));
    }
    const result = map.finish();
    assert.equal(result.k, 4);
    assert.ok(adjustedRandIndex(Array.from(result.labels), labels) > 0.98);
    // Each placed point's nearest sample point on the map shares its true label.
    const inSample = new Set(sampleRanks);
    let same = 0;
    let placed = 0;
    for (let i = 0; i < n; i++) {
      if (inSample.has(i)) continue;
      placed++;
      let best = -1;
      let bestD = Infinity;
      for (const j of sampleRanks) {
        const d = ((result.coords[2 * i] as number) - (result.coords[2 * j] as number)) ** 2 + ((result.coords[2 * i + 1] as number) - (result.coords[2 * j + 1] as number)) ** 2;
        if (d < bestD) {
          bestD = d;
          best = j;
        }
      }
      if (labels[best] === labels[i]) same++;
    }
    assert.ok(same / placed > 0.97, `${same} of ${placed} placed beside their own cluster`);
  });
});

describe('clusterIndex above the map sample', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-streamed-map-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('streams the index: the same clusters.json in any scan order', async () => {
    const keys = Array.from({ length: n }, (_, i) => `img/${String(i).padStart(5, '0')}.jpg`);
    const settings = { pcaComponents: 20, perplexity: 20, tsneIterations: 250, clusters: 'auto' as const, seed: 5, mapSample: 300 };
    const files: string[] = [];
    const phases = new Set<string>();
    for (const [name, order] of [
      ['ascending', undefined],
      ['shuffled', shuffled(keys.map((_, i) => i), createRng(9))],
    ] as const) {
      const out = new LocalStorage(path.join(dir, name));
      const index = arrayIndex(keys, matrix.data, dim, order);
      const result = await clusterIndex({ index, out, modelId: 'm', settings, title: 't', onProgress: (p: ClusterProgress) => phases.add(p.phase) });
      assert.ok(result);
      assert.equal(result.points.length, n);
      assert.equal(index.clustered, n);
      assert.ok(adjustedRandIndex(result.points.map((p) => p.label), labels) > 0.98);
      files.push(await readFile(path.join(dir, name, 'clusters.json'), 'utf8'));
    }
    assert.equal(files[0], files[1]);
    assert.deepEqual([...phases], ['read', 'pca', 'project', 'knn', 'tsne', 'place', 'kmeans', 'done']);
  });
});
