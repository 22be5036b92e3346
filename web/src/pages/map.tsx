// Map: the dataset's t-SNE map (GET …/clusters) drawn by regl-scatterplot (WebGL: one
// buffer of points, pan/zoom by the camera, hover and lasso on a spatial index — no DOM
// per point, typed arrays throughout). Loaded lazily (app.tsx): this module and
// regl-scatterplot are their own chunk.
//
// Colour agrees with position by default: "map regions" are a k-means on the map's own
// 2-D coordinates (map/kmeans.ts, k = the file's k), so a colour is one area; a toggle
// shows the stored "embedding clusters" instead (k-means on the PCA of the embeddings, the
// labels the search cluster filter uses, which t-SNE can split into several areas). The
// legend says in one line which of the two the colours are.
//
// Hover shows the point's thumbnail; a click opens its neighbours (the search page by
// key); a lasso (shift-drag, or the lasso mode) or a legend entry lists the images as a
// thumbnail grid (the first 200, with the count). window.__imgsimMap lets a browser test
// find points on screen and measure frame time while zooming.
import createScatterplot from 'regl-scatterplot';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, thumbnailUrl } from '../api.js';
import { DatasetPicker } from '../components/dataset-picker.js';
import { ErrorLine, Loading } from '../components/status.js';
import { ThumbGrid } from '../components/thumbs.js';
import { fmtInt } from '../format.js';
import { useAsync } from '../hooks.js';
import { mapRegions, type Regions } from '../map/kmeans.js';
import { palette } from '../map/palette.js';
import { navigate, searchHref } from '../router.js';

export interface MapPageProps {
  dataset: string | undefined;
}

type ColourMode = 'regions' | 'labels';
type Scatterplot = ReturnType<typeof createScatterplot>;

/** Thumbnails listed for a selection; the count says how many there are in all. */
const GRID_CAP = 200;
const TOOLTIP_SIZE = 128;

interface MapData {
  keys: string[];
  /** Normalised to [-1, 1] on the longer axis (regl-scatterplot's default space), aspect kept. */
  x: Float32Array;
  y: Float32Array;
  labels: Int32Array;
  labelSizes: Int32Array;
  regions: Regions;
  k: number;
  colours: string[];
  silhouette: number | undefined;
  regionsMs: number;
}

async function loadMap(dataset: string, signal: AbortSignal): Promise<MapData> {
  const file = await api.clusters(dataset, signal);
  const keys = Object.keys(file.points);
  const n = keys.length;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const labels = new Int32Array(n);
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  let maxLabel = 0;
  keys.forEach((key, i) => {
    const p = file.points[key];
    if (!p) return;
    x[i] = p.x;
    y[i] = p.y;
    labels[i] = p.label;
    if (p.x < minX) minX = p.x;
    if (p.x > maxX) maxX = p.x;
    if (p.y < minY) minY = p.y;
    if (p.y > maxY) maxY = p.y;
    if (p.label > maxLabel) maxLabel = p.label;
  });
  const scale = 1.9 / Math.max(maxX - minX, maxY - minY, 1e-9);
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  for (let i = 0; i < n; i++) {
    x[i] = ((x[i] as number) - cx) * scale;
    y[i] = ((y[i] as number) - cy) * scale;
  }
  const labelSizes = new Int32Array(maxLabel + 1);
  for (let i = 0; i < n; i++) labelSizes[labels[i] as number] = (labelSizes[labels[i] as number] as number) + 1;
  await new Promise((resolve) => setTimeout(resolve, 0)); // let "Computing map regions" paint
  const started = performance.now();
  const regions = mapRegions(x, y, file.k);
  const regionsMs = performance.now() - started;
  const k = file.k;
  return { keys, x, y, labels, labelSizes, regions, k, colours: palette(Math.max(k, maxLabel + 1, regions.sizes.length)), silhouette: file.silhouette, regionsMs };
}

export function MapPage({ dataset }: MapPageProps) {
  if (!dataset) {
    return (
      <section data-testid="page-map">
        <h1>Map</h1>
        <DatasetPicker page="map" current={undefined} />
      </section>
    );
  }
  return <MapLoader key={dataset} dataset={dataset} />;
}

function MapLoader({ dataset }: { dataset: string }) {
  const data = useAsync((signal) => loadMap(dataset, signal), [dataset]);
  return (
    <section data-testid="page-map" class="map-page">
      <h1>
        Map <DatasetPicker page="map" current={dataset} />
      </h1>
      {data.error ? (
        <>
          <ErrorLine error={data.error} />
          <p class="sub">The map is made after a dataset is indexed: queued datasets get it when their run finishes (the run's "map" status); a local index with imgsim cluster --index &lt;dir&gt;.</p>
        </>
      ) : !data.data ? (
        <Loading what="Loading the map and computing map regions" />
      ) : data.data.keys.length === 0 ? (
        <p class="note">The map has no points.</p>
      ) : (
        <MapView dataset={dataset} data={data.data} />
      )}
    </section>
  );
}

interface Selection {
  title: string;
  indices: number[];
}

interface FrameStats {
  /** The WebGL renderer (e.g. a GPU, or SwiftShader: software, where a frame costs ~100 ms whatever the point count). */
  webgl: string;
  frames: number;
  msPerFrame: number;
  p95: number;
  max: number;
  fps: number;
  points: number;
}

/** What a browser test can use (window.__imgsimMap). */
export interface MapTestHandle {
  points: number;
  colourMode: () => ColourMode;
  /** The key of point i. */
  keyOf: (i: number) => string | undefined;
  /** Point i's position in CSS pixels relative to the canvas (undefined when off screen). */
  screenPosition: (i: number) => [number, number] | undefined;
  /** Zoom in and back out over `frames` frames (one draw each); ms per frame. */
  measureFrames: (frames?: number) => Promise<FrameStats>;
}

declare global {
  interface Window {
    __imgsimMap?: MapTestHandle;
  }
}

/** The browser's WebGL renderer string (what a frame time was measured on). */
function webglRenderer(): string {
  const gl = document.createElement('canvas').getContext('webgl');
  if (!gl) return 'no WebGL';
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const name: unknown = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return typeof name === 'string' ? name : 'unknown';
}

function pointSize(n: number): number {
  if (n > 20_000) return 3;
  if (n > 5_000) return 4;
  if (n > 1_000) return 6;
  return 8;
}

function MapView({ dataset, data }: { dataset: string; data: MapData }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const wrapRef = useRef<HTMLDivElement>(null);
  const tipRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<Scatterplot | undefined>(undefined);
  const [mode, setMode] = useState<ColourMode>('regions');
  const modeRef = useRef(mode);
  modeRef.current = mode;
  const [lasso, setLasso] = useState(false);
  const [hover, setHover] = useState<number | undefined>(undefined);
  const [selection, setSelection] = useState<Selection | undefined>(undefined);
  const [ready, setReady] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const n = data.keys.length;

  useEffect(() => {
    const canvas = canvasRef.current;
    const wrap = wrapRef.current;
    if (!canvas || !wrap) return;
    let plot: Scatterplot;
    try {
      plot = createScatterplot({
        canvas,
        width: 'auto',
        height: 'auto',
        backgroundColor: '#ffffff',
        pointSize: pointSize(n),
        pointColor: data.colours,
        pointColorActive: '#000000',
        pointColorHover: '#000000',
        pointOutlineWidth: 2,
        opacity: n > 20_000 ? 0.8 : 1,
        colorBy: 'valueA',
        lassoColor: '#222222',
        lassoMinDelay: 10,
        lassoClearEvent: 'deselect',
      });
    } catch (error) {
      setFailure(error);
      return;
    }
    if (!plot.isSupported) setFailure(new Error('this browser cannot draw the map: WebGL with the needed extensions is not available'));
    plotRef.current = plot;
    let lassoing = false;
    plot.subscribe('lassoStart', () => {
      lassoing = true;
    });
    plot.subscribe('lassoEnd', () => {
      lassoing = false;
    });
    plot.subscribe('select', ({ points }) => {
      if (lassoing || points.length > 1) {
        setSelection(points.length > 0 ? { title: 'Lasso selection', indices: points } : undefined);
        return;
      }
      const key = points[0] !== undefined ? data.keys[points[0]] : undefined;
      if (key !== undefined) navigate(searchHref(dataset, key));
    });
    plot.subscribe('deselect', () => setSelection(undefined));
    plot.subscribe('pointOver', (i) => setHover(i));
    plot.subscribe('pointOut', () => setHover(undefined));
    const onMove = (e: MouseEvent): void => {
      const tip = tipRef.current;
      if (!tip) return;
      const box = wrap.getBoundingClientRect();
      const left = e.clientX - box.left + 14;
      const top = e.clientY - box.top + 14;
      tip.style.transform = `translate(${Math.min(left, box.width - TOOLTIP_SIZE - 24)}px, ${Math.min(top, box.height - TOOLTIP_SIZE - 48)}px)`;
    };
    wrap.addEventListener('mousemove', onMove);

    const points = { x: data.x, y: data.y, z: new Float32Array(data.regions.labels), w: new Float32Array(data.labels) };
    plot.draw(points, { zDataType: 'categorical', wDataType: 'categorical' }).then(
      () => setReady(true),
      (error: unknown) => setFailure(error),
    );

    window.__imgsimMap = {
      points: n,
      colourMode: () => modeRef.current,
      keyOf: (i) => data.keys[i],
      screenPosition: (i) => plot.getScreenPosition(i),
      measureFrames: async (frames = 60) => {
        const target = plot.get('cameraTarget');
        const distance = plot.get('cameraDistance');
        const times: number[] = [];
        let last = performance.now();
        for (let f = 1; f <= frames; f++) {
          const d = distance * (1 - 0.6 * Math.sin((Math.PI * f) / frames)); // in to 40 %, back out
          await plot.zoomToLocation(target, d, { transition: false });
          const now = performance.now();
          times.push(now - last);
          last = now;
        }
        const sorted = [...times].sort((a, b) => a - b);
        const mean = times.reduce((s, t) => s + t, 0) / Math.max(1, times.length);
        const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
        return { webgl: webglRenderer(), frames, msPerFrame: mean, p95: at(0.95), max: sorted[sorted.length - 1] ?? 0, fps: 1000 / mean, points: n };
      },
    };

    return () => {
      wrap.removeEventListener('mousemove', onMove);
      delete window.__imgsimMap;
      plotRef.current = undefined;
      plot.destroy();
    };
  }, [data, dataset, n]);

  useEffect(() => {
    void plotRef.current?.set({ colorBy: mode === 'regions' ? 'valueA' : 'valueB' });
  }, [mode]);
  useEffect(() => {
    void plotRef.current?.set({ mouseMode: lasso ? 'lasso' : 'panZoom' });
  }, [lasso]);

  const sizes = mode === 'regions' ? data.regions.sizes : data.labelSizes;
  const name = mode === 'regions' ? 'region' : 'cluster';
  const pointLabel = (i: number): number => (mode === 'regions' ? data.regions.labels[i] : data.labels[i]) ?? 0;
  const showCluster = (c: number): void => {
    const per = mode === 'regions' ? data.regions.labels : data.labels;
    const indices: number[] = [];
    for (let i = 0; i < per.length; i++) if (per[i] === c) indices.push(i);
    plotRef.current?.select(indices, { preventEvent: true });
    setSelection({ title: `${mode === 'regions' ? 'Map region' : 'Embedding cluster'} ${c}`, indices });
  };
  const gridItems = useMemo(
    () => (selection ? selection.indices.slice(0, GRID_CAP).map((i) => ({ key: data.keys[i] ?? '', caption: <span class="sub">{`${name} ${pointLabel(i)}`}</span> })) : []),
    [selection, data, mode],
  );
  const hoverKey = hover !== undefined ? data.keys[hover] : undefined;

  return (
    <>
      <div class="map-tools">
        <label class="picker">
          Colour by{' '}
          <select data-testid="map-colour-mode" value={mode} onChange={(e) => setMode((e.currentTarget).value as ColourMode)}>
            <option value="regions">map regions (k-means on the map)</option>
            <option value="labels">embedding clusters (search filter)</option>
          </select>
        </label>
        <label class="toggle" title="drag to draw a lasso around points (or hold shift while dragging in pan mode)">
          <input type="checkbox" checked={lasso} data-testid="lasso-toggle" onChange={(e) => setLasso((e.currentTarget).checked)} /> lasso select
        </label>
        <span class="sub" data-testid="map-stats" data-points={n} data-ready={ready ? 'true' : 'false'}>
          {fmtInt(n)} points · k = {data.k}
          {data.silhouette !== undefined ? ` · silhouette ${data.silhouette.toFixed(2)}` : ''} · regions in {Math.round(data.regionsMs)} ms · scroll to zoom, drag to pan, click a point
          for its neighbours
        </span>
      </div>
      {failure !== undefined && <ErrorLine error={failure} />}
      <div class="map-body">
        <div class="map-wrap" ref={wrapRef}>
          <canvas ref={canvasRef} data-testid="map-canvas" />
          <div class="map-tooltip" ref={tipRef} data-testid="map-tooltip" data-key={hoverKey} hidden={hoverKey === undefined}>
            {hoverKey !== undefined && hover !== undefined && (
              <>
                <img src={thumbnailUrl(dataset, hoverKey, TOOLTIP_SIZE)} alt={hoverKey} width={TOOLTIP_SIZE} height={TOOLTIP_SIZE} />
                <div class="key">{hoverKey}</div>
                <div class="sub">
                  {name} {pointLabel(hover)}
                </div>
              </>
            )}
          </div>
        </div>
        <aside class="legend" data-testid="map-legend">
          <p class="legend-explainer" data-testid="legend-explainer" data-mode={mode}>
            {mode === 'regions'
              ? `Colours are map regions: k-means (k = ${data.regions.sizes.length}) on the map's own positions, so each colour is one area. The search cluster filter uses embedding clusters instead.`
              : "Colours are embedding clusters: k-means on the embeddings (PCA), the labels the search cluster filter uses; t-SNE can place one cluster in several areas."}
          </p>
          <ul>
            {Array.from(sizes, (size, c) =>
              size === 0 ? null : (
                <li key={c}>
                  <button type="button" class="legend-entry" data-testid="legend-entry" data-cluster={c} onClick={() => showCluster(c)} title={`show the images of ${name} ${c}`}>
                    <span class="swatch" style={{ background: data.colours[c] }} />
                    {name} {c}
                    <span class="count">{fmtInt(size)}</span>
                  </button>
                </li>
              ),
            )}
          </ul>
        </aside>
      </div>
      {selection && (
        <div class="selection">
          <h2>
            {selection.title}{' '}
            <span class="count" data-testid="selection-count" data-count={selection.indices.length}>
              {fmtInt(selection.indices.length)} image{selection.indices.length === 1 ? '' : 's'}
              {selection.indices.length > GRID_CAP ? ` (the first ${GRID_CAP} shown)` : ''}
            </span>{' '}
            <button type="button" onClick={() => plotRef.current?.deselect()}>
              Clear
            </button>
          </h2>
          <ThumbGrid dataset={dataset} items={gridItems} testid="selection" itemTestid="selection-item" />
        </div>
      )}
    </>
  );
}
