// Search a dataset of the queue-driven pipeline: embed the query with the dataset's
// current model and query the collection that model built (the registry keeps the pair).
import type { Config } from '../../shared/config/index.js';
import { UserError } from '../../shared/errors.js';
import type { RunStore } from '../../shared/runs/index.js';
import type { Storage } from '../../shared/storage/types.js';
import type { QdrantStore, SearchHit } from '../../shared/vectors/qdrant/index.js';
import type { ModelCache } from '../../shared/model/cache.js';
import { embedQuery } from '../search.js';

export async function searchDataset(
  dataset: string,
  image: Buffer,
  name: string,
  o: { k: number; excludeKeys?: string[] },
  deps: { runs: RunStore; qdrant: QdrantStore; models: ModelCache; config: Config },
): Promise<{ modelId: string; hits: SearchHit[] }> {
  const record = await deps.runs.getDataset(dataset);
  if (!record) throw new UserError(`Dataset "${dataset}" not found: no run has completed for it yet`);
  const model = await deps.models.get(record.modelId);
  const vector = await embedQuery(model, image, name, deps.config.maxPixels);
  // The registry's (model, collection) pair stays consistent while a re-index swaps the
  // alias to a collection built by another model.
  const hits = await deps.qdrant.search(record.collection, vector, {
    k: o.k,
    filter: { dataset },
    ...(o.excludeKeys ? { excludeKeys: o.excludeKeys } : {}),
  });
  return { modelId: record.modelId, hits };
}

/** Bytes of the hits' images from the dataset's source (empty when unreadable), for contact sheets. */
export async function hitImages(source: Storage, hits: readonly SearchHit[]): Promise<Buffer[]> {
  return Promise.all(hits.map((h) => source.get(h.key).catch(() => Buffer.alloc(0))));
}
