// A VectorIndex over whatever a scan function yields (generated pages, a shuffled
// array), for feeding clusterIndex — the stage the workers run — in tests and in
// `npm run bench:scale` without Qdrant or a FlatIndex holding every vector. Only what
// the cluster stage calls is implemented: count, scan, setClusters.
import type { ClusterPlacement, IndexPoint, Neighbor, VectorIndex } from '../../../shared/vectors/types.js';

export class ScanIndex implements VectorIndex {
  /** What setClusters recorded (count of points, or the placements when kept). */
  clustered = 0;
  placements: readonly ClusterPlacement[] | undefined;

  constructor(
    readonly dim: number,
    private readonly size: number,
    private readonly pages: () => AsyncIterable<{ key: string; vector: Float32Array }>,
    private readonly keepPlacements = true,
  ) {}

  count(): Promise<number> {
    return Promise.resolve(this.size);
  }

  scan(): AsyncIterable<{ key: string; vector: Float32Array }> {
    return this.pages();
  }

  setClusters(points: readonly ClusterPlacement[]): Promise<void> {
    this.clustered = points.length;
    if (this.keepPlacements) this.placements = points;
    return Promise.resolve();
  }

  upsert(_points: readonly IndexPoint[]): Promise<void> {
    return Promise.reject(new Error('ScanIndex is read-only'));
  }

  remove(_keys: readonly string[]): Promise<void> {
    return Promise.reject(new Error('ScanIndex is read-only'));
  }

  search(): Promise<Neighbor[]> {
    return Promise.reject(new Error('ScanIndex does not search'));
  }

  vectorOf(): Promise<Float32Array | undefined> {
    return Promise.resolve(undefined);
  }
}

/** A ScanIndex over fixed rows, yielded in the given order (pages of `page`). */
export function arrayIndex(keys: readonly string[], data: Float32Array, dim: number, order?: readonly number[]): ScanIndex {
  const rows = order ?? keys.map((_, i) => i);
  return new ScanIndex(dim, keys.length, async function* () {
    for (const i of rows) {
      await Promise.resolve();
      yield { key: keys[i] as string, vector: data.subarray(i * dim, (i + 1) * dim) };
    }
  });
}
