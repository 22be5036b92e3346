// A thin adapter over @qdrant/js-client-rest: one place that knows how imgsim's images
// become Qdrant points (id = UUIDv5(dataset, key), cosine distance, a fixed payload) and
// how a failure reads ("Qdrant at http://… is unreachable: …").
//
// One file on purpose, though past 300 lines: one class over one client, each method one
// idempotent request with the reason it is safe to retry written beside it, all through
// the one `call` (errors mapped, retried). What stands apart already lives beside it:
// options.ts (retry budgets), types.ts, errors.ts, filter.ts, point-id.ts.
//
// Payload of every point: {dataset, key, dirs, etag, modelId, width, height} plus the
// optional cluster / x / y written by the cluster stage and any extra fields given.
// `dirs` lists the key's ancestor folders for key-prefix filters (see filter.ts).
// Keyword indexes: dataset, key, dirs, modelId; integer index: cluster.
// Writes use `wait: true`: when a call returns, the change is searchable.
//
// Every request is retried (QDRANT_RETRY) when it failed on the connection (a pooled
// keep-alive socket the server had already closed, a reset, refused, a DNS failure), timed
// out, or got 5xx/429; never on another 4xx. The first retry goes at once: a stale pooled
// socket fails immediately and a fresh connection succeeds immediately. The budget is
// seconds; a longer outage is the job-level retry's. Repeating a request is safe because
// every request the adapter sends is idempotent (each method says why), so a request that
// was applied but whose answer was lost does no harm when it is sent again.
import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import { UserError, isTransient } from '../../errors.js';
import { withRetry, type RetryInfo, type RetryPolicy } from '../../retry.js';
import { QdrantError, displayUrl, toQdrantError } from './errors.js';
import { keyDirs, toQdrantFilter, type PointFilter } from './filter.js';
import { pointId } from './point-id.js';
import { KeyVersions } from '../hashed-keys.js';
import { QDRANT_RETRY, type QdrantRetryInfo, type QdrantStoreOptions } from './options.js';
import type { ImagePayload, PointInput, ScrolledPoint, ScrollOptions, SearchHit, SparsePointInput, StoreSearchOptions } from './types.js';

export type { PointFilter } from './filter.js';
export { QDRANT_RETRY, QDRANT_RETRY_INTERACTIVE, type QdrantRetryInfo, type QdrantStoreOptions } from './options.js';
export type { ImagePayload, ImagePayloadInput, PointInput, ScrolledPoint, ScrollOptions, SearchHit, SparsePointInput, StoreSearchOptions } from './types.js';

/** Payload fields the adapter manages itself: never set through setPayload. */
const RESERVED = ['dataset', 'key', 'dirs'] as const;

export const PAYLOAD_INDEXES: Readonly<Record<string, Schemas['PayloadSchemaType']>> = {
  dataset: 'keyword',
  key: 'keyword',
  dirs: 'keyword',
  modelId: 'keyword',
  cluster: 'integer',
};

export class QdrantStore {
  /** The server URL as shown in messages (credentials masked). */
  readonly url: string;
  private readonly client: QdrantClient;
  private readonly retry: Required<RetryPolicy>;
  private readonly onRetry: ((info: QdrantRetryInfo) => void) | undefined;

  constructor(options: QdrantStoreOptions) {
    this.url = displayUrl(options.url);
    this.retry = options.retry === false ? { ...QDRANT_RETRY, attempts: 1 } : { ...QDRANT_RETRY, ...options.retry };
    this.onRetry = options.onRetry;
    this.client = new QdrantClient({
      url: options.url,
      ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
      checkCompatibility: false,
    });
  }

  // ---- collections ------------------------------------------------------------------

  /**
   * Creates `name` (cosine, `size` dimensions) with its payload indexes, or checks that the
   * existing one has that size and distance. Idempotent, and safe when two workers race.
   * Retry-safe: a repeated create that was applied the first time gets 409, handled as
   * "created meanwhile"; creating a payload index that exists re-creates the same index.
   */
  async ensureCollection(name: string, size: number): Promise<void> {
    if (!Number.isInteger(size) || size < 1) throw new UserError(`Vector size must be a positive integer, got ${size}`);
    if (!(await this.collectionExists(name))) {
      try {
        await this.call(`create collection "${name}"`, () => this.client.createCollection(name, { vectors: { size, distance: 'Cosine' } }));
      } catch (error) {
        if (!(error instanceof QdrantError && error.status === 409)) throw error; // 409: created meanwhile
      }
    }
    const info = await this.call(`read collection "${name}"`, () => this.client.getCollection(name));
    const vectors = info.config.params.vectors as Partial<Schemas['VectorParams']> | undefined;
    if (!vectors || typeof vectors.size !== 'number' || typeof vectors.distance !== 'string') {
      throw new UserError(`Qdrant collection "${name}" at ${this.url} uses named vectors; imgsim needs one unnamed ${size}-dimensional Cosine vector`);
    }
    if (vectors.size !== size || vectors.distance !== 'Cosine') {
      throw new UserError(
        `Qdrant collection "${name}" at ${this.url} holds ${vectors.size}-dimensional ${vectors.distance} vectors, ` +
          `but ${size}-dimensional Cosine vectors were asked for: use a collection per dataset and model, or delete this one`,
      );
    }
    for (const [field, type] of Object.entries(PAYLOAD_INDEXES)) {
      if (info.payload_schema[field]?.data_type === type) continue;
      await this.call(`index payload field "${field}" of "${name}"`, () =>
        this.client.createPayloadIndex(name, { field_name: field, field_schema: type, wait: true }),
      );
    }
  }

  /**
   * Creates `name` with one named sparse vector `vector` whose weights Qdrant multiplies by
   * each dimension's inverse document frequency at query time (`modifier: "idf"`), and the
   * dataset / key payload indexes; or checks that the existing one has that sparse vector
   * with that modifier. No dense vector. Idempotent and retry-safe as ensureCollection.
   * (The duplicates pass keeps each image's visual words in one: sparse-points.ts.)
   */
  async ensureSparseCollection(name: string, vector: string): Promise<void> {
    if (!(await this.collectionExists(name))) {
      try {
        await this.call(`create collection "${name}"`, () => this.client.createCollection(name, { sparse_vectors: { [vector]: { modifier: 'idf' } } }));
      } catch (error) {
        if (!(error instanceof QdrantError && error.status === 409)) throw error; // 409: created meanwhile
      }
    }
    const info = await this.call(`read collection "${name}"`, () => this.client.getCollection(name));
    const sparse = info.config.params.sparse_vectors?.[vector];
    if (!sparse || sparse.modifier !== 'idf') {
      throw new UserError(`Qdrant collection "${name}" at ${this.url} has no sparse vector "${vector}" with modifier idf: delete it, the next duplicates pass makes it again`);
    }
    for (const field of ['dataset', 'key'] as const) {
      if (info.payload_schema[field]?.data_type === 'keyword') continue;
      await this.call(`index payload field "${field}" of "${name}"`, () => this.client.createPayloadIndex(name, { field_name: field, field_schema: 'keyword', wait: true }));
    }
  }

  /**
   * Upserts points holding one named sparse vector each (indices distinct u32, values the
   * same length) and a payload (dataset and key added), `batchSize` points a request.
   * Retry-safe as upsert: same key → same point id, overwritten with the same content.
   */
  async upsertSparse(collection: string, vector: string, points: readonly SparsePointInput[], batchSize = 32): Promise<void> {
    checkBatchSize(batchSize);
    for (let start = 0; start < points.length; start += batchSize) {
      const batch = points.slice(start, start + batchSize).map((p): Schemas['PointStruct'] => {
        if (p.indices.length !== p.values.length) throw new Error(`the sparse vector of "${p.key}" has ${p.indices.length} indices but ${p.values.length} values`);
        return {
          id: pointId(p.dataset, p.key),
          vector: { [vector]: { indices: Array.from(p.indices), values: Array.from(p.values) } },
          payload: { ...p.payload, dataset: p.dataset, key: p.key },
        };
      });
      await this.call(`upsert ${nPoints(batch.length)} into "${collection}"`, () => this.client.upsert(collection, { wait: true, points: batch }));
    }
  }

  /** The size of the collection's one unnamed vector; undefined when it does not exist (or has named vectors). */
  async vectorSize(name: string): Promise<number | undefined> {
    if (!(await this.collectionExists(name))) return undefined;
    const info = await this.call(`read collection "${name}"`, () => this.client.getCollection(name));
    const vectors = info.config.params.vectors as Partial<Schemas['VectorParams']> | undefined;
    return typeof vectors?.size === 'number' ? vectors.size : undefined;
  }

  async collectionExists(name: string): Promise<boolean> {
    const r = await this.call(`check collection "${name}"`, () => this.client.collectionExists(name));
    return r.exists;
  }

  async listCollections(): Promise<string[]> {
    const r = await this.call('list collections', () => this.client.getCollections());
    return r.collections.map((c) => c.name).sort();
  }

  /**
   * True when it existed. Its aliases go with it. Retry-safe: deleting a deleted collection
   * changes nothing. The answer comes from an existence check first, because the delete's own
   * `true`/`false` would read false when a retry follows an attempt that deleted it.
   */
  async deleteCollection(name: string): Promise<boolean> {
    if (!(await this.collectionExists(name))) return false;
    await this.call(`delete collection "${name}"`, () => this.client.deleteCollection(name));
    return true;
  }

  // ---- aliases --------------------------------------------------------------------

  // Reads (exists, info, list, aliases, search, query, scroll, count, retrieve) change
  // nothing: repeating them is always safe.

  async getAliasTarget(alias: string): Promise<string | undefined> {
    const r = await this.call('list aliases', () => this.client.getAliases());
    return r.aliases.find((a) => a.alias_name === alias)?.collection_name;
  }

  /**
   * Points `alias` at `newCollection` in ONE aliases request (delete + create), which Qdrant
   * applies under one lock: readers see the old or the new collection, never none.
   * Returns the collection the alias pointed at before, if any.
   *
   * Retry-safe by its outcome: delete+create repeated leaves the alias on `newCollection`
   * again. A lone create_alias (no alias before) repeated after it was applied may be refused
   * (the alias exists now), and so may a swap that raced another one making the same change;
   * so a refusal is checked against the alias: already on `newCollection` is success.
   */
  async swapAlias(alias: string, newCollection: string): Promise<string | undefined> {
    const previous = await this.getAliasTarget(alias);
    const actions: Schemas['AliasOperations'][] = [];
    if (previous !== undefined) actions.push({ delete_alias: { alias_name: alias } });
    actions.push({ create_alias: { alias_name: alias, collection_name: newCollection } });
    try {
      await this.call(`point alias "${alias}" at "${newCollection}"`, () => this.client.updateCollectionAliases({ actions }));
    } catch (error) {
      if (error instanceof QdrantError && !error.transient && (await this.getAliasTarget(alias)) === newCollection) return previous;
      throw error;
    }
    return previous;
  }

  // ---- points ---------------------------------------------------------------------

  /**
   * Upserts in batches of `batchSize` (one request each, `wait: true`); same key → same point.
   * Retry-safe: the point id is UUIDv5(dataset, key), so a repeated batch overwrites the same
   * points with the same vectors and payloads instead of adding any.
   */
  async upsert(collection: string, points: readonly PointInput[], batchSize = 256): Promise<void> {
    checkBatchSize(batchSize);
    for (let start = 0; start < points.length; start += batchSize) {
      const batch = points.slice(start, start + batchSize).map((p) => toPointStruct(p));
      await this.call(`upsert ${nPoints(batch.length)} into "${collection}"`, () => this.client.upsert(collection, { wait: true, points: batch }));
    }
  }

  /** The k nearest points to `vector` (cosine), best first. */
  async search(collection: string, vector: Float32Array, options: StoreSearchOptions): Promise<SearchHit[]> {
    checkVector(vector, 'the query vector');
    return this.query(collection, Array.from(vector), options, `search "${collection}"`);
  }

  /**
   * The k nearest points to the stored vector of (dataset, key), the point itself left out
   * (Qdrant excludes a query-by-id's own point). Filters to `dataset` unless options.filter
   * names another. A key that is not indexed is a UserError.
   */
  async searchByKey(collection: string, dataset: string, key: string, options: StoreSearchOptions): Promise<SearchHit[]> {
    const withDataset = { ...options, filter: { dataset, ...options.filter } };
    try {
      return await this.query(collection, pointId(dataset, key), withDataset, `search "${collection}" by "${key}"`);
    } catch (error) {
      if (error instanceof QdrantError && error.status === 404 && (await this.collectionExists(collection))) {
        throw new UserError(`"${key}" is not indexed in dataset "${dataset}" (Qdrant collection "${collection}" at ${this.url})`);
      }
      throw error;
    }
  }

  /**
   * For each of `keys`, the k nearest points of `dataset` to its stored vector (the point
   * itself left out): one batch query request (`/points/query/batch`, a query by point id
   * each, Qdrant's recommend with one positive) per `batchSize` keys, best first. A key
   * without a point gets no entry: Qdrant fails a whole batch naming an unknown id (404), so
   * that batch is asked again for the keys that exist (one retrieve request). A read.
   * `using`: by that named vector (a sparse one: the points sharing the most idf-weighted
   * dimensions with the key's own; score = Σ idf over shared dimensions when values are 1).
   */
  async neighboursOfKeys(collection: string, dataset: string, keys: readonly string[], k: number, batchSize = 64, using?: string): Promise<Map<string, SearchHit[]>> {
    checkBatchSize(batchSize);
    if (!Number.isInteger(k) || k < 1) throw new UserError(`k must be a positive integer, got ${k}`);
    const filter = toQdrantFilter({ dataset });
    const out = new Map<string, SearchHit[]>();
    const ask = (batch: readonly string[]) =>
      this.call(`search "${collection}" by ${nPoints(batch.length)}`, () =>
        this.client.queryBatch(collection, {
          searches: batch.map((key) => ({ query: pointId(dataset, key), limit: k, with_payload: ['key'], ...(using !== undefined ? { using } : {}), ...(filter ? { filter } : {}) })),
        }),
      );
    for (let start = 0; start < keys.length; start += batchSize) {
      let batch = keys.slice(start, start + batchSize);
      let answers: Schemas['QueryResponse'][];
      try {
        answers = await ask(batch);
      } catch (error) {
        if (!(error instanceof QdrantError && error.status === 404 && (await this.collectionExists(collection)))) throw error;
        const present = await this.call(`read ${nPoints(batch.length)} of "${collection}"`, () =>
          this.client.retrieve(collection, { ids: batch.map((key) => pointId(dataset, key)), with_payload: false, with_vector: false }),
        );
        const ids = new Set(present.map((r) => String(r.id)));
        batch = batch.filter((key) => ids.has(pointId(dataset, key)));
        answers = batch.length > 0 ? await ask(batch) : [];
      }
      answers.forEach((answer, i) => {
        out.set(
          batch[i] as string,
          answer.points.map((p) => {
            const payload = (p.payload ?? {}) as ImagePayload;
            return { key: payload.key, score: p.score, payload };
          }),
        );
      });
    }
    return out;
  }

  /** Removes the points of these keys (absent keys are ignored). Retry-safe: deleting twice = once. */
  async deleteKeys(collection: string, dataset: string, keys: readonly string[], batchSize = 1000): Promise<void> {
    checkBatchSize(batchSize);
    for (let start = 0; start < keys.length; start += batchSize) {
      const ids = keys.slice(start, start + batchSize).map((k) => pointId(dataset, k));
      await this.call(`delete ${nPoints(ids.length)} from "${collection}"`, () => this.client.delete(collection, { wait: true, points: ids }));
    }
  }

  /**
   * Merges payload fields (cluster labels, 2-D coordinates…) into existing points: one
   * batch-update request per `batchSize` updates. A key without a point fails the call.
   * Retry-safe: set_payload merges the given values, so repeating it writes the same values.
   */
  async setPayload(
    collection: string,
    dataset: string,
    updates: ReadonlyArray<{ key: string; payload: Record<string, unknown> }>,
    batchSize = 256,
  ): Promise<void> {
    checkBatchSize(batchSize);
    for (const u of updates) {
      const reserved = RESERVED.filter((f) => f in u.payload);
      if (reserved.length > 0) throw new Error(`setPayload: "${u.key}" would overwrite ${reserved.join(', ')} (managed by the adapter)`);
    }
    for (let start = 0; start < updates.length; start += batchSize) {
      const operations: Schemas['UpdateOperation'][] = updates.slice(start, start + batchSize).map((u) => ({
        set_payload: { payload: u.payload, points: [pointId(dataset, u.key)] },
      }));
      await this.call(`set payload of ${nPoints(operations.length)} in "${collection}"`, () =>
        this.client.batchUpdate(collection, { wait: true, operations }),
      );
    }
  }

  /** Every point (of one dataset, or all), page by page in id order. */
  async *scroll(collection: string, options: ScrollOptions = {}): AsyncGenerator<ScrolledPoint> {
    const pageSize = options.pageSize ?? 256;
    checkBatchSize(pageSize);
    const filter = toQdrantFilter(options.dataset !== undefined ? { dataset: options.dataset } : undefined);
    const withPayload = options.payloadFields ? [...new Set([...options.payloadFields, 'dataset', 'key'])] : true;
    let offset: Schemas['ExtendedPointId'] | undefined;
    do {
      const page = await this.call(`scroll "${collection}"`, () =>
        this.client.scroll(collection, {
          limit: pageSize,
          with_payload: withPayload,
          with_vector: options.withVectors === true,
          ...(filter ? { filter } : {}),
          ...(offset !== undefined ? { offset } : {}),
        }),
      );
      for (const p of page.points) {
        const payload = (p.payload ?? {}) as ImagePayload;
        const vector = options.withVectors ? denseVector(p.vector) : undefined;
        yield { key: payload.key, dataset: payload.dataset, payload, ...(vector ? { vector } : {}) };
      }
      const next = page.next_page_offset;
      offset = typeof next === 'string' || typeof next === 'number' ? next : undefined;
    } while (offset !== undefined);
  }

  /** The version (ETag) of every indexed point of `dataset`, compactly (hashed-keys.ts): what an incremental "missing" run compares its listing with. */
  async indexedVersions(collection: string, dataset: string): Promise<KeyVersions> {
    const versions = new KeyVersions();
    for await (const p of this.scroll(collection, { dataset, payloadFields: ['etag'], pageSize: 1000 })) {
      versions.add(p.key, p.payload.etag);
    }
    return versions.seal();
  }

  async count(collection: string, filter?: PointFilter): Promise<number> {
    const qf = toQdrantFilter(filter);
    const r = await this.call(`count points of "${collection}"`, () => this.client.count(collection, { exact: true, ...(qf ? { filter: qf } : {}) }));
    return r.count;
  }

  /** The stored vectors of these keys (normalised: Qdrant keeps cosine vectors at length 1). */
  async vectorsOf(collection: string, dataset: string, keys: readonly string[]): Promise<Map<string, Float32Array>> {
    const keyOf = new Map(keys.map((k) => [pointId(dataset, k), k]));
    if (keyOf.size === 0) return new Map();
    const records = await this.call(`read ${nPoints(keyOf.size)} of "${collection}"`, () =>
      this.client.retrieve(collection, { ids: [...keyOf.keys()], with_payload: false, with_vector: true }),
    );
    const out = new Map<string, Float32Array>();
    for (const r of records) {
      const key = keyOf.get(String(r.id));
      const vector = denseVector(r.vector);
      if (key !== undefined && vector) out.set(key, vector);
    }
    return out;
  }

  /**
   * The indexed version (payload `etag`) of each of these keys that has a point in
   * `collection`; keys without one are left out. One retrieve request, no vectors: whether
   * an image is in a dataset (the server's thumbnails and features by key).
   */
  async versionsOf(collection: string, dataset: string, keys: readonly string[]): Promise<Map<string, string>> {
    const keyOf = new Map(keys.map((k) => [pointId(dataset, k), k]));
    if (keyOf.size === 0) return new Map();
    const records = await this.call(`read ${nPoints(keyOf.size)} of "${collection}"`, () =>
      this.client.retrieve(collection, { ids: [...keyOf.keys()], with_payload: ['etag'], with_vector: false }),
    );
    const out = new Map<string, string>();
    for (const r of records) {
      const key = keyOf.get(String(r.id));
      const etag = r.payload?.etag;
      if (key !== undefined) out.set(key, typeof etag === 'string' ? etag : '');
    }
    return out;
  }

  // ---- internals ------------------------------------------------------------------

  private async query(collection: string, query: number[] | string, options: StoreSearchOptions, action: string): Promise<SearchHit[]> {
    if (!Number.isInteger(options.k) || options.k < 0) throw new UserError(`k must be a non-negative integer, got ${options.k}`);
    if (options.k === 0) return [];
    const excluded = [...(options.excludeKeys ?? [])];
    const dataset = options.filter?.dataset;
    const filter = toQdrantFilter(
      options.filter,
      dataset !== undefined ? { ids: excluded.map((k) => pointId(dataset, k)) } : { keys: excluded },
    );
    const r = await this.call(action, () =>
      this.client.query(collection, {
        query,
        limit: options.k,
        with_payload: true,
        ...(filter ? { filter } : {}),
        ...(options.exact ? { params: { exact: true } } : {}),
      }),
    );
    return r.points.map((p) => {
      const payload = (p.payload ?? {}) as ImagePayload;
      return { key: payload.key, score: p.score, payload };
    });
  }

  /**
   * One request: its failure mapped to a QdrantError, retried under the retry budget when it
   * may pass (connection-level, timeout, 5xx, 429). Only for idempotent requests: every
   * caller above is one.
   */
  private call<T>(action: string, run: () => Promise<T>): Promise<T> {
    return withRetry(
      async () => {
        try {
          return await run();
        } catch (error) {
          throw toQdrantError(error, this.url, action);
        }
      },
      {
        ...this.retry,
        isRetryable: (error) => isTransient(error),
        delayHint: (error) => (error instanceof QdrantError ? error.retryAfterMs : undefined),
        ...(this.onRetry ? { onRetry: (info: RetryInfo) => this.onRetry?.({ ...info, action }) } : {}),
      },
    );
  }
}

function toPointStruct(p: PointInput): Schemas['PointStruct'] {
  checkVector(p.vector, `the vector of "${p.key}"`);
  const payload: ImagePayload = { ...p.payload, dataset: p.dataset, key: p.key, dirs: keyDirs(p.key) };
  return { id: pointId(p.dataset, p.key), vector: Array.from(p.vector), payload };
}

function checkVector(v: Float32Array, what: string): void {
  if (v.length === 0) throw new Error(`${what} is empty`);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new Error(`${what} has a non-finite value at ${i}`);
  }
}

function nPoints(n: number): string {
  return n === 1 ? '1 point' : `${n} points`;
}

function checkBatchSize(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`batch size must be a positive integer, got ${n}`);
}

/** The unnamed dense vector of a returned record, if there is one. */
function denseVector(v: unknown): Float32Array | undefined {
  if (!Array.isArray(v)) return undefined;
  const values: unknown[] = v;
  return values.every((x): x is number => typeof x === 'number') ? Float32Array.from(values) : undefined;
}
