// Qdrant filter semantics for the emulator: must / should / must_not / min_should,
// nested filters, field conditions with match value / any / except, and has_id.
// Anything else is reported as unsupported (so a test fails rather than passing on a
// condition the emulator silently ignores).

import { EmulatorError, idKey, type PointId } from './points.js';

export interface FilterTarget {
  id: PointId;
  payload: Record<string, unknown>;
}

type Json = Record<string, unknown>;

export function matchesFilter(filter: unknown, point: FilterTarget): boolean {
  if (filter === null || filter === undefined) return true;
  const f = filter as Json;
  const list = (v: unknown): unknown[] => (v === null || v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const must = list(f.must);
  const should = list(f.should);
  const mustNot = list(f.must_not);
  if (!must.every((c) => matchesCondition(c, point))) return false;
  if (mustNot.some((c) => matchesCondition(c, point))) return false;
  if (should.length > 0 && !should.some((c) => matchesCondition(c, point))) return false;
  const minShould = f.min_should as { conditions: unknown[]; min_count: number } | null | undefined;
  if (minShould) {
    const hits = minShould.conditions.filter((c) => matchesCondition(c, point)).length;
    if (hits < minShould.min_count) return false;
  }
  return true;
}

function matchesCondition(condition: unknown, point: FilterTarget): boolean {
  const c = condition as Json;
  if ('key' in c) return matchesField(c, point);
  if ('has_id' in c) {
    const ids = new Set((c.has_id as PointId[]).map((id) => idKey(id)));
    return ids.has(idKey(point.id));
  }
  const keys = Object.keys(c);
  if (keys.every((k) => ['must', 'should', 'must_not', 'min_should'].includes(k))) return matchesFilter(c, point);
  throw new EmulatorError(501, `emulator: unsupported filter condition with keys [${keys.join(', ')}]`);
}

function matchesField(c: Json, point: FilterTarget): boolean {
  const key = c.key as string;
  const others = Object.keys(c).filter((k) => k !== 'key' && k !== 'match' && c[k] !== null && c[k] !== undefined);
  if (others.length > 0 || c.match === null || c.match === undefined) {
    throw new EmulatorError(501, `emulator: unsupported field condition on "${key}" (${[...others, 'match'].join(', ')})`);
  }
  const values = payloadValues(point.payload, key);
  const match = c.match as Json;
  if ('value' in match) return values.some((v) => v === match.value);
  if ('any' in match) {
    const any = new Set(match.any as unknown[]);
    return values.some((v) => any.has(v));
  }
  if ('except' in match) {
    const except = new Set(match.except as unknown[]);
    return values.length === 0 || values.some((v) => !except.has(v));
  }
  throw new EmulatorError(501, `emulator: unsupported match [${Object.keys(match).join(', ')}] on "${key}"`);
}

/** The values at a dotted payload path; arrays are flattened (Qdrant matches any element). */
function payloadValues(payload: Record<string, unknown>, key: string): unknown[] {
  let current: unknown[] = [payload];
  for (const part of key.split('.')) {
    const next: unknown[] = [];
    for (const v of current) {
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && part in v) {
        const child = (v as Json)[part];
        if (Array.isArray(child)) next.push(...(child as unknown[]));
        else next.push(child);
      }
    }
    current = next;
  }
  return current;
}
