// Writes rendered image bytes to a path, creating the parent folder first.
// Shared by the write* wrappers of contact-sheet, scatter-plot and image-grid.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function writeBytesFile(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}
