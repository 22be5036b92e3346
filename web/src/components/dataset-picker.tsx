// The dataset a page works on: the route's, or a choice among GET /v1/datasets (the only
// one is opened directly).
import { useEffect } from 'preact/hooks';
import { api } from '../api.js';
import { useAsync } from '../hooks.js';
import { href, navigate } from '../router.js';
import { ErrorLine, Loading, Note } from './status.js';

export function DatasetPicker({ page, current }: { page: string; current: string | undefined }) {
  const list = useAsync((signal) => api.datasets(signal), []);
  const only = list.data?.datasets.length === 1 ? list.data.datasets[0]?.name : undefined;
  useEffect(() => {
    if (current === undefined && only !== undefined) navigate(href(page, [only]), true);
  }, [current, only, page]);
  if (list.error) return <ErrorLine error={list.error} />;
  if (!list.data) return <Loading what="Loading datasets" />;
  const names = list.data.datasets.map((d) => d.name);
  if (names.length === 0) return <Note testid="no-datasets">No dataset yet: index one first (imgsim enqueue, or imgsim run on a folder).</Note>;
  return (
    <label class="picker">
      Dataset{' '}
      <select
        data-testid="dataset-select"
        value={current ?? ''}
        onChange={(e) => navigate(href(page, [(e.currentTarget).value]))}
      >
        {current === undefined && <option value="">choose…</option>}
        {names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}
