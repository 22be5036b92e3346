// The duplicates of a local index folder for GET /v1/datasets/{name}/duplicates: the
// report `imgsim duplicates --index <dir>` writes (<dir>/duplicates/duplicates.json,
// pipelines/duplicates-output.ts), regrouped when read — its pairs less the pairs
// dismissed since (the index folder's dismissed-duplicates.json, the store the CLI's
// --dismiss writes) — by the same union–find as the queued route (shared/duplicates/
// groups.ts groupPairs), filtered by tier and paged; the answer has the queued route's shape.
//
// The file holds the pairs at or above the tier its pass reported (--min-tier, default
// verified): a weaker minTier cannot bring weaker pairs back, so the answer's minTier is
// the file's then (and a tier filter weaker than it is refused, naming the command that
// writes them). The file is parsed once per version (size and modification time).
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { DISMISSALS_FILE, DismissalStore } from '../../../shared/duplicates/dismissals.js';
import { groupPairs, pairId, type DuplicateGroup, type GroupImage } from '../../../shared/duplicates/groups.js';
import type { PairEvidence } from '../../../shared/duplicates/pairs.js';
import { DEFAULT_MIN_TIER, TIERS, type Tier } from '../../../shared/duplicates/tiers.js';
import { UserError } from '../../../shared/errors.js';
import { pairSchema } from '../../../pipelines/distributed/duplicates-store.js';
import { DUPLICATES_FILES } from '../../../pipelines/duplicates-output.js';
import { HttpError } from '../errors.js';
import type { LocalDataset } from './local-dataset.js';

/** Where `imgsim duplicates --index <dir>` writes its report by default, relative to the index folder. */
export const LOCAL_DUPLICATES_FILE = `duplicates/${DUPLICATES_FILES.report}`;

const tier = z.enum(TIERS);

/** The parts of duplicates.json (pipelines/duplicates-output.ts DuplicatesFile) this reads. */
const reportFileSchema = z.object({
  version: z.literal(1),
  images: z.number().int(),
  failed: z.array(z.object({ key: z.string() })),
  minTier: tier,
  thresholds: z.record(z.string(), z.number()),
  pairsByTier: z.record(tier, z.number().int()),
  dismissed: z.number().int(),
  seconds: z.record(z.string(), z.number()),
  groups: z.array(
    z.object({
      members: z.array(z.object({ key: z.string(), width: z.number().int(), height: z.number().int(), bytes: z.number() })),
      pairs: z.array(pairSchema),
    }),
  ),
});

interface ParsedReport {
  file: z.infer<typeof reportFileSchema>;
  finishedAt: string;
  /** Every image of a pair, sorted by key (pair positions refer to it). */
  images: GroupImage[];
  pairs: PairEvidence[];
}

export interface LocalGroupsQuery {
  minTier?: Tier;
  tier?: Tier;
  limit: number;
  offset: number;
}

/** The answer of GET …/duplicates (workers/server/schemas.ts duplicatesResponse, without `pass`: a local folder has no queued passes). */
export interface LocalGroupsPage {
  dataset: string;
  report?: {
    passId: string;
    dataset: string;
    mode: 'all';
    collection: string;
    modelId: string;
    finishedAt: string;
    images: number;
    fingerprinted: number;
    compareAll: true;
    thresholds: Record<string, number>;
    failed: number;
    dismissed: number;
    pairsByTier: Record<string, number>;
    seconds: Record<string, number>;
  };
  minTier: Tier;
  tier?: Tier;
  total: number;
  offset: number;
  limit: number;
  nextOffset?: number;
  groups: DuplicateGroup[];
}

const stronger = (a: Tier, b: Tier): Tier => (TIERS.indexOf(a) <= TIERS.indexOf(b) ? a : b);

/** Reads, groups and pages the duplicates of one local dataset; dismissals go to the CLI's store, one write at a time. */
export class LocalDuplicates {
  private cached: { version: string; report: ParsedReport } | undefined;
  private readonly dismissals: DismissalStore;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(private readonly ds: LocalDataset) {
    this.dismissals = new DismissalStore(ds.folder, DISMISSALS_FILE);
  }

  /** The command that writes the report, for messages. */
  command(): string {
    return `imgsim duplicates --index ${this.ds.dir}`;
  }

  private async report(): Promise<ParsedReport | undefined> {
    const full = this.ds.folder.resolveKey(LOCAL_DUPLICATES_FILE);
    let info;
    try {
      info = await stat(full);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
      throw error;
    }
    const version = `${info.size}:${info.mtimeMs}`;
    if (this.cached?.version === version) return this.cached.report;
    const damaged = (why: string, cause: unknown): HttpError =>
      new HttpError(500, `${full} (written by ${this.command()}) ${why}; run that command again`, {}, { cause });
    let raw: unknown;
    try {
      raw = JSON.parse((await this.ds.folder.get(LOCAL_DUPLICATES_FILE)).toString('utf8'));
    } catch (error) {
      throw damaged('cannot be read', error);
    }
    const parsed = reportFileSchema.safeParse(raw);
    if (!parsed.success) throw damaged('is damaged or from another version of imgsim', parsed.error);
    const report = regroupable(parsed.data, info.mtime.toISOString());
    this.cached = { version, report };
    return report;
  }

  /** A page of groups, dismissed pairs left out (as the queued route's readGroups). */
  async groups(q: LocalGroupsQuery): Promise<LocalGroupsPage> {
    const [report, dismissed] = await Promise.all([this.report(), this.dismissals.ids()]);
    // As the queued route: a tier filter weaker than the default weakest tier widens it.
    const asked = q.minTier ?? (q.tier && TIERS.indexOf(q.tier) > TIERS.indexOf(DEFAULT_MIN_TIER) ? q.tier : DEFAULT_MIN_TIER);
    const minTier = report ? stronger(asked, report.file.minTier) : asked;
    if (q.tier && TIERS.indexOf(q.tier) > TIERS.indexOf(minTier)) {
      throw new UserError(
        report && TIERS.indexOf(q.tier) > TIERS.indexOf(report.file.minTier)
          ? `tier: "${q.tier}" is weaker than the weakest tier in ${LOCAL_DUPLICATES_FILE} ("${report.file.minTier}"); ${this.command()} --min-tier ${q.tier} writes those pairs`
          : `tier: "${q.tier}" is weaker than minTier "${minTier}", so no group can have it; ask with minTier=${q.tier} or without minTier`,
      );
    }
    const base = { dataset: this.ds.name, minTier, ...(q.tier ? { tier: q.tier } : {}), offset: q.offset, limit: q.limit };
    if (!report) return { ...base, total: 0, groups: [] };
    const all = groupPairs(report.images, report.pairs, { minTier, dismissed }).filter((g) => q.tier === undefined || g.tier === q.tier);
    const groups = all.slice(q.offset, q.offset + q.limit);
    const { file } = report;
    const dismissedNow = report.pairs.filter((p) => dismissed.has(pairId((report.images[p.a] as GroupImage).key, (report.images[p.b] as GroupImage).key))).length;
    return {
      ...base,
      report: {
        passId: 'local',
        dataset: this.ds.name,
        mode: 'all',
        collection: this.ds.dir,
        modelId: this.ds.record.modelId,
        finishedAt: report.finishedAt,
        images: file.images,
        fingerprinted: file.images,
        compareAll: true,
        thresholds: file.thresholds,
        failed: file.failed.length,
        // Left out by the pass (dismissed before it ran) and dismissed since.
        dismissed: file.dismissed + dismissedNow,
        pairsByTier: file.pairsByTier,
        seconds: file.seconds,
      },
      total: all.length,
      ...(q.offset + groups.length < all.length ? { nextOffset: q.offset + groups.length } : {}),
      groups,
    };
  }

  /** Marks a pair "not a duplicate" in the index folder's store (the CLI's); true when newly marked. Writes in this process are serialised. */
  dismiss(a: string, b: string): Promise<boolean> {
    const next = this.writing.then(() => this.dismissals.add(a, b));
    this.writing = next.catch(() => undefined);
    return next;
  }
}

/** The report's images and pairs as groupPairs takes them: images sorted by key, pairs by position (a < b). */
function regroupable(file: z.infer<typeof reportFileSchema>, finishedAt: string): ParsedReport {
  const byKey = new Map<string, GroupImage>();
  for (const g of file.groups) for (const m of g.members) byKey.set(m.key, { key: m.key, width: m.width, height: m.height, bytes: m.bytes });
  const images = [...byKey.values()].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  const at = new Map(images.map((img, i) => [img.key, i]));
  const pairs: PairEvidence[] = [];
  for (const g of file.groups) {
    for (const p of g.pairs) {
      const a = at.get(p.a);
      const b = at.get(p.b);
      if (a === undefined || b === undefined) continue;
      pairs.push({ ...p, a: Math.min(a, b), b: Math.max(a, b) });
    }
  }
  return { file, finishedAt, images, pairs };
}
