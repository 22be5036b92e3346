// How far apart the local and the queue driver's results are (two-drivers test and
// bench:two-drivers): embeddings by cosine, cluster maps by label and position.
import type { ClustersFile } from '../../shared/analysis/clusters-file.js';
import type { FlatIndex } from '../../shared/vectors/flat-index.js';

/** The lowest cosine between a local vector and its stored counterpart (NaN when one is missing). */
export async function worstCosine(local: FlatIndex, stored: ReadonlyMap<string, Float32Array>): Promise<number> {
  let worst = 1;
  for (const key of local.allKeys()) {
    const a = (await local.vectorOf(key)) as Float32Array;
    const b = stored.get(key);
    if (!b) return Number.NaN;
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = 0; j < a.length; j++) {
      dot += (a[j] as number) * (b[j] as number);
      na += (a[j] as number) ** 2;
      nb += (b[j] as number) ** 2;
    }
    worst = Math.min(worst, dot / Math.sqrt(na * nb));
  }
  return worst;
}

export interface MapDifference {
  /** Points of `a` with the same label in `b`. */
  sameLabel: number;
  /** Points of `a` missing from `b`. */
  missing: string[];
  /** The largest position difference, as a fraction of `a`'s extent. */
  worstMove: number;
}

export function compareMaps(a: ClustersFile, b: ClustersFile): MapDifference {
  const span = Math.max(...Object.values(a.points).map((p) => Math.hypot(p.x, p.y)));
  const diff: MapDifference = { sameLabel: 0, missing: [], worstMove: 0 };
  for (const [key, p] of Object.entries(a.points)) {
    const q = b.points[key];
    if (!q) {
      diff.missing.push(key);
      continue;
    }
    if (q.label === p.label) diff.sameLabel++;
    diff.worstMove = Math.max(diff.worstMove, Math.hypot(q.x - p.x, q.y - p.y) / span);
  }
  return diff;
}
