// Clustering in a child process: the same result as in-process, and the caller's event
// loop keeps turning meanwhile (what BullMQ lock renewal and pooled sockets need).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterEmbeddings, type ClusterProgress } from '../../../shared/analysis/cluster-map.js';
import { clusterInSubprocess } from '../../../shared/analysis/cluster-subprocess.js';
import { UserError } from '../../../shared/errors.js';
import { makeBlobs } from './blobs.js';

describe('clusterInSubprocess', () => {
  test('gives the in-process result, reports progress, and leaves the event loop free', async () => {
    const dim = 64;
    const { matrix } = makeBlobs([300, 300, 300, 300], dim, 6, 3);
    const n = matrix.rows;
    const data = matrix.data;
    const keys = Array.from({ length: n }, (_, i) => `img/${i}.jpg`);
    const options = { pcaComponents: 20, perplexity: 30, iterations: 250, clusters: 4, seed: 7 } as const;

    const inline = clusterEmbeddings({ keys, dim, vectors: data }, options);

    const phases = new Set<string>();
    let ticks = 0;
    let worstGapMs = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worstGapMs = Math.max(worstGapMs, now - last);
      last = now;
      ticks++;
    }, 20);
    const started = performance.now();
    const inChild = await clusterInSubprocess({ keys, dim, vectors: data }, options, (p: ClusterProgress) => phases.add(p.phase));
    const seconds = (performance.now() - started) / 1000;
    clearInterval(timer);

    assert.equal(inChild.k, inline.k);
    assert.deepEqual(inChild.points, inline.points);
    assert.deepEqual([...phases], ['pca', 'tsne', 'kmeans', 'done']);
    // The loop turned all along: a 20 ms timer never waited for the clustering.
    assert.ok(ticks >= Math.floor((seconds * 1000) / 40), `${ticks} ticks in ${seconds.toFixed(1)} s`);
    assert.ok(worstGapMs < 1000, `event loop blocked for ${worstGapMs.toFixed(0)} ms`);
    assert.equal(data.length, n * dim, 'the caller keeps its vectors');
  });

  test('a UserError from the child process stays a UserError', async () => {
    await assert.rejects(
      clusterInSubprocess({ keys: ['a', 'b'], dim: 2, vectors: new Float32Array(4) }, { pcaComponents: 2, perplexity: 5, iterations: 250, clusters: 2, seed: 1 }),
      (e: unknown) => e instanceof UserError && /at least 3 images/.test(e.message),
    );
  });
});
