// Typed client of the /v1 API the app uses (docs/web.md; the server's shapes are the zod
// schemas of workers/server/schemas.ts — these types mirror the fields the app reads).
// Same-origin fetches: the browser sends the basic-auth credentials it prompted for with
// the page. Every failure becomes an ApiError whose message is one line: the API's own
// `message` (a 400's first invalid field), "authentication required" for a 401 that still
// came back, or what went wrong with the connection.

export type Page = 'datasets' | 'runs' | 'search' | 'map' | 'duplicates';
export type Tier = 'exact' | 'perceptual' | 'verified' | 'learned';
export const TIERS: readonly Tier[] = ['exact', 'perceptual', 'verified', 'learned'];

export interface AppInfo {
  mode: 'queued' | 'local';
  version: string;
  pages: Page[];
  thumbnailSizes: { default: number; max: number };
}

export interface DatasetRecord {
  name: string;
  source: string;
  modelId: string;
  collection: string;
  alias: string;
  updatedAt: string;
}
export type Dataset = DatasetRecord & { points: number } & Record<string, unknown>;

export interface MapState {
  status: 'pending' | 'running' | 'done' | 'failed';
  phase?: string;
  done?: number;
  total?: number;
  k?: number;
  points?: number;
  error?: string;
  updatedAt: string;
}

export type RunStatus = 'queued' | 'listing' | 'training' | 'embedding' | 'publishing' | 'clustering' | 'completed' | 'failed';
export interface Run {
  id: string;
  dataset: string;
  source: string;
  modelId?: string;
  task?: string;
  collection?: string;
  status: RunStatus;
  total: number;
  done: number;
  failed: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  heldBack?: string;
  map?: MapState;
  imagesPerSecond?: number;
  etaSeconds?: number;
}
export interface ItemFailure {
  key: string;
  reason: string;
  message: string;
  at: string;
}
export interface RunDetail {
  run: Run;
  failures: {
    total: number;
    offset: number;
    limit: number;
    items: ItemFailure[];
    summary: { badInput: number; other: Record<string, number>; otherTotal: number };
  };
}

export interface Schedule {
  schedule: string;
  job?: 'run' | 'duplicates';
  dataset: string;
  source?: string;
  mode: 'all' | 'missing';
  modelId?: string;
  cron: string;
  tz?: string;
  next?: string;
  iterations?: number;
}

export interface Neighbor {
  rank: number;
  key: string;
  score: number;
  cluster?: number;
  /** features (re-ranked) only */
  aeScore?: number;
  goodMatches?: number;
  inliers?: number;
  homography?: boolean;
}
export interface SearchResult {
  neighbors: Neighbor[];
  warning?: string;
  /** features only */
  method?: 'match' | 'reference';
  queryKeypoints?: number;
  fallback?: 'autoencoder';
}

export interface ClustersFile {
  modelId: string;
  k: number;
  count?: number;
  silhouette?: number;
  points: Record<string, { x: number; y: number; label: number }>;
}

export type PassStatus = 'queued' | 'planning' | 'fingerprinting' | 'pairing' | 'completed' | 'failed';
export interface DuplicatePass {
  passId: string;
  status: PassStatus;
  mode: 'missing' | 'all';
  images?: number;
  toFingerprint?: number;
  fingerprinted?: number;
  failed?: number;
  pairs?: number;
  groups?: number;
  /** While pairing: finding candidates, verifying them (`verified` of `chunks` jobs), merging. */
  phase?: 'candidates' | 'verifying' | 'merging';
  candidatePairs?: number;
  chunks?: number;
  verified?: number;
  error?: string;
  updatedAt: string;
}
export interface DuplicatePair {
  a: string;
  b: string;
  tier: Tier;
  identical?: 'bytes' | 'pixels';
  distance?: number;
  mirrored?: boolean;
  correlation?: number;
  inliers?: number;
  cosine?: number;
}
export interface DuplicateGroup {
  tier: Tier;
  keeper: string;
  members: Array<{ key: string; width: number; height: number; bytes: number; keeper: boolean; tier: Tier }>;
  pairs: DuplicatePair[];
}
export interface DuplicatesPage {
  dataset: string;
  pass?: DuplicatePass;
  report?: { passId: string; finishedAt: string; images: number; dismissed: number; pairsByTier: Record<string, number>; failed: number };
  minTier: Tier;
  tier?: Tier;
  total: number;
  offset: number;
  limit: number;
  nextOffset?: number;
  groups: DuplicateGroup[];
}

/** A failed API call: `message` is one line fit to show as it is. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The one line of a thrown value. */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

interface ErrorBody {
  message?: unknown;
  issues?: Array<{ field?: unknown; message?: unknown }>;
}

async function failure(response: Response): Promise<ApiError> {
  if (response.status === 401) return new ApiError(401, 'authentication required (the server refused the credentials; reload the page to sign in again)');
  let body: ErrorBody | undefined;
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    body = undefined;
  }
  const issue = body?.issues?.[0];
  let message = typeof body?.message === 'string' && body.message !== '' ? body.message : `${response.status} ${response.statusText || 'error'}`;
  if (issue && typeof issue.field === 'string' && typeof issue.message === 'string' && !message.includes(issue.field)) message = `${issue.field}: ${issue.message}`;
  return new ApiError(response.status, message.split('\n')[0] ?? message);
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
  if (signal) init.signal = signal;
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { accept: 'application/json', 'content-type': 'application/json' };
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, `cannot reach the server (${messageOf(error)})`);
  }
  if (!response.ok) throw await failure(response);
  try {
    return (await response.json()) as T;
  } catch {
    throw new ApiError(response.status, `${method} ${path}: the server's answer is not JSON`);
  }
}

const ds = (name: string): string => `/v1/datasets/${encodeURIComponent(name)}`;
const query = (params: Record<string, string | number | undefined>): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

export interface SearchFilters {
  keyPrefix?: string;
  cluster?: number;
}
/** The query of a search: an indexed image by key, or an uploaded file. */
export type SearchQuery = { key: string } | { file: File };

export const api = {
  app: (signal?: AbortSignal) => call<AppInfo>('GET', '/v1/app', undefined, signal),
  datasets: (signal?: AbortSignal) => call<{ datasets: DatasetRecord[] }>('GET', '/v1/datasets', undefined, signal),
  dataset: (name: string, signal?: AbortSignal) => call<Dataset>('GET', ds(name), undefined, signal),
  clusters: (name: string, signal?: AbortSignal) => call<ClustersFile>('GET', `${ds(name)}/clusters`, undefined, signal),
  runs: (limit: number, offset: number, signal?: AbortSignal) => call<{ runs: Run[] }>('GET', `/v1/runs${query({ limit, offset })}`, undefined, signal),
  run: (id: string, failuresLimit: number, failuresOffset: number, signal?: AbortSignal) =>
    call<RunDetail>('GET', `/v1/runs/${encodeURIComponent(id)}${query({ failuresLimit, failuresOffset })}`, undefined, signal),
  retryFailed: (id: string) => call<{ runId: string; retried: number }>('POST', `/v1/runs/${encodeURIComponent(id)}/retry-failed`),
  schedules: (signal?: AbortSignal) => call<{ schedules: Schedule[] }>('GET', '/v1/schedules', undefined, signal),

  /** k nearest neighbours of an indexed key or an uploaded image (filters: key prefix, cluster label). */
  search(name: string, q: SearchQuery, k: number, filters: SearchFilters, signal?: AbortSignal): Promise<SearchResult> {
    if ('key' in q) {
      const f: SearchFilters = {};
      if (filters.keyPrefix) f.keyPrefix = filters.keyPrefix;
      if (filters.cluster !== undefined) f.cluster = filters.cluster;
      return call('POST', `${ds(name)}/search`, { key: q.key, k, ...(Object.keys(f).length > 0 ? { filters: f } : {}) }, signal);
    }
    const form = new FormData();
    form.set('k', String(k));
    if (filters.keyPrefix) form.set('keyPrefix', filters.keyPrefix);
    if (filters.cluster !== undefined) form.set('cluster', String(filters.cluster));
    form.set('image', q.file, q.file.name); // the file last: fields before it are read first
    return call('POST', `${ds(name)}/search`, form, signal);
  },
  /** Re-ranked by local features (ORB matching of the AE candidates): by key or by upload. */
  features(name: string, q: SearchQuery, k: number, signal?: AbortSignal): Promise<SearchResult> {
    if ('key' in q) return call('POST', `${ds(name)}/features`, { key: q.key, k, method: 'match' }, signal);
    const form = new FormData();
    form.set('k', String(k));
    form.set('method', 'match');
    form.set('image', q.file, q.file.name);
    return call('POST', `${ds(name)}/features`, form, signal);
  },

  duplicates: (name: string, p: { limit: number; offset: number; tier?: Tier | undefined }, signal?: AbortSignal) =>
    call<DuplicatesPage>('GET', `${ds(name)}/duplicates${query({ limit: p.limit, offset: p.offset, tier: p.tier })}`, undefined, signal),
  startDuplicates: (name: string) => call<{ pass: DuplicatePass; created: boolean }>('POST', `${ds(name)}/duplicates`, { mode: 'missing' }),
  dismiss: (name: string, a: string, b: string) => call<{ dismissed: boolean }>('POST', `${ds(name)}/duplicates/dismiss`, { a, b }),
};

/** URL of the thumbnail of `key` (an <img> fetches it with the page's credentials). */
export function thumbnailUrl(dataset: string, key: string, size?: number): string {
  return `${ds(dataset)}/thumbnail${query({ key, size })}`;
}
