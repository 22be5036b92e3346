// What kind of output a folder already holds, and the check every command with `--out`
// runs before any work: an existing file, or a folder holding another command's outputs
// (or a collection of images), is refused with one line (UserError, exit 2) and nothing is
// written. The kind is read from the file names each command writes (one table, below):
//   run      embeddings.npy, index.json, ids.json, manifest.json (an index), model/meta.json
//            or meta.json (a model): written by run, train, embed and eval
//   apply    apply.json (written by imgsim apply first, before any output image);
//            preview.png alone: an apply folder written before apply.json existed
//   clusters clusters.json (imgsim cluster --out)
//   duplicates duplicates.json (imgsim duplicates --out; written before its groups/ sheets)
//   images   an image file at the top or one folder down (searches/ and model/ aside):
//            somebody's pictures, not ours
// A folder that holds none of these (missing, empty, other files) is accepted by every
// command. Only names are looked at (a few readdir calls), never contents.
import { opendir, stat } from 'node:fs/promises';
import type { Dir, Dirent } from 'node:fs';
import path from 'node:path';
import { UserError } from '../shared/errors.js';
import { isImagePath } from '../shared/images/formats.js';
import { OUTPUT } from './layout.js';

/** imgsim apply's own files in its --out folder: apply.json, written first and completed at the end, and the preview grid. */
export const APPLY_FILES = { summary: 'apply.json', preview: 'preview.png' } as const;

export type OutputKind = 'run' | 'apply' | 'clusters' | 'duplicates' | 'images';

interface KindInfo {
  /** "already holds …" */
  holds: (evidence: string) => string;
  /** "… or one written by …" (absent for images: nothing of ours writes them). */
  writtenBy?: string;
}

const KINDS: Record<OutputKind, KindInfo> = {
  run: { holds: (e) => (/meta\.json$/.test(e) ? `an imgsim model (${e})` : `an imgsim index (${e})`), writtenBy: 'imgsim run, train, embed or eval' },
  apply: { holds: (e) => `imgsim apply outputs (${e})`, writtenBy: 'imgsim apply' },
  clusters: { holds: (e) => `imgsim cluster outputs (${e})`, writtenBy: 'imgsim cluster' },
  duplicates: { holds: (e) => `imgsim duplicates outputs (${e})`, writtenBy: 'imgsim duplicates' },
  images: { holds: (e) => `images (${e}), not imgsim outputs` },
};

/** File names that mark a kind, in the order they are looked for. */
const MARKERS: ReadonlyArray<[string, OutputKind]> = [
  [APPLY_FILES.summary, 'apply'],
  ['embeddings.npy', 'run'],
  [OUTPUT.index, 'run'],
  ['ids.json', 'run'],
  [OUTPUT.manifest, 'run'],
  [`${OUTPUT.modelPrefix}meta.json`, 'run'],
  ['meta.json', 'run'],
  [OUTPUT.clusters, 'clusters'],
  ['duplicates.json', 'duplicates'],
  [APPLY_FILES.preview, 'apply'],
];

/** Entries looked at per folder when searching for images (a folder of a million files stays cheap). */
const SCAN_LIMIT = 2000;

export interface FolderKind {
  kind: OutputKind;
  /** The file that told: a marker name, or an image's path relative to the folder. */
  evidence: string;
}

const isFile = async (p: string): Promise<boolean> => (await stat(p).catch(() => undefined))?.isFile() === true;

/** The kind of output `dir` holds, or undefined (missing, empty, or nothing recognised). */
export async function outputKindOf(dir: string): Promise<FolderKind | undefined> {
  for (const [name, kind] of MARKERS) if (await isFile(path.join(dir, name))) return { kind, evidence: name };
  const image = await firstImage(dir, 2);
  return image === undefined ? undefined : { kind: 'images', evidence: image };
}

/** Up to `limit` entries of a folder (hidden ones skipped), read as a stream — a folder of a million files costs what `limit` does — sorted by name. */
async function firstEntries(dir: string, limit: number): Promise<Dirent[]> {
  const out: Dirent[] = [];
  let folder: Dir;
  try {
    folder = await opendir(dir);
  } catch {
    return out;
  }
  try {
    for await (const e of folder) {
      if (e.name.startsWith('.')) continue;
      out.push(e);
      if (out.length >= limit) break;
    }
  } catch {
    // Unreadable mid-way: what was read is the answer.
  }
  // opendir gives the file system's order; sorted, the evidence named is the same every time.
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** An image file's path relative to `dir`, looking `depth` levels down (hidden entries skipped). */
async function firstImage(dir: string, depth: number, prefix = ''): Promise<string | undefined> {
  const entries = await firstEntries(path.join(dir, prefix), SCAN_LIMIT);
  const file = entries.find((e) => e.isFile() && isImagePath(e.name));
  if (file) return path.posix.join(prefix, file.name);
  if (depth <= 1) return undefined;
  // Our own image folders (contact sheets, a model's preview) say nothing about whose folder it is.
  const ours = new Set([OUTPUT.searches, OUTPUT.modelPrefix].map((p) => p.replace(/\/$/, '')));
  for (const e of entries.filter((x) => x.isDirectory() && !(prefix === '' && ours.has(x.name))).sort((a, b) => a.name.localeCompare(b.name))) {
    const found = await firstImage(dir, depth - 1, path.posix.join(prefix, e.name));
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Refuses (UserError, exit 2) an output path that is an existing file (or lies under one),
 * or a folder holding a kind of output other than `accepts`. Writes nothing.
 */
export async function checkOutputFolder(dir: string, accepts: readonly OutputKind[], flag = '--out'): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new UserError(`${flag} ${dir} is an existing file; choose a folder (it is created if missing)`);
  if (!info) {
    // A file where a parent folder would have to be created.
    for (let up = path.dirname(path.resolve(dir)); ; up = path.dirname(up)) {
      const parent = await stat(up).catch(() => undefined);
      if (parent && !parent.isDirectory()) throw new UserError(`${flag} ${dir} cannot be created: ${up} is a file`);
      if (parent || up === path.dirname(up)) break;
    }
    return;
  }
  const found = await outputKindOf(dir);
  if (!found || accepts.includes(found.kind)) return;
  const writers = accepts.flatMap((k) => KINDS[k].writtenBy ?? []);
  throw new UserError(`${flag} ${dir} already holds ${KINDS[found.kind].holds(found.evidence)}; choose an empty folder${writers.length > 0 ? ` or one written by ${writers.join(', or ')}` : ''}`);
}
