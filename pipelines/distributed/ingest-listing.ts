// The queue's ingest, below its handler (handlers.ts ingestJob): list the source into the
// run's listing pages without holding the listing (incremental runs compare it with the
// live collection and remove what is gone), and draw the training sample from the pages.
import type { JobPayload } from '../../shared/jobs/contracts.js';
import type { ObjectRef } from '../../shared/jobs/scheduler.js';
import type { Failure } from '../../shared/images/decoded.js';
import type { KeySet } from '../../shared/vectors/hashed-keys.js';
import { QdrantVectorIndex } from '../../shared/vectors/qdrant/index.js';
import { scanSource, TrainingSample } from '../ingest.js';
import type { StageDeps } from './deps.js';
import { LISTING_PAGE, ListingWriter, listingPages, type ListingManifest } from './handoffs.js';
import { inPlaceTarget } from './reindex.js';

export async function listIntoPages(p: JobPayload<'ingest'>, deps: StageDeps): Promise<ListingManifest> {
  const { runs, qdrant } = deps;
  await runs.setStatus(p.runId, 'listing');
  const source = await deps.openSource(p.source);
  const inPlace = p.mode === 'missing' && p.modelId ? await inPlaceTarget(p.dataset, p.modelId, deps) : undefined;
  if (inPlace !== undefined) await runs.setStatus(p.runId, 'listing', { collection: inPlace });
  const indexed = inPlace !== undefined ? await qdrant.indexedVersions(inPlace, p.dataset) : undefined;
  const pages = new ListingWriter(deps.artifacts, p.runId);
  let ignored: Failure[] = [];
  let found = 0;
  const recordIgnored = async (): Promise<void> => {
    if (ignored.length > 0) await runs.markFailed(p.runId, ignored);
    ignored = [];
  };
  const scanned = await scanSource(source, indexed ? { indexed } : {}, {
    async image(ref, toEmbed) {
      if (!toEmbed) return;
      await pages.add(ref);
      // The run's total grows while a large bucket is listed: run-status shows it moving.
      if (++found % LISTING_PAGE === 0) await runs.setTotal(p.runId, found);
    },
    async ignored(failure) {
      ignored.push(failure);
      if (ignored.length >= 1000) await recordIgnored();
    },
  });
  await recordIgnored();
  const removed = inPlace !== undefined && p.modelId && scanned.listedKeys ? await removeGone(inPlace, p.modelId, scanned.listedKeys, p, deps) : 0;
  return pages.finish({ listed: scanned.listed, toEmbed: scanned.toEmbed, ignored: scanned.ignored, removed });
}

/** Remove from the collection, a page at a time, the points whose object the source no longer lists. */
async function removeGone(collection: string, modelId: string, listed: KeySet, p: JobPayload<'ingest'>, deps: StageDeps): Promise<number> {
  const index = await QdrantVectorIndex.existing(deps.qdrant, { collection, dataset: p.dataset, modelId });
  let gone: string[] = [];
  let removed = 0;
  for await (const point of deps.qdrant.scroll(collection, { dataset: p.dataset, payloadFields: [], pageSize: 1000 })) {
    if (!listed.has(point.key)) gone.push(point.key);
    if (gone.length >= 1000) {
      // Removing while scrolling: Qdrant's scroll resumes from an id, so removed points are not skipped over.
      await index.remove(gone);
      removed += gone.length;
      gone = [];
    }
  }
  if (gone.length > 0) await index.remove(gone);
  return removed + gone.length;
}

/** The seeded training sample, drawn from the listing pages (a run that trains embeds every image it lists). */
export async function sampleOfListing(p: JobPayload<'ingest'>, deps: StageDeps): Promise<ObjectRef[]> {
  const sample = new TrainingSample(deps.config.trainSample, deps.config.seed);
  for await (const page of listingPages(deps.artifacts, p.runId)) for (const ref of page) sample.offer(ref);
  return sample.result(p.source);
}
