// The emulator's in-memory Qdrant: collections with one unnamed dense vector, or named
// sparse vectors (`modifier: "idf"` or none), aliases, points with payload, exact scoring
// (dense: brute force; sparse: an inverted index of each sparse vector's dimensions, a
// point's score the sum over shared dimensions of query value × stored value × idf, with
// Qdrant's idf = ln((N − n + 0.5) / (n + 0.5) + 1), N the points holding that sparse
// vector and n those holding the dimension; only points sharing a dimension are returned). Bodies arrive already validated
// against the OpenAPI-derived schema; this file implements Qdrant's semantics for the
// subset the adapter uses and answers EmulatorError(501) for the rest.

import { matchesFilter } from './filter.js';
import { EmulatorError, canonicalId, compareIds, idKey, type PointId } from './points.js';

type Distance = 'Cosine' | 'Euclid' | 'Dot' | 'Manhattan';
type Json = Record<string, unknown>;

interface StoredPoint {
  id: PointId;
  vector: number[];
  /** Named sparse vectors (sparse collections): indices sorted, with their values. */
  sparse?: Map<string, { indices: number[]; values: number[] }>;
  payload: Json;
  version: number;
}

/**
 * One named sparse vector of a collection: its modifier and inverted index. Each point
 * holding it gets a slot number; a dimension's postings are parallel arrays of slots and
 * values (typed-array scoring: the string-keyed form took 0.5 s a query at 1,000 images of
 * ~6,000 visual words each).
 */
interface SparseIndex {
  modifier: 'idf' | 'none';
  postings: Map<number, { slots: number[]; values: number[] }>;
  /** Slot of each point key holding this vector, and the key of each slot (undefined: freed). */
  slotOf: Map<string, number>;
  keyOf: Array<string | undefined>;
  free: number[];
}

interface Collection {
  name: string;
  size: number;
  distance: Distance;
  points: Map<string, StoredPoint>;
  /** The points in id order, built on the first read after a change (upsert, delete). */
  order?: StoredPoint[];
  /** How many points have each top-level payload field, kept up to date by every change. */
  fieldCounts: Map<string, number>;
  payloadSchema: Map<string, { data_type: string; params?: Json }>;
  /** Named sparse vectors (a collection of sparse vectors only: size 0, no dense vector). */
  sparse: Map<string, SparseIndex>;
}

const unsupported = (what: string): EmulatorError => new EmulatorError(501, `emulator: ${what} is not implemented`);
const isSet = (v: unknown): boolean => v !== null && v !== undefined;

export class EmulatedQdrant {
  private readonly collections = new Map<string, Collection>();
  private readonly aliases = new Map<string, string>();
  private operationId = 0;

  // ---- collections ------------------------------------------------------------------

  listCollections(): Json {
    return { collections: [...this.collections.keys()].sort().map((name) => ({ name })) };
  }

  collectionExists(name: string): Json {
    return { exists: this.collections.has(this.aliases.get(name) ?? name) };
  }

  createCollection(name: string, body: Json): boolean {
    checkCollectionName(name);
    if (this.collections.has(name) || this.aliases.has(name)) {
      throw new EmulatorError(409, `Wrong input: Collection \`${name}\` already exists!`);
    }
    const vectors = body.vectors as Json | undefined;
    const sparse = new Map<string, SparseIndex>();
    if (isSet(body.sparse_vectors)) {
      if (isSet(vectors) && Object.keys(vectors as Json).length > 0) throw unsupported('a collection with both dense and sparse vectors');
      for (const [vname, params] of Object.entries(body.sparse_vectors as Json)) {
        const modifier = ((params as Json | null)?.modifier ?? 'none') as 'idf' | 'none';
        sparse.set(vname, { modifier, postings: new Map(), slotOf: new Map(), keyOf: [], free: [] });
      }
      if (sparse.size === 0) throw unsupported('a collection without vectors');
    } else if (!vectors || typeof vectors.size !== 'number' || typeof vectors.distance !== 'string') {
      throw unsupported('a collection without one unnamed dense vector (named vectors)');
    } else if (isSet(vectors.multivector_config)) throw unsupported('multivectors');
    this.collections.set(name, {
      name,
      size: sparse.size > 0 ? 0 : (vectors?.size as number),
      distance: sparse.size > 0 ? 'Dot' : (vectors?.distance as Distance),
      points: new Map(),
      fieldCounts: new Map(),
      payloadSchema: new Map(),
      sparse,
    });
    return true;
  }

  /** Qdrant answers `false` for an unknown name; a deleted collection's aliases go with it. */
  deleteCollection(name: string): boolean {
    if (!this.collections.delete(name)) return false;
    for (const [alias, target] of this.aliases) if (target === name) this.aliases.delete(alias);
    return true;
  }

  collectionInfo(name: string): Json {
    const c = this.get(name);
    return {
      status: 'green',
      optimizer_status: 'ok',
      indexed_vectors_count: 0,
      points_count: c.points.size,
      segments_count: 1,
      config: {
        params: {
          vectors: c.sparse.size > 0 ? {} : { size: c.size, distance: c.distance },
          ...(c.sparse.size > 0 ? { sparse_vectors: Object.fromEntries([...c.sparse].map(([n, v]) => [n, { modifier: v.modifier }])) } : {}),
          shard_number: 1, replication_factor: 1, write_consistency_factor: 1, on_disk_payload: true },
        hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
        optimizer_config: {
          deleted_threshold: 0.2,
          vacuum_min_vector_number: 1000,
          default_segment_number: 0,
          max_segment_size: null,
          memmap_threshold: null,
          indexing_threshold: 10000,
          flush_interval_sec: 5,
          max_optimization_threads: null,
        },
        wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
        quantization_config: null,
      },
      payload_schema: Object.fromEntries(
        [...c.payloadSchema].map(([field, schema]) => [field, { ...schema, points: this.countWithField(c, field) }]),
      ),
    };
  }

  createFieldIndex(name: string, body: Json): Json {
    const c = this.get(name);
    const schema = body.field_schema;
    if (!isSet(schema)) throw new EmulatorError(400, 'Bad request: field_schema is required to create an index');
    const entry = typeof schema === 'string' ? { data_type: schema } : { data_type: (schema as Json).type as string, params: schema as Json };
    c.payloadSchema.set(body.field_name as string, entry);
    return this.updated();
  }

  // ---- aliases --------------------------------------------------------------------

  listAliases(): Json {
    const aliases = [...this.aliases].sort(([a], [b]) => (a < b ? -1 : 1));
    return { aliases: aliases.map(([alias_name, collection_name]) => ({ alias_name, collection_name })) };
  }

  /** Actions apply in order under one lock (no reader sees a half-applied list); like Qdrant, no rollback. */
  updateAliases(body: Json): boolean {
    for (const action of body.actions as Json[]) {
      if ('create_alias' in action) {
        const { alias_name, collection_name } = action.create_alias as { alias_name: string; collection_name: string };
        if (!this.collections.has(collection_name)) throw notFound(collection_name);
        if (this.collections.has(alias_name)) throw new EmulatorError(409, `Wrong input: Collection \`${alias_name}\` already exists!`);
        this.aliases.set(alias_name, collection_name);
      } else if ('delete_alias' in action) {
        const { alias_name } = action.delete_alias as { alias_name: string };
        if (!this.aliases.delete(alias_name)) throw new EmulatorError(404, `Not found: Alias ${alias_name} does not exists!`);
      } else if ('rename_alias' in action) {
        const { old_alias_name, new_alias_name } = action.rename_alias as { old_alias_name: string; new_alias_name: string };
        const target = this.aliases.get(old_alias_name);
        if (target === undefined) throw new EmulatorError(404, `Not found: Alias ${old_alias_name} does not exists!`);
        this.aliases.delete(old_alias_name);
        this.aliases.set(new_alias_name, target);
      }
    }
    return true;
  }

  // ---- points ---------------------------------------------------------------------

  upsert(name: string, body: Json): Json {
    const c = this.get(name);
    if ('batch' in body) throw unsupported('the column-wise "batch" upsert format');
    if (isSet(body.update_filter) || isSet(body.update_mode) || isSet(body.shard_key)) throw unsupported('conditional / sharded upsert');
    const points = (body.points as Json[]).map((p): Omit<StoredPoint, 'version'> => {
      const vector = p.vector;
      if (c.sparse.size > 0) return { id: canonicalId(p.id), vector: [], sparse: sparseOf(c, vector), payload: (p.payload ?? {}) as Json };
      if (!Array.isArray(vector) || vector.some((x) => typeof x !== 'number')) throw unsupported('named, sparse or multi vectors');
      checkDim(c, vector.length);
      return { id: canonicalId(p.id), vector: prepare(c, vector as number[]), payload: (p.payload ?? {}) as Json };
    });
    const version = ++this.operationId;
    for (const p of points) {
      const key = idKey(p.id);
      const old = c.points.get(key);
      countFields(c, old?.payload, -1);
      unindexSparse(c, key, old);
      countFields(c, p.payload, 1);
      const stored = { ...p, version };
      indexSparse(c, key, stored);
      c.points.set(key, stored);
    }
    c.order = undefined;
    return { operation_id: version, status: 'completed' };
  }

  retrieve(name: string, body: Json): Json[] {
    const c = this.get(name);
    const found = (body.ids as unknown[]).map((id) => c.points.get(idKey(canonicalId(id))));
    return found.filter((p): p is StoredPoint => p !== undefined).map((p) => shape(p, body.with_payload ?? true, body.with_vector ?? false));
  }

  delete(name: string, body: Json): Json {
    const c = this.get(name);
    for (const p of this.select(c, body)) {
      countFields(c, p.payload, -1);
      unindexSparse(c, idKey(p.id), p);
      c.points.delete(idKey(p.id));
    }
    c.order = undefined;
    return this.updated();
  }

  setPayload(name: string, body: Json): Json {
    const c = this.get(name);
    if (isSet(body.key)) throw unsupported('set_payload with a nested "key"');
    const targets = this.select(c, body, true);
    const version = ++this.operationId;
    for (const p of targets) {
      countFields(c, p.payload, -1);
      p.payload = { ...p.payload, ...(body.payload as Json) };
      countFields(c, p.payload, 1);
      p.version = version;
    }
    return { operation_id: version, status: 'completed' };
  }

  batch(name: string, body: Json): Json[] {
    return (body.operations as Json[]).map((op) => {
      if ('upsert' in op) return this.upsert(name, op.upsert as Json);
      if ('delete' in op) return this.delete(name, op.delete as Json);
      if ('set_payload' in op) return this.setPayload(name, op.set_payload as Json);
      throw unsupported(`batch operation ${Object.keys(op).join(', ')}`);
    });
  }

  scroll(name: string, body: Json): Json {
    const c = this.get(name);
    if (isSet(body.order_by)) throw unsupported('scroll with order_by');
    const limit = (body.limit as number | null | undefined) ?? 10;
    const start = isSet(body.offset) ? canonicalId(body.offset) : undefined;
    // From the first point at or after the offset (binary search in id order), the first
    // `limit` points the filter matches; the next match is the next page's offset. A page
    // costs its own points, not the collection's (a full scroll of 100k points took 282 s
    // when every page sorted and filtered the whole collection).
    const order = this.sorted(c);
    let i = start === undefined ? 0 : lowerBound(order, start);
    const page: StoredPoint[] = [];
    let next: PointId | null = null;
    for (; i < order.length; i++) {
      const p = order[i] as StoredPoint;
      if (!matchesFilter(body.filter, p)) continue;
      if (page.length === limit) {
        next = p.id;
        break;
      }
      page.push(p);
    }
    return {
      points: page.map((p) => shape(p, body.with_payload ?? true, body.with_vector ?? false)),
      next_page_offset: next,
    };
  }

  count(name: string, body: Json): Json {
    const c = this.get(name);
    let count = 0;
    for (const p of c.points.values()) if (matchesFilter(body.filter, p)) count++;
    return { count };
  }

  query(name: string, body: Json): Json {
    const c = this.get(name);
    for (const field of ['prefetch', 'lookup_from', 'shard_key']) if (isSet(body[field])) throw unsupported(`query with ${field}`);
    if (c.sparse.size > 0) return this.sparseQuery(c, body);
    if (isSet(body.using) && body.using !== '') throw unsupported('query using a named vector');
    let query = body.query;
    if (typeof query === 'object' && query !== null && !Array.isArray(query)) {
      const q = query as Json;
      if (!('nearest' in q) || isSet(q.mmr)) throw unsupported(`query ${Object.keys(q).join(', ')}`);
      query = q.nearest;
    }
    let vector: number[];
    let exclude: string | undefined;
    if (Array.isArray(query) && query.every((x) => typeof x === 'number')) {
      checkDim(c, query.length);
      vector = prepare(c, query);
    } else if (typeof query === 'number' || typeof query === 'string') {
      // By id: Qdrant uses the stored vector and leaves the point itself out of the result.
      const id = canonicalId(query);
      const stored = c.points.get(idKey(id));
      if (!stored) throw new EmulatorError(404, `Not found: No point with id ${id} found`);
      vector = stored.vector;
      exclude = idKey(id);
    } else {
      throw unsupported(query === undefined || query === null ? 'query without a query (ordered listing)' : 'this query input');
    }
    if (c.distance !== 'Cosine' && c.distance !== 'Dot') throw unsupported(`scoring with ${c.distance} distance`);
    const threshold = body.score_threshold as number | null | undefined;
    const scored = this.sorted(c)
      .filter((p) => idKey(p.id) !== exclude && matchesFilter(body.filter, p))
      .map((p) => ({ p, score: Math.fround(dot(vector, p.vector)) }))
      .filter(({ score }) => !isSet(threshold) || score >= (threshold as number))
      .sort((a, b) => b.score - a.score || compareIds(a.p.id, b.p.id));
    const offset = (body.offset as number | null | undefined) ?? 0;
    const limit = (body.limit as number | null | undefined) ?? 10;
    return {
      points: scored.slice(offset, offset + limit).map(({ p, score }) => ({
        ...shape(p, body.with_payload ?? false, body.with_vector ?? false),
        version: p.version,
        score,
      })),
    };
  }

  /** A query of a sparse collection: by a sparse vector or by a point's stored one (`using` names it; the point left out). */
  private sparseQuery(c: Collection, body: Json): Json {
    for (const field of ['score_threshold', 'offset', 'params']) if (isSet(body[field])) throw unsupported(`sparse query with ${field}`);
    const name = typeof body.using === 'string' ? body.using : '';
    const index = c.sparse.get(name);
    if (!index) throw new EmulatorError(400, `Wrong input: Not existing vector name error: ${name}`);
    let query = body.query;
    if (typeof query === 'object' && query !== null && !Array.isArray(query) && 'nearest' in (query as Json)) query = (query as Json).nearest;
    let q: { indices: number[]; values: number[] };
    let exclude: string | undefined;
    if (typeof query === 'number' || typeof query === 'string') {
      const id = canonicalId(query);
      const stored = c.points.get(idKey(id));
      if (!stored) throw new EmulatorError(404, `Not found: No point with id ${id} found`);
      q = stored.sparse?.get(name) ?? { indices: [], values: [] };
      exclude = idKey(id);
    } else if (typeof query === 'object' && query !== null && Array.isArray((query as Json).indices)) {
      q = sortedSparse(query as { indices: number[]; values: number[] });
    } else {
      throw unsupported('this sparse query input');
    }
    const total = index.slotOf.size;
    const scores = new Float64Array(index.keyOf.length);
    const touched: number[] = [];
    const skip = exclude === undefined ? -1 : (index.slotOf.get(exclude) ?? -1);
    q.indices.forEach((dim, i) => {
      const holders = index.postings.get(dim);
      if (!holders) return;
      const n = holders.slots.length;
      const weight = (q.values[i] as number) * (index.modifier === 'idf' ? Math.log((total - n + 0.5) / (n + 0.5) + 1) : 1);
      for (let h = 0; h < n; h++) {
        const slot = holders.slots[h] as number;
        if (slot === skip) continue;
        if (scores[slot] === 0) touched.push(slot);
        scores[slot] = (scores[slot] as number) + (holders.values[h] as number) * weight;
      }
    });
    const scored = touched
      .map((slot) => ({ p: c.points.get(index.keyOf[slot] as string) as StoredPoint, score: Math.fround(scores[slot] as number) }))
      .filter(({ p }) => matchesFilter(body.filter, p))
      .sort((a, b) => b.score - a.score || compareIds(a.p.id, b.p.id));
    const limit = (body.limit as number | null | undefined) ?? 10;
    return {
      points: scored.slice(0, limit).map(({ p, score }) => ({ ...shape(p, body.with_payload ?? false, false), version: p.version, score })),
    };
  }

  /** Each search of the batch as query() answers it; a failing one (e.g. an unknown point id) fails the whole batch, as Qdrant does. */
  queryBatch(name: string, body: Json): Json[] {
    return (body.searches as Json[]).map((search) => this.query(name, search));
  }

  // ---- helpers --------------------------------------------------------------------

  private get(nameOrAlias: string): Collection {
    const c = this.collections.get(this.aliases.get(nameOrAlias) ?? nameOrAlias);
    if (!c) throw notFound(nameOrAlias);
    return c;
  }

  /** The points in id order (cached until the next upsert or delete; callers must not modify it). */
  private sorted(c: Collection): StoredPoint[] {
    c.order ??= [...c.points.values()].sort((a, b) => compareIds(a.id, b.id));
    return c.order;
  }

  /** The points a PointsSelector-like body names: `points` (ids) or `filter`. */
  private select(c: Collection, body: Json, idsMustExist = false): StoredPoint[] {
    if (isSet(body.shard_key)) throw unsupported('shard keys');
    if (Array.isArray(body.points)) {
      const out: StoredPoint[] = [];
      for (const raw of body.points) {
        const id = canonicalId(raw);
        const p = c.points.get(idKey(id));
        if (p) out.push(p);
        else if (idsMustExist) throw new EmulatorError(404, `Not found: No point with id ${id} found`);
      }
      return out;
    }
    if (isSet(body.filter)) return [...c.points.values()].filter((p) => matchesFilter(body.filter, p));
    throw new EmulatorError(400, 'Bad request: either "points" or "filter" is required');
  }

  private updated(): Json {
    return { operation_id: ++this.operationId, status: 'completed' };
  }

  /** Points with this payload field (kept by countFields: a collection's info was O(N) per call, ~50 ms at 100k points, asked once per index job). */
  private countWithField(c: Collection, field: string): number {
    return c.fieldCounts.get(field) ?? 0;
  }
}

/** A point's sparse vectors from an upsert's `vector` (an object of named sparse vectors). */
function sparseOf(c: Collection, vector: unknown): Map<string, { indices: number[]; values: number[] }> {
  if (typeof vector !== 'object' || vector === null || Array.isArray(vector)) throw new EmulatorError(400, 'Wrong input: a sparse collection takes named sparse vectors');
  const out = new Map<string, { indices: number[]; values: number[] }>();
  for (const [name, v] of Object.entries(vector as Json)) {
    if (!c.sparse.has(name)) throw new EmulatorError(400, `Wrong input: Not existing vector name error: ${name}`);
    const sv = v as { indices?: unknown; values?: unknown };
    if (!Array.isArray(sv.indices) || !Array.isArray(sv.values)) throw unsupported('a dense vector in a sparse collection');
    if (sv.indices.length !== sv.values.length) throw new EmulatorError(400, 'Wrong input: Sparse vector indices and values must have the same length');
    if (new Set(sv.indices).size !== sv.indices.length) throw new EmulatorError(400, 'Wrong input: Sparse vector indices must be unique');
    out.set(name, sortedSparse(sv as { indices: number[]; values: number[] }));
  }
  return out;
}

function sortedSparse(v: { indices: number[]; values: number[] }): { indices: number[]; values: number[] } {
  const order = v.indices.map((_, i) => i).sort((a, b) => (v.indices[a] as number) - (v.indices[b] as number));
  return { indices: order.map((i) => v.indices[i] as number), values: order.map((i) => Math.fround(v.values[i] as number)) };
}

function indexSparse(c: Collection, key: string, p: StoredPoint | undefined): void {
  for (const [name, v] of p?.sparse ?? []) {
    const index = c.sparse.get(name) as SparseIndex;
    const slot = index.free.pop() ?? index.keyOf.length;
    index.keyOf[slot] = key;
    index.slotOf.set(key, slot);
    v.indices.forEach((dim, i) => {
      let holders = index.postings.get(dim);
      if (!holders) index.postings.set(dim, (holders = { slots: [], values: [] }));
      holders.slots.push(slot);
      holders.values.push(v.values[i] as number);
    });
  }
}

function unindexSparse(c: Collection, key: string, p: StoredPoint | undefined): void {
  for (const [name, v] of p?.sparse ?? []) {
    const index = c.sparse.get(name) as SparseIndex;
    const slot = index.slotOf.get(key);
    if (slot === undefined) continue;
    for (const dim of v.indices) {
      const holders = index.postings.get(dim);
      if (!holders) continue;
      const at = holders.slots.indexOf(slot);
      if (at >= 0) {
        holders.slots[at] = holders.slots.at(-1) as number;
        holders.values[at] = holders.values.at(-1) as number;
        holders.slots.pop();
        holders.values.pop();
      }
      if (holders.slots.length === 0) index.postings.delete(dim);
    }
    index.slotOf.delete(key);
    index.keyOf[slot] = undefined;
    index.free.push(slot);
  }
}

/** Add `sign` to the count of every top-level field of a payload (none when it is undefined). */
function countFields(c: Collection, payload: Json | undefined, sign: 1 | -1): void {
  if (!payload) return;
  for (const field of Object.keys(payload)) c.fieldCounts.set(field, (c.fieldCounts.get(field) ?? 0) + sign);
}

/** Index of the first point whose id is ≥ `id` in points sorted by id. */
function lowerBound(points: readonly StoredPoint[], id: PointId): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareIds((points[mid] as StoredPoint).id, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function notFound(name: string): EmulatorError {
  return new EmulatorError(404, `Not found: Collection \`${name}\` doesn't exist!`);
}

function checkCollectionName(name: string): void {
  if (name.length === 0 || name.length > 255 || /[<>:"/\\|?*\0]/.test(name)) {
    throw new EmulatorError(422, `Validation error in path parameters: [name: invalid collection name ${JSON.stringify(name)}]`);
  }
}

function checkDim(c: Collection, got: number): void {
  if (got !== c.size) throw new EmulatorError(400, `Wrong input: Vector dimension error: expected dim: ${c.size}, got ${got}`);
}

/** Qdrant stores Cosine vectors normalised (in f32) and scores them by dot product. */
function prepare(c: Collection, vector: number[]): number[] {
  const v = vector.map((x) => Math.fround(x));
  if (c.distance !== 'Cosine') return v;
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return norm === 0 ? v : v.map((x) => Math.fround(x / norm));
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** A Record as the API returns it: id, plus payload / vector when asked for. */
function shape(p: StoredPoint, withPayload: unknown, withVector: unknown): Json {
  const out: Json = { id: p.id };
  const payload = selectPayload(p.payload, withPayload);
  if (payload !== undefined) out.payload = payload;
  if (withVector === true) out.vector = [...p.vector];
  else if (Array.isArray(withVector) && withVector.length > 0) throw unsupported('with_vector naming vectors');
  return out;
}

function selectPayload(payload: Json, selector: unknown): Json | undefined {
  if (selector === true) return { ...payload };
  if (selector === false || selector === null || selector === undefined) return undefined;
  const include = Array.isArray(selector) ? (selector as string[]) : ((selector as Json).include as string[] | undefined);
  if (include) return Object.fromEntries(Object.entries(payload).filter(([k]) => include.includes(k)));
  const exclude = (selector as Json).exclude as string[];
  return Object.fromEntries(Object.entries(payload).filter(([k]) => !exclude.includes(k)));
}
