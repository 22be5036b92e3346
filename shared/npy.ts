// NumPy .npy (format 1.0) for 2-D little-endian float32 matrices: what numpy.load
// reads as an (N, D) float32 array. Written here because the format is ~40 lines and
// the npm readers (npyjs) do not write.

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

export function decodeNpy(buf: Buffer, what = 'npy file'): Matrix {
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
  const offset = start + headerLen;
  const bytes = rows * cols * 4;
  if (buf.length - offset < bytes) throw new Error(`${what}: truncated (${buf.length - offset} of ${bytes} data bytes)`);
  const data = new Float32Array(rows * cols);
  Buffer.from(data.buffer).set(buf.subarray(offset, offset + bytes));
  return { rows, cols, data };
}
