// Search: the k nearest neighbours of an indexed image (#/search/<dataset>?key=…, what
// clicking any image in the app opens) or of an uploaded one (drop or pick a file), as a
// thumbnail grid with rank and score; filters (embedding cluster, key prefix); a toggle
// re-ranks by local features (POST …/features: ORB matching of the AE candidates).
// The query lives in the URL (key, k, cluster, prefix, rerank), an upload in the page.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, type SearchQuery } from '../api.js';
import { DatasetPicker } from '../components/dataset-picker.js';
import { ErrorLine, Loading, Note } from '../components/status.js';
import { Thumb, ThumbGrid } from '../components/thumbs.js';
import { fmtBytes, fmtInt, fmtScore } from '../format.js';
import { useAsync } from '../hooks.js';
import { href, navigate } from '../router.js';

const DEFAULT_K = 20;
const MAX_K = 200;
/** POST …/features takes at most 100. */
const MAX_K_FEATURES = 100;

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '' || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/**
 * A re-ranked neighbour without a geometric fit: on the queued server its score counts
 * the ORB matches that passed the ratio test (docs/features.md), on a local index it is 0.
 */
function unverified(score: number): string {
  return score > 0 ? `${fmtInt(score)} ORB matches, no geometric fit` : 'no geometric match';
}

export function SearchPage({ dataset, query }: { dataset: string | undefined; query: URLSearchParams }) {
  const key = query.get('key') ?? undefined;
  const rerank = query.get('rerank') === '1';
  const k = Math.max(1, Math.min(intParam(query, 'k') ?? DEFAULT_K, rerank ? MAX_K_FEATURES : MAX_K)); // a hand-edited ?k=0 is 1, not the API's 400
  const cluster = intParam(query, 'cluster');
  const prefix = query.get('prefix') ?? '';
  const [upload, setUpload] = useState<{ file: File; url: string; seq: number } | undefined>(undefined);
  const [dragging, setDragging] = useState(false);

  // A key in the URL (a clicked image) replaces the uploaded query.
  useEffect(() => {
    if (key !== undefined) setUpload(undefined);
  }, [key]);
  useEffect(() => () => (upload ? URL.revokeObjectURL(upload.url) : undefined), [upload]);

  const params = { key, k, cluster, prefix, rerank };
  const go = (change: Partial<typeof params>, replace = false): void => {
    const next = { ...params, ...change };
    navigate(href('search', [dataset], { key: next.key, k: next.k === DEFAULT_K ? undefined : next.k, cluster: next.cluster, prefix: next.prefix, rerank: next.rerank }), replace);
  };
  const pick = (file: File | undefined): void => {
    if (!file) return;
    setUpload((old) => ({ file, url: URL.createObjectURL(file), seq: (old?.seq ?? 0) + 1 }));
    if (key !== undefined) go({ key: undefined });
  };

  const q: SearchQuery | undefined = key !== undefined ? { key } : upload ? { file: upload.file } : undefined;
  const result = useAsync(
    (signal) => {
      if (!dataset || !q) return Promise.resolve(undefined);
      return rerank ? api.features(dataset, q, k, signal) : api.search(dataset, q, k, { keyPrefix: prefix || undefined, cluster }, signal);
    },
    [dataset, key, upload?.seq, k, cluster, prefix, rerank],
  );

  if (!dataset) {
    return (
      <section data-testid="page-search">
        <h1>Search</h1>
        <DatasetPicker page="search" current={undefined} />
      </section>
    );
  }

  const data = result.data;
  return (
    <section data-testid="page-search">
      <h1>
        Search <DatasetPicker page="search" current={dataset} />
      </h1>
      <div class="search-top">
        <div
          class={dragging ? 'drop dragging' : 'drop'}
          data-testid="drop-zone"
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            pick(e.dataTransfer?.files[0]);
          }}
        >
          {key !== undefined ? (
            <div class="query" data-testid="query-image" data-key={key}>
              <Thumb dataset={dataset} keyName={key} size={240} link={false} />
              <div class="sub mono">{key}</div>
            </div>
          ) : upload ? (
            <div class="query" data-testid="query-image">
              <img src={upload.url} alt={upload.file.name} class="upload" />
              <div class="sub">
                {upload.file.name} · {fmtBytes(upload.file.size)}
              </div>
            </div>
          ) : (
            <p class="drop-hint">Drop an image here, pick a file, or click any image in the app.</p>
          )}
          <label class="button">
            Choose an image…
            <input
              type="file"
              accept="image/*"
              data-testid="file-input"
              onChange={(e) => {
                const input = e.currentTarget;
                pick(input.files?.[0]);
                input.value = '';
              }}
            />
          </label>
        </div>
        <SearchForm k={k} cluster={cluster} prefix={prefix} rerank={rerank} onApply={(change) => go(change, true)} />
      </div>

      {result.error ? (
        <ErrorLine error={result.error} />
      ) : !q ? null : result.loading && !data ? (
        <Loading what="Searching" />
      ) : data ? (
        <>
          {data.warning && (
            <p class="warning" data-testid="search-warning">
              {data.warning}
            </p>
          )}
          {data.fallback && <Note>The query has no ORB keypoints: these are the autoencoder's neighbours, not re-ranked.</Note>}
          <p class="sub" data-testid="result-summary">
            {fmtInt(data.neighbors.length)} neighbour{data.neighbors.length === 1 ? '' : 's'}
            {rerank ? ` re-ranked by local features (${data.method ?? 'match'}, ${fmtInt(data.queryKeypoints ?? 0)} query keypoints)` : ' by embedding cosine similarity'}
            {result.loading ? ' · updating…' : ''}
          </p>
          {data.neighbors.length === 0 ? (
            <Note testid="no-results">No neighbours{prefix || cluster !== undefined ? ' with these filters' : ''}.</Note>
          ) : (
            <ThumbGrid
              dataset={dataset}
              testid="results"
              itemTestid="result-item"
              items={data.neighbors.map((n) => ({
                key: n.key,
                data: { rank: n.rank },
                caption: (
                  <span class="score">
                    #{n.rank} ·{' '}
                    {rerank && (n.inliers ?? 0) > 0 ? (
                      <span data-testid="result-inliers">
                        <span data-testid="result-score">{n.inliers} inliers</span>
                      </span>
                    ) : (
                      <span data-testid="result-score">{rerank ? unverified(n.score) : fmtScore(n.score)}</span>
                    )}
                    {n.aeScore !== undefined && <span> · AE {fmtScore(n.aeScore)}</span>}
                    {n.cluster !== undefined && <span class="sub"> · cluster {n.cluster}</span>}
                  </span>
                ),
              }))}
            />
          )}
        </>
      ) : null}
    </section>
  );
}

function SearchForm(props: {
  k: number;
  cluster: number | undefined;
  prefix: string;
  rerank: boolean;
  onApply: (change: { k?: number; cluster?: number | undefined; prefix?: string; rerank?: boolean }) => void;
}) {
  const [k, setK] = useState(String(props.k));
  const [cluster, setCluster] = useState(props.cluster === undefined ? '' : String(props.cluster));
  const [prefix, setPrefix] = useState(props.prefix);
  // The URL is the truth: follow it when it changes (back/forward, a clicked image).
  useEffect(() => setK(String(props.k)), [props.k]);
  useEffect(() => setCluster(props.cluster === undefined ? '' : String(props.cluster)), [props.cluster]);
  useEffect(() => setPrefix(props.prefix), [props.prefix]);
  const invalid = useMemo(() => {
    if (!/^\d+$/.test(k) || Number(k) < 1) return 'k: a whole number from 1';
    if (cluster !== '' && !/^\d+$/.test(cluster)) return 'cluster: a cluster number (0, 1, …) or empty for any';
    return undefined;
  }, [k, cluster]);
  const max = props.rerank ? MAX_K_FEATURES : MAX_K;
  return (
    <form
      class="search-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (invalid) return;
        props.onApply({ k: Math.min(Number(k), max), cluster: cluster === '' ? undefined : Number(cluster), prefix });
      }}
    >
      <label>
        k <input type="number" min={1} max={max} value={k} data-testid="search-k" onInput={(e) => setK((e.currentTarget).value)} />
      </label>
      <label title="only images of this embedding cluster (the labels the map shows as 'embedding clusters')">
        cluster{' '}
        <input
          type="number"
          min={0}
          placeholder="any"
          value={cluster}
          disabled={props.rerank}
          data-testid="filter-cluster"
          onInput={(e) => setCluster((e.currentTarget).value)}
        />
      </label>
      <label title="only keys starting with this, e.g. photos/2024/">
        key prefix{' '}
        <input type="text" placeholder="any" value={prefix} disabled={props.rerank} data-testid="filter-prefix" onInput={(e) => setPrefix((e.currentTarget).value)} />
      </label>
      <button type="submit" disabled={invalid !== undefined}>
        Apply
      </button>
      <label class="toggle" title="re-rank the autoencoder's candidates by ORB keypoint matching (finds edited copies: crops, rotations); filters do not apply">
        <input type="checkbox" checked={props.rerank} data-testid="rerank-toggle" onChange={(e) => props.onApply({ rerank: (e.currentTarget).checked })} /> re-rank by local
        features
      </label>
      {invalid && <span class="error-inline">{invalid}</span>}
    </form>
  );
}
