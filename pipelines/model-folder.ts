// One --model convention for every command that takes a model folder (embed, apply): the
// model folder itself (the one holding meta.json) or the output folder of imgsim train or
// imgsim run (the model in its model/ sub-folder) — both work. Light: node:fs only, so a
// command resolves it before anything heavy is loaded.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { OUTPUT } from './layout.js';

const META = 'meta.json';

const isFile = async (p: string): Promise<boolean> => (await stat(p).catch(() => undefined))?.isFile() === true;

/**
 * The model folder `ref` names: `ref` itself when it holds meta.json, else its model/
 * sub-folder when that does (a train or run output folder), else undefined.
 */
export async function resolveModelFolder(ref: string): Promise<string | undefined> {
  const dir = path.resolve(ref);
  if (await isFile(path.join(dir, META))) return dir;
  const sub = path.join(dir, OUTPUT.modelPrefix);
  if (await isFile(path.join(sub, META))) return sub.replace(/[\\/]+$/, '');
  return undefined;
}
