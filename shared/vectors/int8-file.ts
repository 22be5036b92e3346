// The int8 copy of a large local index, stored beside its embeddings.npy as
// `embeddings.int8`, so that the first large query reads it (one sequential read, straight
// into wasm memory) instead of quantising every row (int8-scan.ts: 4–5 s at 100k × 1,024
// and a minute or more at 1M on the loaded 2-core machine; docs/performance.md).
//
// Layout (little-endian):
//   0   8 bytes  magic "IMGSIMQ8"
//   8   u32      version (1)
//   12  u32      rows
//   16  u32      dim
//   20  u32      padded dim (paddedDim(dim): the int8 rows' stride)
//   24  f64      byte size of the embeddings.npy it was made from
//   32…63        zero
//   64           rows × f32: every row's norm, as the FlatIndex computes it (the fingerprint)
//   64 + 4·rows  rows × f32: every row's factor (quantiseRows' rowScale)
//   BLOCK        rows × padded int8 (BLOCK = 64 + 8·rows rounded up to 64)
// and nothing after. Written to `<file>.partial` and renamed into place.
//
// Never trusted: a copy is used only when its header gives this matrix's shape and the
// embeddings.npy's byte size, its norms equal, bit for bit, the norms the loader computed
// from the embeddings.npy it read (a content check over every row, at no cost: the loader
// computes them anyway), and, when the rows are read at the first large query, the file
// is still the one checked at load (inode, size, mtime) and 256 rows spread over the
// index re-quantise to exactly the stored bytes and factors. Anything else (absent,
// truncated, foreign, stale, unreadable) means no stored copy: the FlatIndex builds its
// own as before. What this does not catch: a row changed in embeddings.npy with its norm
// unchanged to the last bit (a permutation of its values, say) and not among the sampled
// ones — its int8 score would be off, and the exact re-rank would still score whatever
// it returns exactly. The npy's mtime is not part of the check, so a copied index folder
// (cp -r, rsync) keeps its copy.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { Int8Scanner, int8ScanAvailable, paddedDim, quantiseRows } from './int8-scan.js';

export const INT8_FILE = 'embeddings.int8';

const MAGIC = Buffer.from('IMGSIMQ8', 'latin1');
const VERSION = 1;
const HEADER = 64;
/** Rows re-quantised and compared when the stored rows are read. */
const SAMPLES = 256;
/** Rows quantised per write: ~8 MiB of int8 at a time. */
const CHUNK_BYTES = 8 << 20;
/** fs.readSync reads at most 2 GiB − 1 per call. */
const READ_CHUNK = 1 << 30;

/** The matrix a copy is made from or checked against: rows [0, rows) of `data` and their norms. */
export interface Int8Source {
  data: Float32Array;
  norms: Float32Array;
  rows: number;
  dim: number;
}

interface Layout {
  padded: number;
  normsAt: number;
  scalesAt: number;
  blockAt: number;
  size: number;
}

function layout(rows: number, dim: number): Layout {
  const padded = paddedDim(dim);
  const blockAt = Math.ceil((HEADER + 8 * rows) / 64) * 64;
  return { padded, normsAt: HEADER, scalesAt: HEADER + 4 * rows, blockAt, size: blockAt + rows * padded };
}

function bytesOf(a: Float32Array | Int8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Write the int8 copy of `m` to `file` (temp file + rename), quantised a chunk of rows at a
 * time (memory: one chunk, whatever the index's size). `npyBytes`: the byte size of the
 * embeddings.npy holding the same rows.
 */
export async function writeInt8Copy(file: string, m: Int8Source, npyBytes: number): Promise<void> {
  const { padded, normsAt, scalesAt, blockAt } = layout(m.rows, m.dim);
  const head = Buffer.alloc(HEADER);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(VERSION, 8);
  head.writeUInt32LE(m.rows, 12);
  head.writeUInt32LE(m.dim, 16);
  head.writeUInt32LE(padded, 20);
  head.writeDoubleLE(npyBytes, 24);
  const partial = `${file}.partial`;
  const handle = await open(partial, 'w');
  try {
    await handle.write(head, 0, HEADER, 0);
    const norms = m.norms.subarray(0, m.rows);
    await handle.write(bytesOf(norms), 0, norms.byteLength, normsAt);
    const scales = new Float32Array(m.rows);
    const chunkRows = Math.max(1, Math.floor(CHUNK_BYTES / padded));
    const chunk = new Int8Array(chunkRows * padded); // padding stays 0: quantiseRows writes dim values a row
    const chunkBytes = bytesOf(chunk);
    for (let first = 0; first < m.rows; first += chunkRows) {
      const count = Math.min(chunkRows, m.rows - first);
      quantiseRows(m.data, m.dim, m.norms, first, count, chunk, scales.subarray(first));
      await handle.write(chunkBytes, 0, count * padded, blockAt + first * padded);
    }
    await handle.write(bytesOf(scales), 0, scales.byteLength, scalesAt);
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw error;
  }
  await rename(partial, file);
}

/** The identity of a file checked at load, compared again when its rows are read. */
interface Seen {
  ino: number;
  size: number;
  mtimeMs: number;
}

/**
 * The int8 copy in `file` when it is `m`'s (shape, the npy's byte size, every row's norm),
 * else undefined (absent, truncated, foreign, stale). Reads the header and the norms only;
 * the rows are read by `open`, at the first large query.
 */
export async function findInt8Copy(file: string, m: Int8Source, npyBytes: number): Promise<StoredInt8Copy | undefined> {
  if (m.rows === 0 || !int8ScanAvailable() || !Int8Scanner.fits(m.rows, m.dim)) return undefined;
  const { padded, normsAt, size } = layout(m.rows, m.dim);
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = await handle.stat();
    if (st.size !== size) return undefined;
    const head = Buffer.alloc(HEADER);
    await handle.read(head, 0, HEADER, 0);
    if (!head.subarray(0, 8).equals(MAGIC) || head.readUInt32LE(8) !== VERSION) return undefined;
    if (head.readUInt32LE(12) !== m.rows || head.readUInt32LE(16) !== m.dim || head.readUInt32LE(20) !== padded || head.readDoubleLE(24) !== npyBytes) return undefined;
    const stored = Buffer.alloc(4 * m.rows);
    const { bytesRead } = await handle.read(stored, 0, stored.length, normsAt);
    if (bytesRead !== stored.length || !stored.equals(bytesOf(m.norms.subarray(0, m.rows)))) return undefined;
    return new StoredInt8Copy(file, m.rows, m.dim, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

/** A stored int8 copy checked at load; `open` reads its rows. */
export class StoredInt8Copy {
  constructor(
    readonly file: string,
    readonly rows: number,
    readonly dim: number,
    private readonly seen: Seen,
  ) {}

  /**
   * A scanner over the stored rows, read straight into its wasm memory (synchronously: the
   * first large query, or FlatIndex.prepareSearch, waits for it as it would for a build);
   * undefined when the file changed since it was checked or a sampled row does not
   * re-quantise to what is stored. `m` is the matrix checked at load.
   */
  open(m: Int8Source): Int8Scanner | undefined {
    if (m.rows !== this.rows || m.dim !== this.dim) return undefined;
    const { padded, scalesAt, blockAt } = layout(this.rows, this.dim);
    let fd: number | undefined;
    try {
      fd = openSync(this.file, 'r');
      const st = fstatSync(fd);
      if (st.ino !== this.seen.ino || st.size !== this.seen.size || st.mtimeMs !== this.seen.mtimeMs) return undefined;
      const at = fd;
      return Int8Scanner.filled(this.rows, this.dim, (block, rowScale) => {
        readFully(at, bytesOf(rowScale), scalesAt);
        readFully(at, bytesOf(block), blockAt);
        return samplesMatch(m, padded, block, rowScale);
      });
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

function readFully(fd: number, target: Uint8Array, position: number): void {
  for (let done = 0; done < target.length; ) {
    const n = readSync(fd, target, done, Math.min(READ_CHUNK, target.length - done), position + done);
    if (n === 0) throw new Error('int8 copy: truncated');
    done += n;
  }
}

/** Whether SAMPLES rows spread over the index (the first and the last among them) re-quantise to the stored bytes and factors. */
function samplesMatch(m: Int8Source, padded: number, block: Int8Array, rowScale: Float32Array): boolean {
  const row = new Int8Array(padded);
  const scale = new Float32Array(1);
  const count = Math.min(SAMPLES, m.rows);
  for (let i = 0; i < count; i++) {
    const r = count === 1 ? 0 : Math.round((i * (m.rows - 1)) / (count - 1));
    quantiseRows(m.data, m.dim, m.norms, r, 1, row, scale);
    if (scale[0] !== rowScale[r]) return false;
    const stored = block.subarray(r * padded, r * padded + m.dim);
    for (let j = 0; j < m.dim; j++) if (stored[j] !== row[j]) return false;
  }
  return true;
}

/** The byte size of `file` (an embeddings.npy), or undefined when it cannot be read. */
export async function byteSize(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}
