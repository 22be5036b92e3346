// Scoring duplicate groups against known families (imgsim eval-duplicates): an original
// and its edited copies form one family; an image outside every family is its own.
//
//   true pairs       every two images of one family
//   predicted pairs  every two images of one group
//   precision        correct predicted pairs / predicted pairs
//   recall           correct predicted pairs / true pairs
// Counted per group and family (Σ C(n, 2)), never by listing the pairs: a group of 1,000
// members is 499,500 pairs. Pure: no I/O.
import { tierAtLeast, TIERS, type Tier } from './tiers.js';

/** A confirmed pair of images, by key, with the tier of its evidence. */
export interface Edge {
  a: string;
  b: string;
  tier: Tier;
}

export interface PairScore {
  truePairs: number;
  predicted: number;
  correct: number;
  /** null when nothing was predicted. */
  precision: number | null;
  /** null when there is no true pair. */
  recall: number | null;
}

const choose2 = (n: number): number => (n * (n - 1)) / 2;
const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

/** Connected components (two or more members) of the edges at or above `minTier`, members sorted, largest first. */
export function groupsOf(edges: readonly Edge[], minTier: Tier): string[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    while (x !== r) {
      const next = parent.get(x) as string;
      parent.set(x, r);
      x = next;
    }
    return r;
  };
  for (const e of edges) {
    if (!tierAtLeast(e.tier, minTier)) continue;
    for (const k of [e.a, e.b]) if (!parent.has(k)) parent.set(k, k);
    const ra = find(e.a);
    const rb = find(e.b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
  const byRoot = new Map<string, string[]>();
  for (const k of parent.keys()) {
    const r = find(k);
    const g = byRoot.get(r);
    if (g) g.push(k);
    else byRoot.set(r, [k]);
  }
  return [...byRoot.values()].map((g) => g.sort()).sort((x, y) => y.length - x.length || ((x[0] as string) < (y[0] as string) ? -1 : 1));
}

/** The family of `key`: its entry in `familyOf`, else the key itself (an image alone). */
const familyOf = (families: ReadonlyMap<string, string>, key: string): string => families.get(key) ?? key;

/** Pair precision and recall of `groups` against `families` (key → family id; keys absent are families of one). */
export function pairScore(groups: ReadonlyArray<readonly string[]>, families: ReadonlyMap<string, string>): PairScore {
  const sizes = new Map<string, number>();
  for (const f of families.values()) sizes.set(f, (sizes.get(f) ?? 0) + 1);
  let truePairs = 0;
  for (const n of sizes.values()) truePairs += choose2(n);
  let predicted = 0;
  let correct = 0;
  for (const g of groups) {
    predicted += choose2(g.length);
    const inGroup = new Map<string, number>();
    for (const k of g) {
      const f = familyOf(families, k);
      inGroup.set(f, (inGroup.get(f) ?? 0) + 1);
    }
    for (const n of inGroup.values()) correct += choose2(n);
  }
  return { truePairs, predicted, correct, precision: ratio(correct, predicted), recall: ratio(correct, truePairs) };
}

export interface TierScore {
  /** Confirmed pairs whose evidence is this tier, and how many join two images of one family. */
  pairs: number;
  correct: number;
  precision: number | null;
  /** The groups made of the pairs of this tier and every stronger one, scored as pairScore. */
  cumulative: PairScore;
}

/** For each tier: its own pairs' precision, and the pair score of grouping by it and the stronger tiers. */
export function tierScores(edges: readonly Edge[], families: ReadonlyMap<string, string>): Record<Tier, TierScore> {
  const out = {} as Record<Tier, TierScore>;
  for (const tier of TIERS) {
    const own = edges.filter((e) => e.tier === tier);
    const correct = own.filter((e) => familyOf(families, e.a) === familyOf(families, e.b)).length;
    out[tier] = { pairs: own.length, correct, precision: ratio(correct, own.length), cumulative: pairScore(groupsOf(edges, tier), families) };
  }
  return out;
}

/** Confirmed pairs joining two different families, in the order given. */
export function falseEdges<E extends Edge>(edges: readonly E[], families: ReadonlyMap<string, string>): E[] {
  return edges.filter((e) => familyOf(families, e.a) !== familyOf(families, e.b));
}

/** Pairs of `originals` that share a group: distinct pictures reported as duplicates. */
export function originalsGrouped(groups: ReadonlyArray<readonly string[]>, originals: ReadonlySet<string>): number {
  let n = 0;
  for (const g of groups) n += choose2(g.filter((k) => originals.has(k)).length);
  return n;
}

export interface EditedCopy<K extends string> {
  key: string;
  original: string;
  kind: K;
}

export interface KindScore {
  copies: number;
  /** Copies in the same group as their original. */
  grouped: number;
  recall: number | null;
  /** Copies with a confirmed pair with their original itself (at or above the tier grouped by). */
  direct: number;
  directRate: number | null;
  /** The tier of that direct pair, at any tier, as counts. */
  directTiers: Partial<Record<Tier, number>>;
  /** Copies not grouped with their original, by key. */
  missed: string[];
}

/** Per kind of edit: how many copies share a group with their original, and how many are paired with it directly. */
export function kindScores<K extends string>(kinds: readonly K[], copies: ReadonlyArray<EditedCopy<K>>, edges: readonly Edge[], minTier: Tier): Record<K, KindScore> {
  const groupOf = new Map<string, number>();
  groupsOf(edges, minTier).forEach((g, i) => {
    for (const k of g) groupOf.set(k, i);
  });
  const direct = new Map<string, Tier>();
  const pairKey = (a: string, b: string): string => (a < b ? `${a}\n${b}` : `${b}\n${a}`);
  for (const e of edges) {
    const k = pairKey(e.a, e.b);
    const seen = direct.get(k);
    if (seen === undefined || TIERS.indexOf(e.tier) < TIERS.indexOf(seen)) direct.set(k, e.tier);
  }
  const out = Object.fromEntries(kinds.map((k) => [k, { copies: 0, grouped: 0, recall: null, direct: 0, directRate: null, directTiers: {}, missed: [] as string[] }])) as Record<K, KindScore>;
  for (const c of copies) {
    const s = out[c.kind];
    s.copies++;
    const g = groupOf.get(c.key);
    if (g !== undefined && g === groupOf.get(c.original)) s.grouped++;
    else s.missed.push(c.key);
    const tier = direct.get(pairKey(c.key, c.original));
    if (tier !== undefined) {
      s.directTiers[tier] = (s.directTiers[tier] ?? 0) + 1;
      if (tierAtLeast(tier, minTier)) s.direct++;
    }
  }
  for (const s of Object.values<KindScore>(out)) {
    s.recall = ratio(s.grouped, s.copies);
    s.directRate = ratio(s.direct, s.copies);
  }
  return out;
}

/**
 * Whether `original` is among the first `k` of `ranked` (a copy's candidates, best first),
 * leaving out the keys `skip` says to (e.g. the copy's siblings: other edits of one original).
 */
export function foundInTop(ranked: readonly string[], original: string, k: number, skip: (key: string) => boolean = () => false): boolean {
  let seen = 0;
  for (const key of ranked) {
    if (skip(key)) continue;
    if (key === original) return true;
    if (++seen >= k) return false;
  }
  return false;
}
