// The duplicate groups GET /v1/datasets/{name}/duplicates pages through, grouped once per
// (report version, dismissals version, minTier) and kept in memory, as artifact-cache.ts
// keeps clusters.json: each request asks the store only for the two files' version tags (a
// stat or a HEAD each) and cuts its page from the groups already serialised
// (pipelines/distributed/duplicates-view.ts). Grouping the report again per request took
// 2.2 s of the server's event loop at 100,000 pairs (docs/duplicates.md "Reading the groups").
//
// - A new report (a pass committed) is grouped again, off the event loop
//   (duplicates-view-offloop.ts: a worker thread);
// - a new dismissals file that only adds pairs (a dismissal, from this server, another one or
//   the CLI) regroups just the groups holding them (GroupsView.withDismissed: milliseconds);
//   anything else (a pair un-marked) groups the report again;
// - requests for a view being built wait for that one build (one per view at a time), and
//   a dismissal arriving during a build is applied to its result rather than starting
//   another build;
// - views are kept least recently used first out, within `maxBytes` (the groups' JSON and
//   indexes); the newest view is kept even when it alone is larger, or a large dataset would
//   be grouped again on every page.
import type { Storage } from '../../shared/storage/types.js';
import { UserError } from '../../shared/errors.js';
import { pairId } from '../../shared/duplicates/groups.js';
import type { Tier } from '../../shared/duplicates/tiers.js';
import type { DuplicatePasses } from '../../shared/runs/duplicate-passes.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import { dismissalsOf, type GroupsQuery } from '../../pipelines/distributed/duplicates-results.js';
import { DamagedReportError, emptyPage, minTierOf, type GroupsView } from '../../pipelines/distributed/duplicates-view.js';
import { viewOffLoop, type OffLoopOptions } from '../../pipelines/distributed/duplicates-view-offloop.js';

/** More newly dismissed pairs than this (a bulk edit) regroup the whole report. */
const MAX_INCREMENTAL = 256;

interface Entry {
  /** base + the two versions. */
  id: string;
  reportVersion: string;
  dismissed: ReadonlySet<string>;
  view: GroupsView;
  /** Order the build started in: an older build finishing late does not replace a newer view. */
  seq: number;
}

export interface GroupsCacheOptions extends OffLoopOptions {
  /** Bytes of views kept (default 256 MiB). */
  maxBytes?: number;
}

export interface GroupsCacheStats {
  /** Views built from the report (in a thread, or in place when small). */
  builds: number;
  /** Views derived from a cached one by new dismissals. */
  dismissalUpdates: number;
  /** Requests answered from a cached view. */
  hits: number;
}

export class DuplicateGroupsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Entry>>();
  /** Full builds in flight by base + report version: a later dismissal waits for them. */
  private readonly building = new Map<string, Promise<unknown>>();
  private bytes = 0;
  private seq = 0;
  readonly stats: GroupsCacheStats = { builds: 0, dismissalUpdates: 0, hits: 0 };

  constructor(private readonly o: GroupsCacheOptions = {}) {}

  /** A page of the dataset's groups: the bytes of readGroups's answer (duplicates-results.ts), serialised. */
  async page(dataset: string, q: GroupsQuery, deps: { artifacts: Storage; passes: Pick<DuplicatePasses, 'get'> }): Promise<Buffer> {
    const minTier = minTierOf(q);
    const [pass, view] = await Promise.all([deps.passes.get(dataset), this.view(deps.artifacts, dataset, minTier)]);
    return view ? view.page(dataset, q, pass) : emptyPage(dataset, q, pass);
  }

  /** The dataset's groups at minTier, or undefined when it has no report. */
  async view(artifacts: Storage, dataset: string, minTier: Tier): Promise<GroupsView | undefined> {
    const [reportVersion, dismissedVersion] = await Promise.all([
      artifacts.versionOf(artifactKeys.duplicatesReport(dataset)),
      artifacts.versionOf(artifactKeys.duplicatesDismissed(dataset)),
    ]);
    const base = `${artifacts.uri}\n${dataset}\n${minTier}`;
    if (reportVersion === undefined) {
      this.drop(base);
      return undefined;
    }
    const id = `${base}\n${reportVersion}\n${dismissedVersion ?? '-'}`;
    const hit = this.entries.get(base);
    if (hit?.id === id) {
      this.entries.delete(base); // most recently used last
      this.entries.set(base, hit);
      this.stats.hits++;
      return hit.view;
    }
    let pending = this.pending.get(id);
    if (!pending) {
      pending = this.build(artifacts, dataset, minTier, base, id, reportVersion).finally(() => this.pending.delete(id));
      this.pending.set(id, pending);
    }
    return (await pending).view;
  }

  private async build(artifacts: Storage, dataset: string, minTier: Tier, base: string, id: string, reportVersion: string): Promise<Entry> {
    const seq = ++this.seq;
    const full = `${base}\n${reportVersion}`;
    const inFlight = this.building.get(full);
    if (inFlight) await inFlight.catch(() => undefined);
    const dismissed = await readDismissed(artifacts, dataset);
    const prev = this.entries.get(base);
    const added = prev?.reportVersion === reportVersion ? [...dismissed].filter((d) => !prev.dismissed.has(d)) : undefined;
    let view: GroupsView;
    if (prev && added && prev.dismissed.size + added.length === dismissed.size && added.length <= MAX_INCREMENTAL) {
      view = prev.view.withDismissed(added);
      this.stats.dismissalUpdates++;
    } else {
      const work = (async () => {
        const bytes = await artifacts.get(artifactKeys.duplicatesReport(dataset));
        return viewOffLoop(bytes, [...dismissed], minTier, this.o);
      })();
      this.building.set(full, work);
      try {
        view = await work;
      } finally {
        if (this.building.get(full) === work) this.building.delete(full);
      }
      this.stats.builds++;
    }
    const entry: Entry = { id, reportVersion, dismissed, view, seq };
    this.keep(base, entry);
    return entry;
  }

  private keep(base: string, entry: Entry): void {
    const old = this.entries.get(base);
    if (old && old.seq > entry.seq) return;
    this.drop(base);
    this.entries.set(base, entry);
    this.bytes += entry.view.bytes;
    for (const k of this.entries.keys()) {
      if (this.bytes <= (this.o.maxBytes ?? 256 * 1024 * 1024) || this.entries.size <= 1) break;
      this.drop(k);
    }
  }

  private drop(base: string): void {
    const old = this.entries.get(base);
    if (!old) return;
    this.entries.delete(base);
    this.bytes -= old.view.bytes;
  }

  /** Views kept and their bytes (tests, metrics). */
  get size(): { views: number; bytes: number } {
    return { views: this.entries.size, bytes: this.bytes };
  }
}

/** The dismissed pairs (pairId form); a file that cannot be read as one is damaged: DamagedReportError, a 500. */
async function readDismissed(artifacts: Storage, dataset: string): Promise<Set<string>> {
  try {
    return new Set((await dismissalsOf(artifacts, dataset).list()).map((p) => pairId(p.a, p.b)));
  } catch (error) {
    if (error instanceof UserError) throw new DamagedReportError(error.message, { cause: error });
    throw error;
  }
}
