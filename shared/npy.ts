// NumPy .npy (format 1.0) for 2-D little-endian float32 matrices: what numpy.load
// reads as an (N, D) float32 array. Written here because the format is ~40 lines and
// the npm readers (npyjs) do not write. NpyAppender writes one batch at a time (a fixed
// 128-byte header whose shape is filled in at the end); readNpyFile reads a file straight
// into one Float32Array, in chunks (no whole-file Buffer, files over 2 GB too).

import { open, rename, rm, type FileHandle } from 'node:fs/promises';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

export function encodeNpy(m: Matrix): Buffer {
  if (m.data.length !== m.rows * m.cols) {
    throw new Error(`npy: data has ${m.data.length} values, expected ${m.rows}×${m.cols}`);
  }
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${m.rows}, ${m.cols}), }`;
  // Magic (6) + version (2) + header length (2) + header + '\n' is padded to a multiple of 64.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  // Float32Array uses the platform's byte order; every platform Node runs on is little-endian.
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

/** rows and cols of a 2-D little-endian float32 header (`buf` starts at the magic). */
function parseHeader(buf: Buffer, what: string): { rows: number; cols: number; offset: number } {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${what}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4') throw new Error(`${what}: dtype ${descr ?? '?'} not supported (expected <f4, float32)`);
  if (fortran !== 'False') throw new Error(`${what}: Fortran order not supported`);
  const dims = (shape ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (dims.length !== 2 || dims.some((d) => !Number.isInteger(d))) {
    throw new Error(`${what}: expected a 2-D array, found shape (${shape ?? ''})`);
  }
  const [rows, cols] = dims as [number, number];
  return { rows, cols, offset: start + headerLen };
}

export function decodeNpy(buf: Buffer, what = 'npy file'): Matrix {
  const { rows, cols, offset } = parseHeader(buf, what);
  const bytes = rows * cols * 4;
  if (buf.length - offset < bytes) throw new Error(`${what}: truncated (${buf.length - offset} of ${bytes} data bytes)`);
  const data = new Float32Array(rows * cols);
  Buffer.from(data.buffer).set(buf.subarray(offset, offset + bytes));
  return { rows, cols, data };
}

// ---------------------------------------------------------------------------------
// Streaming: a file written batch by batch (the local embed stage), and read back
// straight into one Float32Array (no intermediate Buffer of the whole file).

/**
 * The header of an appended file has a fixed size (128 bytes, a multiple of 64 as numpy
 * writes): room for any row count, so the final shape is written over it in place.
 */
const APPEND_HEADER_BYTES = 128;

function headerBytes(rows: number, cols: number, total?: number): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const size = total ?? Math.ceil((10 + dict.length + 1) / 64) * 64;
  const pad = size - 10 - dict.length - 1;
  if (pad < 0) throw new Error(`npy: header of shape (${rows}, ${cols}) does not fit in ${size} bytes`);
  const head = Buffer.alloc(10);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(size - 10, 8);
  return Buffer.concat([head, Buffer.from(dict + ' '.repeat(pad) + '\n', 'latin1')]);
}

/**
 * Appends float32 rows to a .npy file: written to `<file>.partial`, the header's shape
 * fixed and the file renamed over `file` by close(); abort() removes the partial file.
 * Memory is one batch, whatever the number of rows.
 */
export class NpyAppender {
  private rows = 0;
  private constructor(
    private readonly handle: FileHandle,
    readonly file: string,
    readonly cols: number,
  ) {}

  static async create(file: string, cols: number): Promise<NpyAppender> {
    if (!Number.isInteger(cols) || cols < 1) throw new Error(`npy: invalid column count ${cols}`);
    const handle = await open(`${file}.partial`, 'w');
    const appender = new NpyAppender(handle, file, cols);
    await handle.write(headerBytes(0, cols, APPEND_HEADER_BYTES), 0, APPEND_HEADER_BYTES, 0);
    return appender;
  }

  get count(): number {
    return this.rows;
  }

  /** Append whole rows (data.length a multiple of cols). */
  async append(data: Float32Array): Promise<void> {
    if (data.length % this.cols !== 0) throw new Error(`npy: ${data.length} values are not whole rows of ${this.cols}`);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    await this.handle.write(bytes, 0, bytes.length, APPEND_HEADER_BYTES + this.rows * this.cols * 4);
    this.rows += data.length / this.cols;
  }

  /** Write the final shape, close, and move the file into place; returns the row count. */
  async close(): Promise<number> {
    try {
      await this.handle.write(headerBytes(this.rows, this.cols, APPEND_HEADER_BYTES), 0, APPEND_HEADER_BYTES, 0);
      await this.handle.truncate(APPEND_HEADER_BYTES + this.rows * this.cols * 4);
    } finally {
      await this.handle.close();
    }
    await rename(`${this.file}.partial`, this.file);
    return this.rows;
  }

  /** Close and remove the partial file (the stage failed). */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(`${this.file}.partial`, { force: true });
  }
}

/** Read a 2-D float32 .npy file into one Float32Array (chunked reads: files over 2 GB too). */
export async function readNpyFile(file: string, o: { shared?: boolean } = {}): Promise<Matrix> {
  const handle = await open(file, 'r');
  try {
    const first = Buffer.alloc(12);
    const { bytesRead } = await handle.read(first, 0, 12, 0);
    if (bytesRead < 10 || !first.subarray(0, 6).equals(MAGIC)) throw new Error(`${file}: not a .npy file`);
    const start = first[6] === 1 ? 10 : 12;
    const headerLen = first[6] === 1 ? first.readUInt16LE(8) : first.readUInt32LE(8);
    const head = Buffer.alloc(start + headerLen);
    await handle.read(head, 0, head.length, 0);
    const { rows, cols } = parseHeader(head, file);
    const bytes = rows * cols * 4;
    const size = (await handle.stat()).size;
    if (size - head.length < bytes) throw new Error(`${file}: truncated (${size - head.length} of ${bytes} data bytes)`);
    const buffer = o.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    const target = new Uint8Array(buffer);
    const CHUNK = 1 << 30;
    for (let done = 0; done < bytes; ) {
      const { bytesRead: n } = await handle.read(target, done, Math.min(CHUNK, bytes - done), head.length + done);
      if (n === 0) throw new Error(`${file}: truncated`);
      done += n;
    }
    return { rows, cols, data: new Float32Array(buffer) };
  } finally {
    await handle.close();
  }
}
