// The web app's hash routes (web/src/route.ts): what a link writes, the page reads back —
// keys with '/', '#', '?', '%', '&', spaces and non-ASCII included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { href, parseHash } from '../../../web/src/route.js';

test('a search link round-trips any key and the filters', () => {
  for (const key of ['a/b.jpg', 'x#1?.png', '100% & more/é t.jpg', 'q=1&k=2.gif', '../odd']) {
    const link = href('search', ['photos'], { key, k: 20, cluster: 0, prefix: '', rerank: true });
    assert.ok(link.startsWith('#/search/photos?'), link);
    assert.equal(link.indexOf('#', 1), -1, `one '#' in ${link}`);
    const route = parseHash(link);
    assert.equal(route.page, 'search');
    assert.deepEqual(route.args, ['photos']);
    assert.equal(route.query.get('key'), key);
    assert.equal(route.query.get('k'), '20');
    assert.equal(route.query.get('cluster'), '0', 'cluster 0 is kept (not an empty value)');
    assert.equal(route.query.has('prefix'), false, 'empty values are left out');
    assert.equal(route.query.get('rerank'), '1');
  }
});

test('pages, arguments and the empty route', () => {
  assert.equal(href('datasets'), '#/datasets');
  assert.equal(href('map', [undefined]), '#/map');
  assert.equal(href('search', ['photos'], { rerank: false }), '#/search/photos');
  assert.deepEqual(parseHash('#/runs/mx6k2q8s-a4fcc7'), { page: 'runs', args: ['mx6k2q8s-a4fcc7'], query: new URLSearchParams() });
  assert.equal(parseHash('').page, '');
  assert.equal(parseHash('#/').page, '');
  assert.equal(parseHash('#/map/').args.length, 0);
  assert.deepEqual(parseHash('#/runs/%E0%A4%A').args, ['%E0%A4%A'], 'a malformed escape is kept as written');
});
