// Feature search on a dataset of the queue-driven pipeline: the candidates are the
// query's autoencoder neighbours in the dataset's Qdrant collection (searchDataset),
// their images are read from the dataset's source (S3 or a folder) when matched; the
// reference method's PCA space is built from every vector of the collection.
import { UserError } from '../../shared/errors.js';
import type { Storage } from '../../shared/storage/types.js';
import type { FeatureCandidate, ImageSource } from '../features.js';
import { ReferenceIndex } from '../features.js';
import { readCollectionVectors } from './collection-vectors.js';
import type { StageDeps } from './deps.js';
import type { ModelCache } from '../../shared/model/cache.js';
import { searchDataset } from './search-dataset.js';

type Deps = Pick<StageDeps, 'runs' | 'qdrant' | 'config' | 'openSource'> & { models: ModelCache };

export interface DatasetCandidates {
  candidates: FeatureCandidate[];
  imageOf: (key: string) => ImageSource;
  /** The reference method's index over the dataset's live collection (reads every vector). */
  referenceIndex: (length: number) => Promise<ReferenceIndex>;
}

export async function candidatesFromDataset(
  dataset: string,
  query: Buffer,
  queryName: string,
  n: number,
  deps: Deps,
): Promise<DatasetCandidates> {
  const record = await deps.runs.getDataset(dataset);
  if (!record) throw new UserError(`Dataset "${dataset}" not found: no run has completed for it yet`);
  const source: Storage = await deps.openSource(record.source);
  const imageOf = (key: string): ImageSource => () => source.get(key);
  const { hits } = await searchDataset(dataset, query, queryName, { k: n }, deps);
  return {
    candidates: hits.map((h) => ({ key: h.key, aeScore: h.score, image: imageOf(h.key) })),
    imageOf,
    referenceIndex: async (length) => {
      const { keys, dim, vectors } = await readCollectionVectors(deps.qdrant, record.collection, dataset);
      if (keys.length < 2) throw new UserError(`Dataset "${dataset}" has ${keys.length} indexed image(s); the reference method needs at least 2`);
      return ReferenceIndex.build(keys, vectors, dim, length);
    },
  };
}
