// A duplicate pair's evidence in a few words, for people: contact-sheet labels, the
// CLI's summary. The JSON report keeps the numbers themselves (groups.ts DuplicatePair).
//
//   exact bytes | exact pixels
//   perceptual d=2 | perceptual d=3 mirror        (hash distance in bits; b matches a's mirror)
//   verified 84 inl                               (affine RANSAC inliers)
//   learned cos 0.981                             (embedding cosine)

import type { DuplicateGroup, DuplicatePair } from './groups.js';
import { TIERS } from './tiers.js';

/** "verified 84 inl", "exact bytes"…: the pair's tier and the number that confirmed it. */
export function evidenceText(p: Omit<DuplicatePair, 'a' | 'b'>): string {
  switch (p.tier) {
    case 'exact':
      return `exact ${p.identical ?? 'pixels'}`;
    case 'perceptual':
      return `perceptual d=${p.distance ?? '?'}${p.mirrored === true ? ' mirror' : ''}`;
    case 'verified':
      return `verified ${p.inliers ?? '?'} inl`;
    case 'learned':
      return `learned cos ${p.cosine !== undefined ? p.cosine.toFixed(3) : '?'}`;
  }
}

/** Stronger evidence first: the tier, then within a tier the larger inlier count / smaller hash distance / larger cosine. */
export function compareEvidence(x: Omit<DuplicatePair, 'a' | 'b'>, y: Omit<DuplicatePair, 'a' | 'b'>): number {
  const byTier = TIERS.indexOf(x.tier) - TIERS.indexOf(y.tier);
  if (byTier !== 0) return byTier;
  switch (x.tier) {
    case 'exact':
      return (x.identical === 'bytes' ? 0 : 1) - (y.identical === 'bytes' ? 0 : 1);
    case 'perceptual':
      return (x.distance ?? 64) - (y.distance ?? 64);
    case 'verified':
      return (y.inliers ?? 0) - (x.inliers ?? 0);
    case 'learned':
      return (y.cosine ?? -1) - (x.cosine ?? -1);
  }
}

/**
 * Why each member other than the keeper is in the group: its pair with the keeper when
 * there is one, else its strongest pair (the group was joined through a third image),
 * with the other image of that pair. The keeper itself is absent.
 */
export function memberEvidence(group: Pick<DuplicateGroup, 'keeper' | 'members' | 'pairs'>): Map<string, { pair: DuplicatePair; other: string; text: string }> {
  // The best pair of each member in one pass over the pairs (a group of 8,000 members and
  // their pairs took 4.7 s when every member filtered every pair): a pair with the keeper
  // wins over any other, then the stronger evidence.
  const best = new Map<string, { pair: DuplicatePair; withKeeper: boolean }>();
  const offer = (key: string, pair: DuplicatePair, withKeeper: boolean): void => {
    if (key === group.keeper) return;
    const seen = best.get(key);
    if (!seen || (withKeeper && !seen.withKeeper) || (withKeeper === seen.withKeeper && compareEvidence(pair, seen.pair) < 0)) best.set(key, { pair, withKeeper });
  };
  for (const p of group.pairs) {
    const withKeeper = p.a === group.keeper || p.b === group.keeper;
    offer(p.a, p, withKeeper);
    offer(p.b, p, withKeeper);
  }
  const out = new Map<string, { pair: DuplicatePair; other: string; text: string }>();
  for (const m of group.members) {
    const b = best.get(m.key);
    if (b) out.set(m.key, { pair: b.pair, other: b.pair.a === m.key ? b.pair.b : b.pair.a, text: evidenceText(b.pair) });
  }
  return out;
}

/**
 * The members in the order a contact sheet shows them: the keeper first, then by their
 * evidence (strongest first), then by key.
 */
export function sheetOrder(group: Pick<DuplicateGroup, 'keeper' | 'members' | 'pairs'>, evidence = memberEvidence(group)): string[] {
  const rest = group.members.filter((m) => m.key !== group.keeper).map((m) => m.key);
  rest.sort((x, y) => {
    const ex = evidence.get(x)?.pair;
    const ey = evidence.get(y)?.pair;
    const c = ex && ey ? compareEvidence(ex, ey) : 0;
    return c !== 0 ? c : x < y ? -1 : x > y ? 1 : 0;
  });
  return [group.keeper, ...rest];
}
