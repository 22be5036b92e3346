// What one job of a run hands to the next through the artefact store:
//   runs/<runId>/listing.json             the images to embed (ingest → train, fan-out, retry-failed)
//   runs/<runId>/batches/<attempt><n>.npy  one embedded batch's vectors (embed → index),
//   runs/<runId>/batches/<attempt><n>.json  with its keys, versions and sizes
import { z } from 'zod';
import type { ObjectRef } from '../../shared/jobs/scheduler.js';
import { decodeNpy, encodeNpy } from '../../shared/npy.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import type { Storage } from '../../shared/storage/types.js';
import type { EmbeddedImages } from '../embed.js';

const listingSchema = z.array(z.object({ key: z.string(), etag: z.string() }));

export async function writeListing(artifacts: Storage, runId: string, listing: readonly ObjectRef[]): Promise<void> {
  await artifacts.put(artifactKeys.listing(runId), JSON.stringify(listing));
}

export async function readListing(artifacts: Storage, runId: string): Promise<ObjectRef[]> {
  const raw: unknown = JSON.parse((await artifacts.get(artifactKeys.listing(runId))).toString('utf8'));
  return listingSchema.parse(raw);
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
