// What one job of a run hands to the next through the artefact store:
//   runs/<runId>/listing/<n>.json          the images to embed, a page of LISTING_PAGE at a time
//   runs/<runId>/listing/manifest.json     written last: the page count and the listing's counts
//                                          (ingest → train's sample, fan-out, retry-failed)
//   runs/<runId>/batches/<attempt><n>.npy  one embedded batch's vectors (embed → index),
//   runs/<runId>/batches/<attempt><n>.json  with its keys, versions and sizes
// The listing is paged so that no process holds a whole bucket's listing: ingest writes
// it as the source is listed, the fan-out reads it page by page. A run listed by an
// older imgsim has runs/<runId>/listing.json (one array) instead; it is read as one page.
import { z } from 'zod';
import type { ObjectRef } from '../../shared/jobs/scheduler.js';
import { decodeNpy, encodeNpy } from '../../shared/npy.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import type { Storage } from '../../shared/storage/types.js';
import type { EmbeddedImages } from '../embed.js';

/** Images per listing page (~1 MB of JSON). */
export const LISTING_PAGE = 10_000;

const refsSchema = z.array(z.object({ key: z.string(), etag: z.string() }));

const manifestSchema = z.object({
  pages: z.number().int().min(0),
  /** Image objects listed; of those, the images to embed (the pages' refs). */
  listed: z.number().int().min(0),
  toEmbed: z.number().int().min(0),
  /** Files that are not images (recorded as the run's failures while listing). */
  ignored: z.number().int().min(0),
  /** Indexed points removed because their object is gone (incremental runs). */
  removed: z.number().int().min(0),
});
export type ListingManifest = z.infer<typeof manifestSchema>;

/** Writes a run's listing page by page as it is produced; `finish` commits it. */
export class ListingWriter {
  private page: ObjectRef[] = [];
  private pages = 0;

  constructor(
    private readonly artifacts: Storage,
    private readonly runId: string,
    private readonly pageSize = LISTING_PAGE,
  ) {}

  async add(ref: ObjectRef): Promise<void> {
    this.page.push(ref);
    if (this.page.length >= this.pageSize) await this.flush();
  }

  /** Write the last page and the manifest (a listing without one is incomplete and listed again). */
  async finish(counts: Omit<ListingManifest, 'pages'>): Promise<ListingManifest> {
    await this.flush();
    const manifest: ListingManifest = { pages: this.pages, ...counts };
    await this.artifacts.put(artifactKeys.listingManifest(this.runId), JSON.stringify(manifest));
    return manifest;
  }

  private async flush(): Promise<void> {
    if (this.page.length === 0) return;
    await this.artifacts.put(artifactKeys.listingPage(this.runId, this.pages), JSON.stringify(this.page));
    this.pages++;
    this.page = [];
  }
}

/** The run's committed listing manifest, or undefined when no complete paged listing exists. */
export async function readListingManifest(artifacts: Storage, runId: string): Promise<ListingManifest | undefined> {
  const key = artifactKeys.listingManifest(runId);
  if (!(await artifacts.exists(key))) return undefined;
  return manifestSchema.parse(JSON.parse((await artifacts.get(key)).toString('utf8')));
}

/** The run's listing, one page at a time (a legacy listing.json is one page). */
export async function* listingPages(artifacts: Storage, runId: string): AsyncGenerator<ObjectRef[]> {
  const manifest = await readListingManifest(artifacts, runId);
  if (!manifest) {
    const legacy = artifactKeys.legacyListing(runId);
    if (!(await artifacts.exists(legacy))) throw new Error(`Run ${runId} has no listing (${artifactKeys.listingManifest(runId)} is missing)`);
    yield refsSchema.parse(JSON.parse((await artifacts.get(legacy)).toString('utf8')));
    return;
  }
  for (let page = 0; page < manifest.pages; page++) {
    yield refsSchema.parse(JSON.parse((await artifacts.get(artifactKeys.listingPage(runId, page))).toString('utf8')));
  }
}

/** Regroup pages of items into batches of `size` (the last one may be shorter). */
export async function* rebatch<T>(pages: AsyncIterable<readonly T[]>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const page of pages) {
    for (const item of page) {
      batch.push(item);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

const snapshotMetaSchema = z.object({
  modelId: z.string(),
  keys: z.array(z.string()),
  etags: z.array(z.string()),
  widths: z.array(z.number()),
  heights: z.array(z.number()),
});

export interface BatchRef {
  runId: string;
  attempt: string;
  batch: number;
}

export async function writeSnapshot(artifacts: Storage, ref: BatchRef, e: EmbeddedImages): Promise<void> {
  const meta: z.infer<typeof snapshotMetaSchema> = { modelId: e.modelId, keys: e.keys, etags: e.etags, widths: e.widths, heights: e.heights };
  await artifacts.put(artifactKeys.snapshot(ref.runId, ref.attempt, ref.batch), encodeNpy({ rows: e.keys.length, cols: e.dim, data: e.vectors }));
  await artifacts.put(artifactKeys.snapshotIds(ref.runId, ref.attempt, ref.batch), JSON.stringify(meta));
}

/** The embedded batch, or undefined when the embed job never wrote it (it gave up). */
export async function readSnapshot(artifacts: Storage, ref: BatchRef): Promise<EmbeddedImages | undefined> {
  const idsKey = artifactKeys.snapshotIds(ref.runId, ref.attempt, ref.batch);
  if (!(await artifacts.exists(idsKey))) return undefined;
  const meta = snapshotMetaSchema.parse(JSON.parse((await artifacts.get(idsKey)).toString('utf8')));
  const m = decodeNpy(await artifacts.get(artifactKeys.snapshot(ref.runId, ref.attempt, ref.batch)));
  if (m.rows !== meta.keys.length) throw new Error(`Snapshot ${ref.runId}/${ref.batch}: ${m.rows} vectors for ${meta.keys.length} keys`);
  return { ...meta, dim: m.cols, vectors: m.data };
}
