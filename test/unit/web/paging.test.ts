// web/src/paging.ts: a page left past the end of a list that shrank goes to the last page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offsetPastEnd } from '../../../web/src/paging.js';

test('a page past the end of a shrunken list moves to its last page; a page that still shows something stays', () => {
  assert.equal(offsetPastEnd(0, 0, 10), undefined, 'the first page stays, empty or not');
  assert.equal(offsetPastEnd(10, 11, 10), undefined, 'one item left on page 2');
  assert.equal(offsetPastEnd(10, 10, 10), 0, 'the 11th group dismissed: back to page 1 (no pager is shown for 10)');
  assert.equal(offsetPastEnd(20, 15, 10), 10);
  assert.equal(offsetPastEnd(50, 0, 50), 0, 'every failure retried');
  assert.equal(offsetPastEnd(100, 51, 50), 50);
});
