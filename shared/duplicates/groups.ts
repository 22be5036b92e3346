// Duplicate groups from confirmed pairs: connected components (union–find) of the pairs
// at or above the weakest tier asked for, leaving out pairs marked "not a duplicate".
// Each group names a suggested keeper — the most pixels, then the largest file, then the
// first key — as Immich suggests one by resolution and size.
//
// A dismissed pair is never an edge; its two images can still share a group through a
// third image that duplicates both (the group then shows both, each with its own evidence).

import type { PairEvidence } from './pairs.js';
import { tierAtLeast, TIERS, type Tier } from './tiers.js';

export interface GroupImage {
  key: string;
  width: number;
  height: number;
  bytes: number;
}

export interface DuplicatePair extends Omit<PairEvidence, 'a' | 'b'> {
  a: string;
  b: string;
}

export interface GroupMember extends GroupImage {
  keeper: boolean;
  /** The strongest tier linking this image to another member. */
  tier: Tier;
}

export interface DuplicateGroup {
  /** The strongest tier among the group's pairs. */
  tier: Tier;
  keeper: string;
  members: GroupMember[];
  pairs: DuplicatePair[];
}

/** The canonical form of a pair of keys (sorted), as dismissals store it. */
export function pairId(a: string, b: string): string {
  return a < b ? `${a}\n${b}` : `${b}\n${a}`;
}

function find(parent: Int32Array, i: number): number {
  let r = i;
  while (parent[r] !== r) r = parent[r] as number;
  while (parent[i] !== r) {
    const next = parent[i] as number;
    parent[i] = r;
    i = next;
  }
  return r;
}

/** Keeper order: more pixels, then more bytes, then the smaller key. */
function better(x: GroupImage, y: GroupImage): boolean {
  const px = x.width * x.height;
  const py = y.width * y.height;
  if (px !== py) return px > py;
  if (x.bytes !== y.bytes) return x.bytes > y.bytes;
  return x.key < y.key;
}

/** Groups of `images` joined by `pairs` at or above `minTier`, without `dismissed` pairs (pairId form); largest groups first. */
export function groupPairs(images: readonly GroupImage[], pairs: readonly PairEvidence[], o: { minTier: Tier; dismissed: ReadonlySet<string> }): DuplicateGroup[] {
  const parent = Int32Array.from(images, (_, i) => i);
  const kept = pairs.filter((p) => tierAtLeast(p.tier, o.minTier) && !o.dismissed.has(pairId((images[p.a] as GroupImage).key, (images[p.b] as GroupImage).key)));
  for (const p of kept) {
    const ra = find(parent, p.a);
    const rb = find(parent, p.b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
  const byRoot = new Map<number, { members: Set<number>; pairs: PairEvidence[] }>();
  for (const p of kept) {
    const root = find(parent, p.a);
    let g = byRoot.get(root);
    if (!g) byRoot.set(root, (g = { members: new Set(), pairs: [] }));
    g.members.add(p.a).add(p.b);
    g.pairs.push(p);
  }
  const rank = (t: Tier): number => TIERS.indexOf(t);
  const groups: DuplicateGroup[] = [];
  for (const g of byRoot.values()) {
    const best = new Map<number, Tier>();
    for (const p of g.pairs) {
      for (const m of [p.a, p.b]) {
        const t = best.get(m);
        if (t === undefined || rank(p.tier) < rank(t)) best.set(m, p.tier);
      }
    }
    const members = [...g.members].sort((x, y) => ((images[x] as GroupImage).key < (images[y] as GroupImage).key ? -1 : 1));
    let keeper = members[0] as number;
    for (const m of members) if (better(images[m] as GroupImage, images[keeper] as GroupImage)) keeper = m;
    const tier = g.pairs.reduce<Tier>((acc, p) => (rank(p.tier) < rank(acc) ? p.tier : acc), 'learned');
    groups.push({
      tier,
      keeper: (images[keeper] as GroupImage).key,
      members: members.map((m) => {
        const img = images[m] as GroupImage;
        return { key: img.key, width: img.width, height: img.height, bytes: img.bytes, keeper: m === keeper, tier: best.get(m) as Tier };
      }),
      pairs: g.pairs.map((p) => ({ ...p, a: (images[p.a] as GroupImage).key, b: (images[p.b] as GroupImage).key })),
    });
  }
  return groups.sort((x, y) => y.members.length - x.members.length || (x.keeper < y.keeper ? -1 : 1));
}
