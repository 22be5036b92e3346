// Paged lists whose length can shrink while a page is open ("not a duplicate" removes a
// group, "retry failed" empties the failure list): a page past the end shows nothing and,
// once the list fits on fewer pages, no pager either. No DOM: unit-tested under Node
// (test/unit/web/paging.test.ts).

/**
 * The offset to move to when `offset` is past the end of `total` items: the last page's
 * (0 when nothing is left); undefined when `offset` still shows something.
 */
export function offsetPastEnd(offset: number, total: number, perPage: number): number | undefined {
  if (offset === 0 || offset < total) return undefined;
  return Math.max(0, Math.floor((total - 1) / perPage) * perPage);
}
