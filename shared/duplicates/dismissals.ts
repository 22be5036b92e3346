// Pairs marked "not a duplicate", stored with the index folder or the dataset so that no
// later pass reports them again — across re-runs and re-indexes (keys, not point ids or
// positions, identify them). One small JSON file in a Storage (a local folder or the
// artefact store): { version: 1, pairs: [{ a, b, at }] }, a < b.
//
// Writes are read–modify–write of the whole file: fine for the hundreds or thousands of
// pairs a person dismisses; two people dismissing at the same instant can lose one write
// (the queued API serialises them per dataset).

import { z } from 'zod';
import { UserError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { pairId } from './groups.js';

export const DISMISSALS_FILE = 'dismissed-duplicates.json';

const fileSchema = z.object({
  version: z.literal(1),
  pairs: z.array(z.object({ a: z.string(), b: z.string(), at: z.string() })),
});

export type DismissedPair = z.infer<typeof fileSchema>['pairs'][number];

export class DismissalStore {
  constructor(
    private readonly storage: Storage,
    /** Path of the file within the storage. */
    private readonly file: string = DISMISSALS_FILE,
  ) {}

  /** Every dismissed pair (empty when none was ever stored). */
  async list(): Promise<DismissedPair[]> {
    if (!(await this.storage.exists(this.file))) return [];
    let raw: unknown;
    try {
      raw = JSON.parse((await this.storage.get(this.file)).toString('utf8'));
    } catch (error) {
      throw new UserError(`${this.file} (pairs marked "not a duplicate") cannot be read: ${error instanceof Error ? error.message : String(error)}`, 2, { cause: error });
    }
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) throw new UserError(`${this.file} (pairs marked "not a duplicate") is damaged or from another version of imgsim`, 2, { cause: parsed.error });
    return parsed.data.pairs;
  }

  /** The dismissed pairs in groups.ts pairId form, for groupPairs. */
  async ids(): Promise<Set<string>> {
    return new Set((await this.list()).map((p) => pairId(p.a, p.b)));
  }

  /** Marks a pair "not a duplicate"; returns false when it already was. */
  async add(a: string, b: string): Promise<boolean> {
    if (a === b) throw new UserError(`a pair needs two different images, got ${JSON.stringify(a)} twice`);
    const pairs = await this.list();
    const id = pairId(a, b);
    if (pairs.some((p) => pairId(p.a, p.b) === id)) return false;
    const [x, y] = a < b ? [a, b] : [b, a];
    pairs.push({ a: x, b: y, at: new Date().toISOString() });
    await this.storage.put(this.file, JSON.stringify({ version: 1, pairs }, null, 2));
    return true;
  }

  /** Un-marks a pair; returns false when it was not marked. */
  async remove(a: string, b: string): Promise<boolean> {
    const pairs = await this.list();
    const id = pairId(a, b);
    const kept = pairs.filter((p) => pairId(p.a, p.b) !== id);
    if (kept.length === pairs.length) return false;
    await this.storage.put(this.file, JSON.stringify({ version: 1, pairs: kept }, null, 2));
    return true;
  }
}
