// The remote adapters of a queued dataset, for the stages that read it (search, features):
// its live collection as a VectorIndex, the model that built it, and its source. The
// registry's (model, collection) pair is used, not the alias: while a re-index swaps the
// alias to a collection built by another model, the pair stays consistent.
import { UserError } from '../errors.js';
import type { ModelCache } from '../model/cache.js';
import type { LoadedModel } from '../model/store.js';
import type { Storage } from '../storage/types.js';
import type { QdrantStore } from '../vectors/qdrant/index.js';
import { QdrantVectorIndex } from '../vectors/qdrant/index.js';
import type { DatasetRecord, RunStore } from './index.js';

export interface OpenedDataset {
  record: DatasetRecord;
  index: QdrantVectorIndex;
  model: LoadedModel;
  /** The dataset's source (S3 or a folder), opened on first use. */
  source(): Promise<Storage>;
}

export interface DatasetDeps {
  runs: RunStore;
  qdrant: QdrantStore;
  models: ModelCache;
  openSource(uri: string): Promise<Storage>;
}

export async function openDataset(name: string, deps: DatasetDeps): Promise<OpenedDataset> {
  const record = await deps.runs.getDataset(name);
  if (!record) throw new UserError(`Dataset "${name}" not found: no run has completed for it yet`);
  const model = await deps.models.get(record.modelId);
  return { record, index: datasetIndex(deps.qdrant, record, model), model, source: () => deps.openSource(record.source) };
}

/** The dataset's live collection (the registry's) as a VectorIndex of its model's vectors. */
export function datasetIndex(qdrant: QdrantStore, record: DatasetRecord, model: LoadedModel): QdrantVectorIndex {
  return new QdrantVectorIndex(qdrant, { collection: record.collection, dataset: record.name, modelId: record.modelId, dim: model.meta.embeddingDim });
}
