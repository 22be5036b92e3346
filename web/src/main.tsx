// imgsim web app (issue 14): Preact + TypeScript, bundled by esbuild (infra/scripts/build-web.ts)
// into dist/web/, served by `imgsim serve` at /. docs/web.md describes the pages.
//
// Stable data-testid attributes (the browser tests and screenshots rely on them):
//   app shell     nav, nav-<page> (datasets | runs | search | map | duplicates), page-<page>,
//                 mode (the server's mode: queued | local, in data-mode), error, loading
//   datasets      dataset-row (data-dataset), dataset-points, dataset-facts (local mode)
//   runs          run-row (data-run), run-progress (data-done/-failed/-total), run-throughput,
//                 run-eta, run-status, schedule-row
//   run page      run-progress, failure-row, failure-reason, failures-next, failures-prev,
//                 retry-failed, retry-result
//   search        dataset-select, file-input, drop-zone, query-image, search-k, filter-cluster,
//                 filter-prefix, rerank-toggle, search-warning, results (the grid),
//                 result-item (data-key, data-rank), result-score, result-inliers
//   map           map-canvas, map-colour-mode (select: regions | labels), map-legend,
//                 legend-entry (data-cluster), legend-explainer, map-tooltip, lasso-toggle,
//                 selection (the grid), selection-item (data-key), selection-count, map-stats
//                 window.__imgsimMap.measureFrames(n) → { msPerFrame, p95, max, points }
//   duplicates    tier-filter, duplicate-group (data-tier), group-member (data-key, data-keeper),
//                 pair-row (data-a, data-b), dismiss (button), no-report, find-duplicates,
//                 pass-status, duplicates-next, duplicates-prev
//   thumbnails    thumb-link (data-key): any image; clicking it opens #/search/<dataset>?key=<key>
import { render } from 'preact';
import '../styles.css';
import { App } from './app.js';

const root = document.getElementById('app');
if (root) {
  root.textContent = ''; // index.html's "Loading…" (Preact 11 renders beside existing children)
  render(<App />, root);
}
