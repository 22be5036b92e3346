// The query images of `imgsim search`: files as given, folders listed recursively (image
// extensions only, in key order), each with a name for its contact sheet. Checked before any
// index, model or image is read.
//
// A sheet's name depends only on the query file, so a later call never overwrites the sheet
// of another image with the same file name (a/0000.png, b/0000.png):
//   - an image inside the index's source folder: its key there (blue-circle/0000)
//   - any other file: its name and a hash of its absolute path (cat-1a2b3c4d)
//   - any other folder's images: the folder's name and a hash of its absolute path, then
//     the image's path in it (queries-5e6f7a8b/dogs/rex)
// Two queries of one call that still meet (a.png and a.jpg, or the same file named twice)
// get a further suffix.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../shared/errors.js';
import { isImagePath } from '../shared/images/formats.js';
import { LocalStorage } from '../shared/storage/local.js';

export interface QueryFile {
  /** The file to read. */
  file: string;
  /** As the user would write it: the argument, or <folder argument>/<key>. */
  shown: string;
  /** The contact sheet's name without .png (see above); may contain '/'. */
  sheetName: string;
}

const withoutExtension = (p: string): string => p.replace(/\.[^./]+$/, '');
const shortHash = (s: string): string => createHash('sha1').update(s).digest('hex').slice(0, 8);

/** A name for outputs about one query file that no other query file gets: its name and a hash of its absolute path (cat-1a2b3c4d). */
export function queryStem(file: string): string {
  return `${withoutExtension(path.basename(file))}-${shortHash(path.resolve(file))}`;
}

/** `file`'s path inside `root` ('/'-separated), or undefined when it lies outside. */
function keyInside(root: string | undefined, file: string): string | undefined {
  if (root === undefined) return undefined;
  const rel = path.relative(path.resolve(root), file);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? undefined : rel.split(path.sep).join('/');
}

/**
 * The query files of `args`. `sourceRoot`: the index's source folder (a local index), whose
 * images are named by their key.
 */
export async function queryFiles(args: readonly string[], o: { sourceRoot?: string } = {}): Promise<QueryFile[]> {
  const out: QueryFile[] = [];
  const nameOf = (file: string, otherwise: () => string): string => {
    const key = keyInside(o.sourceRoot, file);
    return key !== undefined ? withoutExtension(key) : otherwise();
  };
  for (const arg of args) {
    const info = await stat(arg).catch(() => undefined);
    if (!info) throw new UserError(`Query image not found: ${arg}`);
    if (!info.isDirectory()) {
      const file = path.resolve(arg);
      out.push({ file, shown: arg, sheetName: nameOf(file, () => `${withoutExtension(path.basename(arg))}-${shortHash(file)}`) });
      continue;
    }
    const folder = new LocalStorage(arg);
    const before = out.length;
    for await (const obj of folder.list()) {
      if (!isImagePath(obj.key)) continue;
      const file = folder.resolveKey(obj.key);
      const sheetName = nameOf(file, () => `${path.basename(folder.root)}-${shortHash(folder.root)}/${withoutExtension(obj.key)}`);
      out.push({ file, shown: path.join(arg, obj.key), sheetName });
    }
    if (out.length === before) throw new UserError(`No query images in the folder ${arg}`);
  }
  // Names that still meet within the call: the later ones get a suffix from their absolute
  // path, and a count when that is taken too (the same file named twice).
  const seen = new Set<string>();
  for (const q of out) {
    if (seen.has(q.sheetName.toLowerCase())) {
      const base = `${q.sheetName}-${shortHash(q.file)}`;
      let name = base;
      for (let i = 2; seen.has(name.toLowerCase()); i++) name = `${base}-${i}`;
      q.sheetName = name;
    }
    seen.add(q.sheetName.toLowerCase());
  }
  return out;
}
