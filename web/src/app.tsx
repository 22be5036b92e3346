// The shell: GET /v1/app (mode, pages), the nav of the pages it lists, hash routing.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type AppInfo, type Page } from './api.js';
import { ErrorLine, Loading } from './components/status.js';
import { useAsync } from './hooks.js';
import { href, navigate, useRoute, type Route } from './router.js';
import { DatasetsPage } from './pages/datasets.js';
import { RunPage, RunsPage } from './pages/runs.js';
import { SearchPage } from './pages/search.js';
import { DuplicatesPage } from './pages/duplicates.js';
import type { MapPageProps } from './pages/map.js';

const TITLES: Record<Page, string> = { datasets: 'Datasets', runs: 'Runs', search: 'Search', map: 'Map', duplicates: 'Duplicates' };

export function App() {
  const info = useAsync((signal) => api.app(signal), []);
  const route = useRoute();
  const first = info.data?.pages[0];
  useEffect(() => {
    if (route.page === '' && first) navigate(href(first), true);
  }, [route.page, first]);

  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          imgsim
        </a>
        {info.data && (
          <nav data-testid="nav">
            {info.data.pages.map((p) => (
              <a key={p} href={href(p, pageDataset(p, route))} class={route.page === p ? 'active' : ''} data-testid={`nav-${p}`}>
                {TITLES[p]}
              </a>
            ))}
          </nav>
        )}
        {info.data && (
          <span class="mode" data-testid="mode" data-mode={info.data.mode} title={`imgsim ${info.data.version}`}>
            {info.data.mode === 'local' ? 'local index' : 'queued'}
          </span>
        )}
      </header>
      <main>{info.error ? <ErrorLine error={info.error} /> : !info.data ? <Loading /> : <Routed info={info.data} route={route} />}</main>
    </>
  );
}

/** The nav keeps the dataset open on another dataset page (search → map of the same one). */
function pageDataset(page: Page, route: Route): string[] {
  const withDataset: string[] = ['search', 'map', 'duplicates'];
  return withDataset.includes(page) && withDataset.includes(route.page) && route.args[0] ? [route.args[0]] : [];
}

function Routed({ info, route }: { info: AppInfo; route: Route }) {
  const page = route.page as Page;
  if (route.page === '') return <Loading />;
  if (!info.pages.includes(page)) {
    return <ErrorLine error={new Error(`no page "${route.page}" here; this server has ${info.pages.map((p) => TITLES[p]).join(', ')}`)} />;
  }
  const dataset = route.args[0];
  switch (page) {
    case 'datasets':
      return <DatasetsPage info={info} />;
    case 'runs':
      return dataset ? <RunPage id={dataset} /> : <RunsPage />;
    case 'search':
      return <SearchPage dataset={dataset} query={route.query} />;
    case 'map':
      return <LazyMap dataset={dataset} />;
    case 'duplicates':
      return <DuplicatesPage info={info} dataset={dataset} />;
  }
}

/** The map page (regl-scatterplot, most of the bundle) is loaded when first opened. */
function LazyMap(props: MapPageProps) {
  const [Page, setPage] = useState<ComponentType<MapPageProps> | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    import('./pages/map.js').then(
      (m) => setPage(() => m.MapPage),
      (e: unknown) => setError(e),
    );
  }, []);
  if (error) return <ErrorLine error={error} prefix="the map could not be loaded" />;
  return Page ? <Page {...props} /> : <Loading what="Loading the map" />;
}
