// "Map regions": k-means on the map's own 2-D coordinates, so that a colour is one area of
// the map (the stored labels come from k-means on the PCA of the embeddings while the
// positions come from t-SNE: one such cluster can show in three or four places).
//
// Written here rather than bundling ml-kmeans (a dependency of the server): that one takes
// arrays of point arrays (50,000 small arrays for a 50k map) and brings ml-matrix and
// friends into the bundle; 2-D Lloyd on flat Float32Arrays is a few dozen lines.
// Deterministic: greedy k-means++ seeding from a seeded generator (mulberry32), ties to the
// lower index, the same input always gives the same regions. Large maps fit on an even sample
// (at most SAMPLE points), then every point is labelled with its nearest centre.
// Labels are renumbered by descending region size (0 = largest), as the stored ones are.
// Pure (no DOM): unit-tested under Node (test/unit/web/kmeans.test.ts).

const SAMPLE = 20_000;
const MAX_ITER = 40;

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Regions {
  /** Per point, its region (0 = the largest). */
  labels: Int32Array;
  /** Points per region, by label. */
  sizes: Int32Array;
  /** Region centres, x then y per label. */
  centres: Float64Array;
  iterations: number;
}

/** Index of the centre nearest (x, y) among the first k of `c` (x, y pairs). */
function nearest(c: Float64Array, k: number, x: number, y: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let j = 0; j < k; j++) {
    const dx = x - (c[2 * j] as number);
    const dy = y - (c[2 * j + 1] as number);
    const d = dx * dx + dy * dy;
    if (d < bestD) {
      bestD = d;
      best = j;
    }
  }
  return best;
}

/** k regions of the points (xs[i], ys[i]); k is capped at the number of points. */
export function mapRegions(xs: ArrayLike<number>, ys: ArrayLike<number>, kWanted: number, seed = 1): Regions {
  const n = xs.length;
  const k = Math.max(1, Math.min(kWanted, n));
  // An even sample of the points (all of them when few).
  const m = Math.min(n, SAMPLE);
  const sx = new Float64Array(m);
  const sy = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const p = Math.floor((i * n) / m);
    sx[i] = xs[p] as number;
    sy[i] = ys[p] as number;
  }
  // Greedy k-means++ (as scikit-learn seeds): each next centre is the best, by the total
  // squared distance it leaves, of 2 + ln k candidates drawn with probability ∝ squared
  // distance to the nearest chosen centre. Plain k-means++ put two centres in one blob of a
  // 20-blob map and one between two others (a local minimum Lloyd's cannot leave); greedy
  // seeding did so on 1 of 30 such maps (one start, not the server's best of 3: ~0.3 s at
  // 50,000 points and k = 220 on this machine is already the wait before the map shows).
  const random = seededRandom(seed);
  const c = new Float64Array(2 * k);
  const d2 = new Float64Array(m).fill(Infinity);
  const trial = new Float64Array(m);
  const best = new Float64Array(m);
  const tries = 2 + Math.floor(Math.log(k));
  const first = Math.floor(random() * m);
  c[0] = sx[first] as number;
  c[1] = sy[first] as number;
  let potential = 0;
  for (let i = 0; i < m; i++) {
    const dx = (sx[i] as number) - c[0];
    const dy = (sy[i] as number) - c[1];
    d2[i] = dx * dx + dy * dy;
    potential += d2[i] as number;
  }
  for (let j = 1; j < k && potential > 0; j++) {
    let bestPotential = Infinity;
    let bestPick = 0;
    for (let t = 0; t < tries; t++) {
      let r = random() * potential;
      let pick = m - 1;
      for (let i = 0; i < m; i++) {
        r -= d2[i] as number;
        if (r < 0) {
          pick = i;
          break;
        }
      }
      const px = sx[pick] as number;
      const py = sy[pick] as number;
      let total = 0;
      for (let i = 0; i < m; i++) {
        const dx = (sx[i] as number) - px;
        const dy = (sy[i] as number) - py;
        const d = Math.min(d2[i] as number, dx * dx + dy * dy);
        trial[i] = d;
        total += d;
      }
      if (total < bestPotential) {
        bestPotential = total;
        bestPick = pick;
        best.set(trial);
      }
    }
    c[2 * j] = sx[bestPick] as number;
    c[2 * j + 1] = sy[bestPick] as number;
    d2.set(best);
    potential = bestPotential;
  }
  // (When every sample point is a centre already — duplicates — the remaining centres stay at
  // the origin and get no points.)
  // Lloyd's iterations on the sample.
  const assign = new Int32Array(m).fill(-1);
  const sumX = new Float64Array(k);
  const sumY = new Float64Array(k);
  const count = new Int32Array(k);
  let iterations = 0;
  for (; iterations < MAX_ITER; iterations++) {
    let changed = 0;
    sumX.fill(0);
    sumY.fill(0);
    count.fill(0);
    for (let i = 0; i < m; i++) {
      const j = nearest(c, k, sx[i] as number, sy[i] as number);
      if (j !== assign[i]) changed++;
      assign[i] = j;
      sumX[j] = (sumX[j] as number) + (sx[i] as number);
      sumY[j] = (sumY[j] as number) + (sy[i] as number);
      count[j] = (count[j] as number) + 1;
    }
    for (let j = 0; j < k; j++) {
      const cnt = count[j] as number;
      if (cnt > 0) {
        c[2 * j] = (sumX[j] as number) / cnt;
        c[2 * j + 1] = (sumY[j] as number) / cnt;
      }
    }
    if (changed === 0) break;
  }
  // Every point to its nearest centre; regions renumbered by size.
  const raw = new Int32Array(n);
  const sizes = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const j = nearest(c, k, xs[i] as number, ys[i] as number);
    raw[i] = j;
    sizes[j] = (sizes[j] as number) + 1;
  }
  const order = Array.from({ length: k }, (_, j) => j).sort((a, b) => (sizes[b] as number) - (sizes[a] as number) || a - b);
  const rename = new Int32Array(k);
  const centres = new Float64Array(2 * k);
  const sorted = new Int32Array(k);
  order.forEach((j, label) => {
    rename[j] = label;
    centres[2 * label] = c[2 * j] as number;
    centres[2 * label + 1] = c[2 * j + 1] as number;
    sorted[label] = sizes[j] as number;
  });
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rename[raw[i] as number] as number;
  return { labels, sizes: sorted, centres, iterations };
}
