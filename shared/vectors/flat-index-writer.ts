// Writes a FlatIndex folder (embeddings.npy + ids.json) batch by batch, as the local embed
// stage encodes: each batch's rows are appended to embeddings.npy (NpyAppender) and its
// keys to ids.json, so memory holds one batch, not the collection. Both files are written
// as `.partial` and moved into place by close(): a run that fails keeps the previous
// index's pair (or none), never a half-written one. FlatIndex.load then reads the folder
// with one copy of the vectors. close() removes the int8 copy of the index it replaces
// (embeddings.int8): the caller writes the new one (FlatIndex.saveSearchCopy).
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { NpyAppender } from '../npy.js';
import type { LocalStorage } from '../storage/local.js';
import { EMBEDDINGS_FILE, IDS_FILE } from './flat-index.js';
import { INT8_FILE } from './int8-file.js';

export class FlatIndexWriter {
  private readonly seen = new Set<string>();
  private rows = 0;

  private constructor(
    private readonly npy: NpyAppender,
    private readonly ids: FileHandle,
    private readonly idsFile: string,
    private readonly int8File: string,
    readonly dim: number,
  ) {}

  static async create(folder: LocalStorage, dim: number, prefix = ''): Promise<FlatIndexWriter> {
    const idsFile = folder.resolveKey(prefix + IDS_FILE);
    const npy = await NpyAppender.create(folder.resolveKey(prefix + EMBEDDINGS_FILE), dim);
    const ids = await open(`${idsFile}.partial`, 'w');
    await ids.write('[');
    return new FlatIndexWriter(npy, ids, idsFile, folder.resolveKey(prefix + INT8_FILE), dim);
  }

  get count(): number {
    return this.rows;
  }

  /** Append rows (keys.length × dim values); a key may appear once in the whole index. */
  async append(keys: readonly string[], vectors: Float32Array): Promise<void> {
    if (vectors.length !== keys.length * this.dim) throw new Error(`FlatIndexWriter: ${keys.length} keys but ${vectors.length / this.dim} vectors`);
    for (const key of keys) {
      if (this.seen.has(key)) throw new Error(`FlatIndexWriter: key "${key}" appended twice`);
      this.seen.add(key);
    }
    await this.npy.append(vectors);
    const text = keys.map((k, i) => `${this.rows + i === 0 ? '' : ','}\n ${JSON.stringify(k)}`).join('');
    await this.ids.write(text);
    this.rows += keys.length;
  }

  /** Finish both files and move them into place; the replaced index's int8 copy is removed. */
  async close(): Promise<number> {
    try {
      await this.ids.write(this.rows === 0 ? ']' : '\n]');
    } finally {
      await this.ids.close();
    }
    await rm(this.int8File, { force: true });
    await this.npy.close();
    await rename(`${this.idsFile}.partial`, this.idsFile);
    return this.rows;
  }

  /** Remove the partial files (the stage failed). */
  async abort(): Promise<void> {
    await this.ids.close().catch(() => undefined);
    await rm(`${this.idsFile}.partial`, { force: true });
    await this.npy.abort();
  }
}
