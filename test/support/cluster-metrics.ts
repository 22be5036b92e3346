// Agreement between two labellings of the same points (k-means against ground truth), for
// the clustering tests and bench:scale.

/** Normalised mutual information of two labellings (1 = identical up to renaming). */
export function normalisedMutualInformation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const joint = new Map<string, number>();
  const ca = new Map<number, number>();
  const cb = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    joint.set(`${x},${y}`, (joint.get(`${x},${y}`) ?? 0) + 1);
    ca.set(x, (ca.get(x) ?? 0) + 1);
    cb.set(y, (cb.get(y) ?? 0) + 1);
  }
  const h = (m: Map<number, number>): number => [...m.values()].reduce((s, c) => s - (c / n) * Math.log(c / n), 0);
  let mi = 0;
  for (const [k, c] of joint) {
    const [x, y] = k.split(',').map(Number) as [number, number];
    mi += (c / n) * Math.log((c * n) / ((ca.get(x) as number) * (cb.get(y) as number)));
  }
  const denom = (h(ca) + h(cb)) / 2;
  return denom > 0 ? mi / denom : 1;
}

/** Adjusted Rand index of two labellings (1 = identical up to renaming). */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const table = new Map<string, number>();
  const rows = new Map<number, number>();
  const cols = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    table.set(`${x},${y}`, (table.get(`${x},${y}`) ?? 0) + 1);
    rows.set(x, (rows.get(x) ?? 0) + 1);
    cols.set(y, (cols.get(y) ?? 0) + 1);
  }
  const c2 = (v: number): number => (v * (v - 1)) / 2;
  let index = 0;
  for (const v of table.values()) index += c2(v);
  let sa = 0;
  for (const v of rows.values()) sa += c2(v);
  let sb = 0;
  for (const v of cols.values()) sb += c2(v);
  const expected = (sa * sb) / c2(n);
  const max = (sa + sb) / 2;
  return max === expected ? 1 : (index - expected) / (max - expected);
}
