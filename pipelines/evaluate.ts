// Retrieval quality on a labelled folder (class = first folder of the key):
// precision@k of the CAE embedding against the raw-pixel baseline at the same size.
import { UserError } from '../shared/errors.js';
import { allNearestNeighbours } from '../shared/vectors/all-neighbours.js';

/** The class of a key: its first path segment. */
export function classOfKey(key: string): string | undefined {
  const slash = key.indexOf('/');
  return slash > 0 ? key.slice(0, slash) : undefined;
}

export function labelsOf(keys: readonly string[]): string[] {
  const labels = keys.map(classOfKey);
  const unlabelled = keys.filter((_, i) => labels[i] === undefined);
  if (unlabelled.length > 0) {
    throw new UserError(
      `A labelled folder keeps each class in its own sub-folder; ${unlabelled.length} image(s) sit at the top level (e.g. ${unlabelled[0]})`,
    );
  }
  if (new Set(labels).size < 2) throw new UserError('A labelled folder needs at least 2 class sub-folders');
  return labels as string[];
}

/** Mean over rows of the share of a row's k nearest neighbours (self excluded) with its label. */
export function precisionAtK(vectors: Float32Array, dim: number, labels: readonly string[], k: number): number {
  const n = labels.length;
  const kk = Math.min(k, n - 1);
  const nn = allNearestNeighbours(vectors, n, dim, kk);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let same = 0;
    for (let j = 0; j < kk; j++) if (labels[nn[i * kk + j] as number] === labels[i]) same++;
    sum += same / kk;
  }
  return sum / n;
}
