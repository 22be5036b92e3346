// What a duplicates pass leaves for people to act on, in one output folder (a Storage):
//   duplicates.json    the report (pipelines/duplicates.ts DuplicatesReport) plus where the
//                      images came from, each member's file path (local sources) and each
//                      group's contact sheet
//   groups/NNNN.png    one contact sheet per group, numbered from 0001 in the report's order
//                      (largest groups first): the suggested keeper first (orange border),
//                      then the others, each labelled with its key and its evidence
//                      ("verified 84 inl", "exact bytes", "perceptual d=2")
// duplicates.json is written first, so an interrupted pass still leaves the report; sheets
// of an earlier pass that this one does not rewrite (it found fewer groups) are removed.

import { MAX_SHEET_RESULTS, renderContactSheet, type ContactSheetItem } from '../shared/images/contact-sheet.js';
import { memberEvidence, sheetOrder } from '../shared/duplicates/evidence.js';
import type { DuplicateGroup, GroupMember } from '../shared/duplicates/groups.js';
import type { Storage } from '../shared/storage/types.js';
import type { DuplicatesReport } from './duplicates.js';

export const DUPLICATES_FILES = { report: 'duplicates.json', groups: 'groups/' } as const;

/** Tiles on one sheet: the keeper and the first MAX_SHEET_RESULTS others. */
export const MAX_SHEET_MEMBERS = MAX_SHEET_RESULTS + 1;

/** Side of a sheet's tiles: larger than a search sheet's, so that two near-copies can be told apart. */
export const DUPLICATE_SHEET_TILE = 224;

export interface ReportMember extends GroupMember {
  /** The image's file, when the source is a local folder. */
  path?: string;
}

export interface ReportGroup extends Omit<DuplicateGroup, 'members'> {
  members: ReportMember[];
  /** The group's contact sheet, relative to the output folder (absent with --no-sheets). */
  sheet?: string;
}

/** duplicates.json: the stage's report, with where it was run on. */
export interface DuplicatesFile extends Omit<DuplicatesReport, 'groups'> {
  /** The images' source (a file:// or s3:// URI). */
  source: string;
  /** The index folder whose embeddings were used (--index), or the model (--model). */
  index?: string;
  model?: string;
  /** Images that had an embedding (the learned tier and embedding candidates); 0 without. */
  embedded: number;
  groups: ReportGroup[];
}

/** "groups/0001.png" for the group at position `i` (0-based) of the report. */
export function sheetName(i: number): string {
  return `${DUPLICATES_FILES.groups}${String(i + 1).padStart(4, '0')}.png`;
}

const SHEET_FILE = /^groups\/\d{4,}\.png$/;

/** The report as duplicates.json holds it: paths of local images, sheet names when sheets are written. */
export function reportFile(
  report: DuplicatesReport,
  o: { source: string; index?: string; model?: string; embedded: number; pathOf?: (key: string) => string | undefined; sheets: boolean },
): DuplicatesFile {
  return {
    ...report,
    source: o.source,
    ...(o.index !== undefined ? { index: o.index } : {}),
    ...(o.model !== undefined ? { model: o.model } : {}),
    embedded: o.embedded,
    groups: report.groups.map((g, i) => ({
      ...g,
      members: g.members.map((m) => {
        const p = o.pathOf?.(m.key);
        return p !== undefined ? { ...m, path: p } : m;
      }),
      ...(o.sheets ? { sheet: sheetName(i) } : {}),
    })),
  };
}

/** The tiles of a group's sheet, keeper first: its key and evidence ("keeper 4000×3000", "verified 84 inl"). */
export function sheetLabels(group: Pick<DuplicateGroup, 'keeper' | 'members' | 'pairs'>): Array<{ key: string; label: string }> {
  const evidence = memberEvidence(group);
  const byKey = new Map(group.members.map((m) => [m.key, m]));
  const order = sheetOrder(group, evidence);
  const shown = Math.min(order.length, MAX_SHEET_MEMBERS);
  return order.slice(0, shown).map((key, i) => {
    if (i === 0) {
      const m = byKey.get(key);
      const size = m ? ` ${m.width}×${m.height}` : '';
      return { key, label: `${key}\nkeeper${size}${shown < order.length ? `, ${shown}/${order.length} shown` : ''}` };
    }
    return { key, label: `${key}\n${evidence.get(key)?.text ?? ''}` };
  });
}

/** One group's contact sheet as PNG bytes; `imageOf` gives an image's bytes or file path. */
export async function renderGroupSheet(group: DuplicateGroup, imageOf: (key: string) => Promise<Buffer | string>, maxPixels: number): Promise<Buffer> {
  const items: ContactSheetItem[] = await Promise.all(
    sheetLabels(group).map(async (t) => ({ image: await imageOf(t.key).catch(() => Buffer.alloc(0)), label: t.label })),
  );
  const [keeper, ...rest] = items as [ContactSheetItem, ...ContactSheetItem[]];
  return renderContactSheet(keeper, rest, { tile: DUPLICATE_SHEET_TILE, maxPixels });
}

/**
 * Writes duplicates.json and (unless `sheets` is false) the groups' contact sheets into
 * `out`; removes sheets of an earlier pass beyond this one's groups. Returns the number of
 * groups whose sheet leaves members out (more than MAX_SHEET_MEMBERS).
 */
export async function writeDuplicatesOutput(
  out: Storage,
  file: DuplicatesFile,
  o: { sheets: boolean; imageOf: (key: string) => Promise<Buffer | string>; maxPixels: number; onSheet?: (done: number, total: number) => void },
): Promise<{ cut: number }> {
  await out.put(DUPLICATES_FILES.report, `${JSON.stringify(file, null, 2)}\n`);
  const keep = new Set(o.sheets ? file.groups.map((_, i) => sheetName(i)) : []);
  const stale: string[] = [];
  for await (const obj of out.list(DUPLICATES_FILES.groups)) if (SHEET_FILE.test(obj.key) && !keep.has(obj.key)) stale.push(obj.key);
  for (const key of stale) await out.delete(key);
  if (!o.sheets) return { cut: 0 };
  let cut = 0;
  for (const [i, group] of file.groups.entries()) {
    if (group.members.length > MAX_SHEET_MEMBERS) cut++;
    await out.put(sheetName(i), await renderGroupSheet(group, o.imageOf, o.maxPixels));
    o.onSheet?.(i + 1, file.groups.length);
  }
  return { cut };
}
