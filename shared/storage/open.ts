// Open a source given as a folder path or a URI. Only file:// is available in local mode.
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { LocalStorage } from './local.js';
import type { Storage } from './types.js';

export async function openSource(source: string): Promise<Storage> {
  let folder = source;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    if (!source.startsWith('file://')) {
      throw new UserError(`Unsupported source "${source}": use a folder path or file:///absolute/path`);
    }
    folder = fileURLToPath(source);
  }
  let info;
  try {
    info = await stat(folder);
  } catch {
    throw new UserError(`Source folder not found: ${folder}`);
  }
  if (!info.isDirectory()) throw new UserError(`Source is not a folder: ${folder}`);
  return new LocalStorage(folder);
}
