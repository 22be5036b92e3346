// Thumbnails (GET /v1/datasets/{name}/thumbnail, fetched by <img> with the page's
// credentials): one image, and a grid of them. Clicking an image searches from it.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { thumbnailUrl } from '../api.js';
import { searchHref } from '../router.js';

export const THUMB_SIZE = 160;

export function Thumb({ dataset, keyName, size = THUMB_SIZE, link = true }: { dataset: string; keyName: string; size?: number; link?: boolean }) {
  const [failed, setFailed] = useState(false);
  const img = failed ? (
    <span class="thumb-missing" style={{ width: `${size}px`, height: `${size}px` }} title={`no thumbnail for ${keyName}`}>
      no thumbnail
    </span>
  ) : (
    <img
      class="thumb"
      src={thumbnailUrl(dataset, keyName, size)}
      alt={keyName}
      title={keyName}
      loading="lazy"
      decoding="async"
      width={size}
      height={size}
      onError={() => setFailed(true)}
    />
  );
  return link ? (
    <a class="thumb-link" href={searchHref(dataset, keyName)} data-testid="thumb-link" data-key={keyName} title={`search from ${keyName}`}>
      {img}
    </a>
  ) : (
    img
  );
}

export interface GridItem {
  key: string;
  /** Caption lines under the thumbnail. */
  caption?: ComponentChildren;
  marked?: boolean;
  /** Extra data-* attributes of the cell, e.g. { rank: 1 } → data-rank="1". */
  data?: Record<string, string | number>;
}

/** A grid of thumbnails; `testid` names the grid, `itemTestid` each cell (with data-key). */
export function ThumbGrid({ dataset, items, testid, itemTestid }: { dataset: string; items: GridItem[]; testid: string; itemTestid: string }) {
  return (
    <ul class="grid" data-testid={testid}>
      {items.map((item) => (
        <li
          key={item.key}
          class={item.marked ? 'cell marked' : 'cell'}
          data-testid={itemTestid}
          data-key={item.key}
          {...Object.fromEntries(Object.entries(item.data ?? {}).map(([k, v]) => [`data-${k}`, String(v)]))}
        >
          <Thumb dataset={dataset} keyName={item.key} />
          <div class="caption">
            <span class="key" title={item.key}>
              {item.key}
            </span>
            {item.caption}
          </div>
        </li>
      ))}
    </ul>
  );
}
