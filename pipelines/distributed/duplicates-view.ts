// A duplicates report grouped once, for GET /v1/datasets/{name}/duplicates to page through
// (workers/server/duplicate-groups-cache.ts keeps them): the groups at one minTier, less
// the dismissed pairs, each already serialised as the API sends it, so that a page is a
// slice and a join — no parse, no grouping, no JSON.stringify of the groups per request.
//
//   buildViewData   the heavy part (parse, validate, group, serialise: ~2 s at 100,000
//                   pairs), a pure function of the report's bytes, the dismissed pairs and
//                   minTier: it runs in a worker thread (duplicates-view-offloop.ts) and
//                   returns typed arrays and one byte buffer, moved back without a copy;
//   GroupsView      that data on the caller's thread: pages (as bytes), and a dismissal
//                   applied by regrouping only the group holding both images — the only one a
//                   dismissal can change (it can split it, never join two).
//
// The groups are groupsOf's (duplicates-results.ts, the grouping readGroups does per
// request), so pages are byte for byte what readGroups's answer serialises to.
import { UserError } from '../../shared/errors.js';
import { groupPairs, pairId, type DuplicateGroup, type GroupImage } from '../../shared/duplicates/groups.js';
import type { PairEvidence } from '../../shared/duplicates/pairs.js';
import { DEFAULT_MIN_TIER, TIERS, type Tier } from '../../shared/duplicates/tiers.js';
import type { DuplicatePass } from '../../shared/runs/duplicate-passes.js';
import { groupsOf, type GroupsPage, type GroupsQuery } from './duplicates-results.js';
import { reportSchema, type StoredReport } from './duplicates-store.js';

/**
 * The stored report (or the dismissals file) cannot be read as one: our fault, not the
 * client's — the server answers 500, unlike readJson's UserError (a 400 / the CLI's exit 2).
 */
export class DamagedReportError extends Error {
  override readonly name = 'DamagedReportError';
}

export type ReportSummary = NonNullable<GroupsPage['report']>;

/** What buildViewData hands back: plain data and typed arrays (transferable between threads). */
export interface ViewData {
  minTier: Tier;
  /** The report less its pairs, members and failures (as readGroups's `report`, dismissed count included). */
  summary: ReportSummary;
  /** Every group's JSON, largest group first, concatenated (UTF-8); group i is bytes ends[i−1] … ends[i]. */
  json: Uint8Array;
  ends: Float64Array;
  /** Each group's strongest tier (index in TIERS), member count, keeper (the order's tie-break). */
  tiers: Uint8Array;
  sizes: Int32Array;
  keepers: string[];
  /** hash52 of every member key, ascending, and the group it is in (same order). */
  keyHashes: Float64Array;
  keyGroups: Int32Array;
  /** hash52 of the pairId of every pair of the report (every tier), ascending: is a newly dismissed pair one of the report's. */
  pairHashes: Float64Array;
}

/** A 52-bit hash of a string (two 32-bit FNV-1a-style lanes): an index, not an identity — hits are checked against the group. */
export function hash52(s: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0) * 0x100000 + ((h2 >>> 0) & 0xfffff);
}

/** Parse and validate a stored report; DamagedReportError when it is none. */
export function parseReport(bytes: Uint8Array): StoredReport {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw new DamagedReportError(`the stored duplicates report is not valid JSON (${error instanceof Error ? error.message : String(error)}): run a new pass`);
  }
  const parsed = reportSchema.safeParse(raw);
  if (!parsed.success) throw new DamagedReportError('the stored duplicates report is damaged or from another version of imgsim: run a new pass');
  return parsed.data;
}

/** Groups of a report at minTier without the dismissed pairs (groupsOf, as readGroups does), and the dismissed pairs the report holds. */
export function groupReport(report: StoredReport, dismissed: ReadonlySet<string>, minTier: Tier): { groups: DuplicateGroup[]; dismissedCount: number } {
  const groups = groupsOf(report, dismissed, minTier);
  let dismissedCount = 0;
  for (const p of report.pairs) if (dismissed.has(pairId(p.a, p.b))) dismissedCount++;
  return { groups, dismissedCount };
}

function sortedBy(hashes: Float64Array, values: Int32Array): { hashes: Float64Array; values: Int32Array } {
  const order = Array.from(hashes.keys()).sort((x, y) => (hashes[x] as number) - (hashes[y] as number));
  return { hashes: Float64Array.from(order, (i) => hashes[i] as number), values: Int32Array.from(order, (i) => values[i] as number) };
}

/** The heavy part, for a worker thread: the report's bytes grouped at minTier, each group serialised. */
export function buildViewData(bytes: Uint8Array, dismissedIds: readonly string[], minTier: Tier): ViewData {
  const report = parseReport(bytes);
  const { groups, dismissedCount } = groupReport(report, new Set(dismissedIds), minTier);
  const { pairs, members: _members, failed, version: _version, ...rest } = report;
  const texts = groups.map((g) => JSON.stringify(g));
  const json = new TextEncoder().encode(texts.join(''));
  const ends = new Float64Array(groups.length);
  let end = 0;
  texts.forEach((t, i) => (ends[i] = end += Buffer.byteLength(t)));
  const memberCount = groups.reduce((n, g) => n + g.members.length, 0);
  const keyHashes = new Float64Array(memberCount);
  const keyGroups = new Int32Array(memberCount);
  let k = 0;
  groups.forEach((g, i) => {
    for (const m of g.members) {
      keyHashes[k] = hash52(m.key);
      keyGroups[k++] = i;
    }
  });
  const keys = sortedBy(keyHashes, keyGroups);
  return {
    minTier,
    summary: { ...rest, failed: failed.length, dismissed: dismissedCount },
    json,
    ends,
    tiers: Uint8Array.from(groups, (g) => TIERS.indexOf(g.tier)),
    sizes: Int32Array.from(groups, (g) => g.members.length),
    keepers: groups.map((g) => g.keeper),
    keyHashes: keys.hashes,
    keyGroups: keys.values,
    pairHashes: Float64Array.from(pairs, (p) => hash52(pairId(p.a, p.b))).sort(),
  };
}

/** One group of a view: its JSON bytes and what orders and filters it. */
interface ViewGroup {
  json: Buffer;
  tier: Tier;
  size: number;
  keeper: string;
}

/** The group order of groupPairs: more members first, then the keeper's key. */
function before(x: ViewGroup, y: ViewGroup): boolean {
  return x.size !== y.size ? x.size > y.size : x.keeper < y.keeper;
}

function lowerBound(hashes: Float64Array, h: number): number {
  let lo = 0;
  let hi = hashes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((hashes[mid] as number) < h) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const COMMA = Buffer.from(',');

/** The page's fields besides the groups, in readGroups's order (the bytes must match its answer's). */
interface PageHead {
  dataset: string;
  pass?: DuplicatePass;
  minTier: Tier;
  tier?: Tier;
  offset: number;
  limit: number;
}

/** The minTier a query groups at (readGroups's rule): a tier filter weaker than the default widens it; a contradiction is the client's error. */
export function minTierOf(q: Pick<GroupsQuery, 'minTier' | 'tier'>): Tier {
  const minTier = q.minTier ?? (q.tier && TIERS.indexOf(q.tier) > TIERS.indexOf(DEFAULT_MIN_TIER) ? q.tier : DEFAULT_MIN_TIER);
  if (q.tier && TIERS.indexOf(q.tier) > TIERS.indexOf(minTier)) {
    throw new UserError(`tier: "${q.tier}" is weaker than minTier "${minTier}", so no group can have it; ask with minTier=${q.tier} or without minTier`);
  }
  return minTier;
}

/** The answer when the dataset has no report yet, as readGroups gives it. */
export function emptyPage(dataset: string, q: GroupsQuery, pass: DuplicatePass | undefined): Buffer {
  const minTier = minTierOf(q);
  return Buffer.from(JSON.stringify({ dataset, ...(pass ? { pass } : {}), minTier, ...(q.tier ? { tier: q.tier } : {}), offset: q.offset, limit: q.limit, total: 0, groups: [] }));
}

export class GroupsView {
  readonly minTier: Tier;
  readonly summary: ReportSummary;
  /** Largest first (before()). */
  private readonly groups: ViewGroup[];
  private readonly keyHashes: Float64Array;
  /** The group holding each hashed key (parallel to keyHashes; null once a dismissal left it in none). */
  private readonly keyGroups: Array<ViewGroup | null>;
  private readonly pairHashes: Float64Array;
  private readonly byTier = new Map<Tier, ViewGroup[]>();
  /** Bytes held (what the cache bounds): the groups' JSON and the indexes. */
  readonly bytes: number;

  private constructor(o: { minTier: Tier; summary: ReportSummary; groups: ViewGroup[]; keyHashes: Float64Array; keyGroups: Array<ViewGroup | null>; pairHashes: Float64Array; bytes: number }) {
    this.minTier = o.minTier;
    this.summary = o.summary;
    this.groups = o.groups;
    this.keyHashes = o.keyHashes;
    this.keyGroups = o.keyGroups;
    this.pairHashes = o.pairHashes;
    this.bytes = o.bytes;
  }

  static from(d: ViewData): GroupsView {
    const whole = Buffer.from(d.json.buffer, d.json.byteOffset, d.json.byteLength);
    const groups: ViewGroup[] = new Array<ViewGroup>(d.ends.length);
    let start = 0;
    for (let i = 0; i < groups.length; i++) {
      const end = d.ends[i] as number;
      groups[i] = { json: whole.subarray(start, end), tier: TIERS[d.tiers[i] as number] as Tier, size: d.sizes[i] as number, keeper: d.keepers[i] as string };
      start = end;
    }
    const keyGroups = Array.from(d.keyGroups, (g) => groups[g] as ViewGroup);
    const bytes = d.json.byteLength + 120 * groups.length + 16 * d.keyHashes.length + 8 * d.pairHashes.length;
    return new GroupsView({ minTier: d.minTier, summary: d.summary, groups, keyHashes: d.keyHashes, keyGroups, pairHashes: d.pairHashes, bytes });
  }

  /** Groups matching a tier filter (all without one). */
  private listOf(tier: Tier | undefined): ViewGroup[] {
    if (tier === undefined) return this.groups;
    let list = this.byTier.get(tier);
    if (!list) this.byTier.set(tier, (list = this.groups.filter((g) => g.tier === tier)));
    return list;
  }

  /** Groups matching the query's tier filter. */
  total(tier: Tier | undefined): number {
    return this.listOf(tier).length;
  }

  /** A page as the bytes of readGroups's answer (JSON.stringify of it). */
  page(dataset: string, q: GroupsQuery, pass: DuplicatePass | undefined): Buffer {
    const list = this.listOf(q.tier);
    const slice = list.slice(q.offset, q.offset + q.limit);
    const head: PageHead & Record<string, unknown> = { dataset, ...(pass ? { pass } : {}), minTier: this.minTier, ...(q.tier ? { tier: q.tier } : {}), offset: q.offset, limit: q.limit };
    const rest = { report: this.summary, total: list.length, ...(q.offset + slice.length < list.length ? { nextOffset: q.offset + slice.length } : {}) };
    const open = JSON.stringify({ ...head, ...rest }).slice(0, -1);
    const parts: Buffer[] = [Buffer.from(`${open},"groups":[`)];
    slice.forEach((g, i) => {
      if (i > 0) parts.push(COMMA);
      parts.push(g.json);
    });
    parts.push(Buffer.from(']}'));
    return Buffer.concat(parts);
  }

  private reportHasPair(id: string): boolean {
    const h = hash52(id);
    const i = lowerBound(this.pairHashes, h);
    return this.pairHashes[i] === h;
  }

  /** The group holding `key`, if any (hash hits checked against the group's members). */
  private groupOf(key: string): { group: DuplicateGroup; view: ViewGroup } | undefined {
    const h = hash52(key);
    for (let i = lowerBound(this.keyHashes, h); this.keyHashes[i] === h; i++) {
      const view = this.keyGroups[i];
      if (!view) continue;
      const group = JSON.parse(view.json.toString('utf8')) as DuplicateGroup;
      if (group.members.some((m) => m.key === key)) return { group, view };
    }
    return undefined;
  }

  /**
   * This view with more pairs dismissed: the dismissed count grows by those the report holds,
   * and a group with one of them as an edge is regrouped alone (groupPairs over its members
   * and pairs) and its pieces put in order. Other groups are shared with this view.
   */
  withDismissed(ids: readonly string[]): GroupsView {
    let dismissed = this.summary.dismissed;
    const removed = new Set<ViewGroup>();
    const added: ViewGroup[] = [];
    /** Each regrouped key and the piece it is in now (null: in none); the keys each removed group held. */
    const moved = new Map<string, ViewGroup | null>();
    const keysOf = new Map<ViewGroup, Set<string>>();
    const all = new Set(ids);
    for (const id of ids) {
      if (this.reportHasPair(id)) dismissed++;
      const found = this.groupOf(id.slice(0, id.indexOf('\n')));
      if (!found || removed.has(found.view)) continue;
      const { group, view } = found;
      if (!group.pairs.some((p) => pairId(p.a, p.b) === id)) continue;
      removed.add(view);
      keysOf.set(view, new Set(group.members.map((m) => m.key)));
      const images: GroupImage[] = group.members.map((m) => ({ key: m.key, width: m.width, height: m.height, bytes: m.bytes }));
      const at = new Map(images.map((m, i) => [m.key, i]));
      const pairs = group.pairs.map((p) => ({ ...p, a: at.get(p.a) as number, b: at.get(p.b) as number })) as PairEvidence[];
      for (const m of images) moved.set(m.key, null);
      for (const g of groupPairs(images, pairs, { minTier: this.minTier, dismissed: all })) {
        const piece: ViewGroup = { json: Buffer.from(JSON.stringify(g)), tier: g.tier, size: g.members.length, keeper: g.keeper };
        added.push(piece);
        for (const m of g.members) moved.set(m.key, piece);
      }
    }
    const summary = { ...this.summary, dismissed };
    if (removed.size === 0) {
      return new GroupsView({ minTier: this.minTier, summary, groups: this.groups, keyHashes: this.keyHashes, keyGroups: this.keyGroups, pairHashes: this.pairHashes, bytes: this.bytes });
    }
    const groups = this.groups.filter((g) => !removed.has(g));
    for (const g of added.sort((x, y) => (before(x, y) ? -1 : 1))) {
      let lo = 0;
      let hi = groups.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (before(groups[mid] as ViewGroup, g)) lo = mid + 1;
        else hi = mid;
      }
      groups.splice(lo, 0, g);
    }
    const keyGroups = this.keyGroups.slice();
    for (const [key, piece] of moved) {
      const h = hash52(key);
      for (let i = lowerBound(this.keyHashes, h); this.keyHashes[i] === h; i++) {
        const old = keyGroups[i];
        if (old && keysOf.get(old)?.has(key)) keyGroups[i] = piece;
      }
    }
    const bytes = this.bytes + added.reduce((n, g) => n + g.json.length, 0);
    return new GroupsView({ minTier: this.minTier, summary, groups, keyHashes: this.keyHashes, keyGroups, pairHashes: this.pairHashes, bytes });
  }
}
