// Datasets: each dataset's model, live collection and point count, with links to its
// pages. Local mode (imgsim serve --index): the one dataset and every fact of its index.
import { api, type AppInfo, type DatasetRecord } from '../api.js';
import { ErrorLine, Loading, Note } from '../components/status.js';
import { fmtInt, fmtTime } from '../format.js';
import { useAsync } from '../hooks.js';
import { href } from '../router.js';

export function DatasetsPage({ info }: { info: AppInfo }) {
  const list = useAsync((signal) => api.datasets(signal), []);
  return (
    <section data-testid="page-datasets">
      <h1>{info.mode === 'local' ? 'Index' : 'Datasets'}</h1>
      {list.error ? (
        <ErrorLine error={list.error} />
      ) : !list.data ? (
        <Loading what="Loading datasets" />
      ) : list.data.datasets.length === 0 ? (
        <Note testid="no-datasets">No dataset yet. Index a folder or bucket with imgsim enqueue --source … --dataset …, then it shows here.</Note>
      ) : info.mode === 'local' ? (
        list.data.datasets.map((d) => <LocalFacts key={d.name} record={d} info={info} />)
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>Dataset</th>
              <th>Model</th>
              <th>Live collection</th>
              <th class="num">Points</th>
              <th>Updated</th>
              <th>Open</th>
            </tr>
          </thead>
          <tbody>
            {list.data.datasets.map((d) => (
              <DatasetRow key={d.name} record={d} info={info} />
            ))}
          </tbody>
        </table>
      )}
      {info.mode === 'queued' && info.pages.includes('runs') && (
        <p>
          <a href={href('runs')}>Runs and schedules →</a>
        </p>
      )}
    </section>
  );
}

function Links({ info, name }: { info: AppInfo; name: string }) {
  const pages = (['search', 'map', 'duplicates'] as const).filter((p) => info.pages.includes(p));
  return (
    <span class="links">
      {pages.map((p) => (
        <a key={p} href={href(p, [name])} data-testid={`dataset-${p}`}>
          {p}
        </a>
      ))}
    </span>
  );
}

function DatasetRow({ record, info }: { record: DatasetRecord; info: AppInfo }) {
  const detail = useAsync((signal) => api.dataset(record.name, signal), [record.name]);
  return (
    <tr data-testid="dataset-row" data-dataset={record.name}>
      <td>
        <strong>{record.name}</strong>
        <div class="sub" title="source">
          {record.source}
        </div>
      </td>
      <td class="mono">{record.modelId}</td>
      <td class="mono" title={`alias ${record.alias}`}>
        {record.collection}
      </td>
      <td class="num" data-testid="dataset-points">
        {detail.error ? <span class="error-inline" title={String((detail.error as Error).message)}>?</span> : detail.data ? fmtInt(detail.data.points) : '…'}
      </td>
      <td>{fmtTime(record.updatedAt)}</td>
      <td>
        <Links info={info} name={record.name} />
      </td>
    </tr>
  );
}

const LABELS: Record<string, string> = {
  name: 'Dataset',
  source: 'Images',
  modelId: 'Model',
  collection: 'Index folder',
  alias: 'Name in URLs',
  updatedAt: 'Built',
  points: 'Points',
};

function LocalFacts({ record, info }: { record: DatasetRecord; info: AppInfo }) {
  const detail = useAsync((signal) => api.dataset(record.name, signal), [record.name]);
  const facts: Record<string, unknown> = { ...record, ...(detail.data ?? {}) };
  return (
    <div class="card" data-testid="dataset-row" data-dataset={record.name}>
      <h2>
        {record.name} <Links info={info} name={record.name} />
      </h2>
      {detail.error && <ErrorLine error={detail.error} />}
      <dl class="facts" data-testid="dataset-facts">
        {Object.entries(facts)
          .filter(([, v]) => v !== null && ['string', 'number', 'boolean'].includes(typeof v))
          .map(([k, v]) => (
            <div key={k}>
              <dt>{LABELS[k] ?? k}</dt>
              <dd class={k === 'points' ? 'num' : 'mono'} data-testid={k === 'points' ? 'dataset-points' : undefined}>
                {typeof v === 'number' ? fmtInt(v) : k.endsWith('At') && typeof v === 'string' ? fmtTime(v) : String(v)}
              </dd>
            </div>
          ))}
      </dl>
    </div>
  );
}
