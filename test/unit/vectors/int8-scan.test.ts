// The int8 WebAssembly SIMD scan of large FlatIndexes: the hand-encoded kernel computes
// the same integer dot products as a JS loop, its approximate cosines are close to the
// exact ones, and a FlatIndex on the large-index path (int8 candidates, exact re-rank)
// answers as brute force does, with exclusions, filters and after changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../../shared/random.js';
import { FlatIndex } from '../../../shared/vectors/flat-index.js';
import { Int8Scanner, int8ScanAvailable } from '../../../shared/vectors/int8-scan.js';

const skip = int8ScanAvailable() ? false : 'WebAssembly SIMD is not available';

function clustered(n: number, d: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const centres = Float32Array.from({ length: 8 * d }, () => (rng() - 0.5) * 4);
  return Float32Array.from({ length: n * d }, (_, i) => (centres[(Math.floor(i / d) % 8) * d + (i % d)] as number) + rng() - 0.5);
}

function exactCosines(data: Float32Array, d: number, q: Float32Array): number[] {
  const out: number[] = [];
  let qq = 0;
  for (let j = 0; j < d; j++) qq += (q[j] as number) ** 2;
  for (let r = 0; r < data.length / d; r++) {
    let dot = 0;
    let xx = 0;
    for (let j = 0; j < d; j++) {
      dot += (q[j] as number) * (data[r * d + j] as number);
      xx += (data[r * d + j] as number) ** 2;
    }
    out.push(dot / Math.sqrt(qq * xx));
  }
  return out;
}

test('int8 scan: approximate cosines within 0.02 of the exact ones (odd dimension, padded to 16)', { skip }, () => {
  const d = 37;
  const n = 300;
  const data = clustered(n, d, 1);
  const norms = Float32Array.from({ length: n }, (_, r) => Math.hypot(...data.subarray(r * d, (r + 1) * d)));
  const scanner = Int8Scanner.build(data, n, d, norms);
  const q = data.slice(5 * d, 6 * d).map((x, j) => x + Math.sin(j));
  const approx = Array.from(scanner.scores(q));
  const exact = exactCosines(data, d, q);
  const worst = Math.max(...approx.map((a, i) => Math.abs(a - (exact[i] as number))));
  assert.ok(worst < 0.02, `worst error ${worst}`);
  const zero = Int8Scanner.build(new Float32Array(2 * d), 2, d, new Float32Array(2));
  assert.deepEqual(Array.from(zero.scores(q)), [0, 0]);
});

test('FlatIndex on the large-index path: the brute-force answer, exclusions, filters, and changes seen', { skip }, async () => {
  const d = 64;
  const n = 2000;
  const data = clustered(n, d, 2);
  const keys = Array.from({ length: n }, (_, i) => `${i % 2 === 0 ? 'even' : 'odd'}/${i}`);
  const index = FlatIndex.fromMatrix(keys, data, d);
  index.largeFrom = 0;
  const rng = createRng(3);
  for (let t = 0; t < 5; t++) {
    const q = Float32Array.from({ length: d }, (_, j) => (data[Math.floor(rng() * n) * d + j] as number) + (rng() - 0.5) * 0.3);
    const want = index.searchSync(q, { k: 10 });
    assert.deepEqual(await index.search(q, { k: 10 }), want);
    const excludeKeys = new Set(want.slice(0, 2).map((h) => h.key));
    assert.deepEqual(await index.search(q, { k: 5, excludeKeys }), index.searchSync(q, { k: 5, excludeKeys }));
    const filter = { keyPrefix: 'odd' };
    assert.deepEqual(await index.search(q, { k: 5, filter }), index.searchSync(q, { k: 5, filter }));
  }
  const q = data.slice(0, d);
  await index.upsert([{ key: 'new', vector: q.slice() }]);
  assert.equal((await index.search(q, { k: 1, excludeKeys: new Set(['even/0']) }))[0]?.key, 'new', 'an upsert drops the int8 copy');
  await index.remove(['new', 'even/0']);
  const after = await index.search(q, { k: 3 });
  assert.ok(!after.some((h) => h.key === 'new' || h.key === 'even/0'));
  assert.deepEqual(after, index.searchSync(q, { k: 3 }));
});
