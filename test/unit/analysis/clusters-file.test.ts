import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clustersFileSchema, clustersJsonText } from '../../../shared/analysis/clusters-file.js';

test('clusters.json text built in slices is exactly JSON.stringify of the file (escaped keys, several slices, no points)', async () => {
  const points = Array.from({ length: 45_000 }, (_, i) => ({ key: i % 7 === 0 ? `dir "${i}"\\\\é/ñ.jpg` : `img/${i}.png`, x: i / 3, y: -i * 1e-7, label: i % 5 }));
  const head = { version: 1 as const, modelId: 'm', collection: 'c', count: points.length, k: 5, silhouette: 0.25, explainedVariance: 0.5 };
  const text = await clustersJsonText(head, points);
  assert.equal(text, JSON.stringify({ ...head, points: Object.fromEntries(points.map((p) => [p.key, { x: p.x, y: p.y, label: p.label }])) }));
  assert.equal(Object.keys(clustersFileSchema.parse(JSON.parse(text)).points).length, points.length);
  const empty = { modelId: 'm', k: 0 };
  assert.equal(await clustersJsonText(empty, []), JSON.stringify({ ...empty, points: {} }));
});
