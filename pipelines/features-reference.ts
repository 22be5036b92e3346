// The reference feature method's search space (the reference project's method, kept for
// comparison; features.ts): the stored AE embeddings reduced by PCA to nfeatures × 32
// components, searched by cosine with the query's flattened ORB descriptors. The PCA is
// fitted once per index and stored beside it (a local index folder, or a dataset
// collection's folder in the artefact store), so a query never reads every vector.

import { z } from 'zod';
import { reducePca } from '../shared/analysis/pca.js';
import { UserError } from '../shared/errors.js';
import { artifactKeys } from '../shared/runs/naming.js';
import { LocalStorage } from '../shared/storage/local.js';
import type { Storage } from '../shared/storage/types.js';
import { FlatIndex } from '../shared/vectors/flat-index.js';
import type { QdrantVectorIndex } from '../shared/vectors/qdrant/index.js';
import { readAllVectors } from '../shared/vectors/read-all.js';
import type { Neighbor, VectorIndex } from '../shared/vectors/types.js';
import type { OpenedIndex } from './search.js';

/**
 * The reference method's search space: the stored AE embeddings reduced by PCA to
 * `length` (= nfeatures × 32) components. With fewer images or dimensions than that,
 * PCA keeps min(N − 1, D) components and the rest are zero — the cosine ranking is
 * then the one on the kept components.
 */
export class ReferenceIndex {
  private constructor(
    private readonly index: FlatIndex,
    readonly length: number,
    readonly components: number,
  ) {}

  static build(keys: readonly string[], matrix: Float32Array, dim: number, length: number): ReferenceIndex {
    const pca = reducePca({ rows: keys.length, dim, data: matrix }, length);
    const c = pca.data.dim;
    const padded = new Float32Array(keys.length * length);
    for (let r = 0; r < keys.length; r++) padded.set(pca.data.data.subarray(r * c, (r + 1) * c), r * length);
    const index = FlatIndex.adopt(keys, padded, length);
    index.int8 = false; // searched with searchSync only: no int8 copy, none stored by save
    return new ReferenceIndex(index, length, c);
  }

  /** Store the space (its vectors and keys under `<prefix>reference-`). */
  async save(storage: Storage, prefix: string): Promise<void> {
    await this.index.save(storage, prefix + REFERENCE_PREFIX);
  }

  /** The stored space, or undefined when any of its files is missing or unreadable. */
  static async load(storage: Storage, prefix: string, components: number): Promise<ReferenceIndex | undefined> {
    try {
      const index = await FlatIndex.load(storage, prefix + REFERENCE_PREFIX);
      return new ReferenceIndex(index, index.dim, components);
    } catch {
      return undefined;
    }
  }

  get count(): number {
    return this.index.allKeys().length;
  }

  search(vector: Float32Array, k: number, excludeKeys?: ReadonlySet<string>): Neighbor[] {
    return this.index.searchSync(vector, { k, ...(excludeKeys ? { excludeKeys } : {}) });
  }
}

/** Where a reference space is stored, and what it must match to be reused. */
export interface ReferenceStore {
  storage: Storage;
  /** Folder of the index within `storage` ('' or ending in '/'). */
  prefix: string;
  modelId: string;
  /** Which build of the index (index.json's createdAt; a collection's name): a rebuilt index refits. */
  build: string;
}

export const REFERENCE_META_FILE = 'reference-pca.json';
const REFERENCE_PREFIX = 'reference-';

const referenceMetaSchema = z.object({
  version: z.literal(1),
  modelId: z.string(),
  build: z.string(),
  count: z.number().int(),
  dim: z.number().int(),
  length: z.number().int(),
  components: z.number().int(),
});
type ReferenceMeta = z.infer<typeof referenceMetaSchema>;

/** Spaces built or read by this process (the server answers many queries), the last few. */
const remembered = new Map<string, { meta: ReferenceMeta; space: ReferenceIndex }>();
const REMEMBER = 2;

function sameSpace(a: Omit<ReferenceMeta, 'components'>, b: Omit<ReferenceMeta, 'components'>): boolean {
  return a.modelId === b.modelId && a.build === b.build && a.count === b.count && a.dim === b.dim && a.length === b.length;
}

/**
 * The reference method's space over every vector of an index (scaled to length 1, as
 * Qdrant stores them, so a local index and a dataset give the same space). With a store,
 * it is fitted once: reused from memory or from the store while the model, build and
 * count match, else refitted (reading every vector once) and stored.
 */
export async function referenceIndexOf(index: VectorIndex, length: number, name: string, store?: ReferenceStore): Promise<ReferenceIndex> {
  const want = { version: 1 as const, modelId: store?.modelId ?? '', build: store?.build ?? '', count: await index.count(), dim: index.dim, length };
  const where = store ? `${store.storage.uri}/${store.prefix}` : undefined;
  if (store && where) {
    const hit = remembered.get(where);
    if (hit && sameSpace(hit.meta, want)) return hit.space;
    const stored = await readStoredReference(store, want);
    if (stored) return remember(where, stored.meta, stored.space);
  }
  const { keys, vectors, dim } = await readAllVectors(index, { unit: true });
  if (keys.length < 2) throw new UserError(`${name} has ${keys.length} indexed image(s); the reference method needs at least 2`);
  const space = ReferenceIndex.build(keys, vectors, dim, length);
  if (!store || !where) return space;
  const meta: ReferenceMeta = { ...want, count: keys.length, components: space.components };
  await space.save(store.storage, store.prefix);
  await store.storage.put(store.prefix + REFERENCE_META_FILE, JSON.stringify(meta, null, 2));
  return remember(where, meta, space);
}

/** Forget the spaces kept in memory (tests; a process that wants the memory back). */
export function forgetReferenceSpaces(): void {
  remembered.clear();
}

function remember(where: string, meta: ReferenceMeta, space: ReferenceIndex): ReferenceIndex {
  remembered.delete(where);
  remembered.set(where, { meta, space });
  while (remembered.size > REMEMBER) remembered.delete(remembered.keys().next().value as string);
  return space;
}

async function readStoredReference(store: ReferenceStore, want: Omit<ReferenceMeta, 'components'>): Promise<{ meta: ReferenceMeta; space: ReferenceIndex } | undefined> {
  let meta: ReferenceMeta;
  try {
    const parsed = referenceMetaSchema.safeParse(JSON.parse((await store.storage.get(store.prefix + REFERENCE_META_FILE)).toString('utf8')));
    if (!parsed.success) return undefined;
    meta = parsed.data;
  } catch {
    return undefined; // none yet, or unreadable: refit
  }
  if (!sameSpace(meta, want)) return undefined;
  const space = await ReferenceIndex.load(store.storage, store.prefix, meta.components);
  return space && space.count === meta.count && space.length === meta.length ? { meta, space } : undefined;
}

/** Where a local index folder keeps its reference space: in the folder. */
export function indexReferenceStore(opened: OpenedIndex): ReferenceStore {
  return { storage: new LocalStorage(opened.dir), prefix: '', modelId: opened.manifest.modelId, build: opened.manifest.createdAt };
}

/** Where a dataset's collection keeps its reference space: its folder in the artefact store. */
export function collectionReferenceStore(artifacts: Storage, index: QdrantVectorIndex): ReferenceStore {
  return { storage: artifacts, prefix: artifactKeys.collectionDir(index.dataset, index.collection), modelId: index.modelId, build: index.collection };
}

