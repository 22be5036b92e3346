// The query images of `imgsim search`: files as given, folders listed recursively (image
// extensions only, in key order), each with a name for its contact sheet that is unique
// within the call. Checked before any index, model or image is read.
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
  /** The contact sheet's name without .png: the file's name, or <folder name>/<key> for a folder's images; may contain '/'. */
  sheetName: string;
}

const withoutExtension = (p: string): string => p.replace(/\.[^./]+$/, '');

export async function queryFiles(args: readonly string[]): Promise<QueryFile[]> {
  const out: QueryFile[] = [];
  for (const arg of args) {
    const info = await stat(arg).catch(() => undefined);
    if (!info) throw new UserError(`Query image not found: ${arg}`);
    if (!info.isDirectory()) {
      out.push({ file: path.resolve(arg), shown: arg, sheetName: withoutExtension(path.basename(arg)) });
      continue;
    }
    const folder = new LocalStorage(arg);
    const before = out.length;
    for await (const obj of folder.list()) {
      if (!isImagePath(obj.key)) continue;
      out.push({ file: folder.resolveKey(obj.key), shown: path.join(arg, obj.key), sheetName: `${path.basename(folder.root)}/${withoutExtension(obj.key)}` });
    }
    if (out.length === before) throw new UserError(`No query images in the folder ${arg}`);
  }
  // Two queries with the same sheet name (a.png and b/a.png, or two folders of one name):
  // the later ones get a suffix from their absolute path, and a count when that is taken
  // too (the same file named twice).
  const seen = new Set<string>();
  for (const q of out) {
    if (seen.has(q.sheetName)) {
      const base = `${q.sheetName}-${createHash('sha1').update(q.file).digest('hex').slice(0, 8)}`;
      let name = base;
      for (let i = 2; seen.has(name); i++) name = `${base}-${i}`;
      q.sheetName = name;
    }
    seen.add(q.sheetName);
  }
  return out;
}
