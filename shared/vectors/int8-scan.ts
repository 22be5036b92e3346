// A quantised copy of a large FlatIndex for fast candidate search: every row scaled to
// length 1 and stored as int8 (per-row scale 127 / max |x|), scanned by a 40-instruction
// WebAssembly SIMD kernel (i8 → i16 widening, i32x4.dot_i16x8_s), whose best candidates the
// FlatIndex re-ranks exactly in float32. Why: plain JS does ~1 G multiply-adds/s on one
// core (a 1M × 1,024 query took 4.4 s with the machine loaded, ~0.6 s quiet); the kernel
// does 1M × 1,024 int8 in 0.36–0.6 s on the same loaded machine (docs/performance.md). wasm32
// memory is ≤ 4 GB: the int8 copy (N × D bytes, D padded to 16) fits up to ~3.9M rows of
// 1,024; the float32 matrix never enters wasm memory. The copy is built from the rows
// (build: quantiseRows, one pass) or read from a file written with the same function
// (filled; int8-file.ts), so both score alike, bit for bit.
//
// The kernel, in the text format (encoded by hand below; checked against a JS loop in
// test/unit/vectors/int8-scan.test.ts):
//   (func (export "scan") (param $q i32) (param $data i32) (param $rows i32) (param $dim i32) (param $out i32)
//     (local $r i32) (local $p i32) (local $end i32) (local $qp i32) (local $acc v128) (local $v v128)
//     r = 0; p = data
//     block loop                                   ;; per row
//       br_if 1 (r >= rows)
//       acc = 0; qp = q; end = p + dim
//       loop                                       ;; 16 int8 values per step
//         v = v128.load p
//         acc += i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s v, v128.load qp)
//         acc += i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s v, v128.load offset=16 qp)
//         p += 16; qp += 32; br_if 0 (p < end)
//       end
//       i32.store (out + 4r) (lane0 + lane1 + lane2 + lane3 of acc); r += 1; br 0
//     end end)
//   The query is int16 (|q| ≤ 2,047: no i32 overflow for dim ≤ 8,192), the rows int8.

// prettier-ignore
const BODY = [
  0x02, 0x04, 0x7f, 0x02, 0x7b,
  0x41, 0x00, 0x21, 0x05, 0x20, 0x01, 0x21, 0x06,
  0x02, 0x40, 0x03, 0x40,
  0x20, 0x05, 0x20, 0x02, 0x4f, 0x0d, 0x01,
  0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x21, 0x09,
  0x20, 0x00, 0x21, 0x08,
  0x20, 0x06, 0x20, 0x03, 0x6a, 0x21, 0x07,
  0x03, 0x40,
  0x20, 0x06, 0xfd, 0x00, 0x00, 0x00, 0x21, 0x0a,
  0x20, 0x09,
  0x20, 0x0a, 0xfd, 0x87, 0x01, 0x20, 0x08, 0xfd, 0x00, 0x00, 0x00, 0xfd, 0xba, 0x01, 0xfd, 0xae, 0x01,
  0x20, 0x0a, 0xfd, 0x88, 0x01, 0x20, 0x08, 0xfd, 0x00, 0x00, 0x10, 0xfd, 0xba, 0x01, 0xfd, 0xae, 0x01,
  0x21, 0x09,
  0x20, 0x06, 0x41, 0x10, 0x6a, 0x22, 0x06,
  0x20, 0x08, 0x41, 0x20, 0x6a, 0x21, 0x08,
  0x20, 0x07, 0x49, 0x0d, 0x00,
  0x0b,
  0x20, 0x04, 0x20, 0x05, 0x41, 0x02, 0x74, 0x6a,
  0x20, 0x09, 0xfd, 0x1b, 0x00,
  0x20, 0x09, 0xfd, 0x1b, 0x01, 0x6a,
  0x20, 0x09, 0xfd, 0x1b, 0x02, 0x6a,
  0x20, 0x09, 0xfd, 0x1b, 0x03, 0x6a,
  0x36, 0x02, 0x00,
  0x20, 0x05, 0x41, 0x01, 0x6a, 0x21, 0x05,
  0x0c, 0x00,
  0x0b, 0x0b, 0x0b,
];

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function moduleBytes(): Uint8Array {
  const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
  const name = (s: string) => [s.length, ...Buffer.from(s, 'latin1')];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]), // (i32 × 5) → ()
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]), // memory: 1 page, grown as needed
    ...section(7, [2, ...name('mem'), 0x02, 0, ...name('scan'), 0x00, 0]),
    ...section(10, [1, ...leb(BODY.length), ...BODY]),
  ]);
}

// The parts of the WebAssembly global used here (the project's TS lib has no DOM/wasm types).
interface WasmModule {
  readonly kind?: 'module';
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: WasmModule | null | undefined;

/** The kernel's module, or null where WebAssembly SIMD is not available. */
function kernel(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = moduleBytes();
    compiled = wasm.validate(bytes) ? new wasm.Module(bytes) : null;
  }
  return compiled;
}

export function int8ScanAvailable(): boolean {
  return kernel() !== null;
}

const PAGE = 65536;
const QUERY_AT = 0;

/** The int8 copy of a matrix and its scanner. */
export class Int8Scanner {
  private readonly memory: WasmMemory;
  private readonly scanRows: (q: number, data: number, rows: number, dim: number, out: number) => void;
  private readonly padded: number;
  private readonly dataAt: number;
  private readonly outAt: number;
  /** Per row: 1 / (127 / max |unit row|), so a score is dot × rowScale × queryScale. */
  private readonly rowScale: Float32Array;

  private constructor(
    readonly rows: number,
    readonly dim: number,
  ) {
    const module = kernel();
    if (!module) throw new Error('WebAssembly SIMD is not available');
    this.padded = paddedDim(dim);
    this.dataAt = Math.ceil((this.padded * 2) / 64) * 64;
    this.outAt = this.dataAt + rows * this.padded;
    const bytes = this.outAt + rows * 4;
    if (bytes > 4 * 1024 ** 3 - PAGE) throw new Error(`int8 copy of ${rows} × ${dim} does not fit in wasm32 memory`);
    const instance = new wasm.Instance(module);
    this.memory = instance.exports.mem as WasmMemory;
    this.memory.grow(Math.ceil(bytes / PAGE));
    this.scanRows = instance.exports.scan as Int8Scanner['scanRows'];
    this.rowScale = new Float32Array(rows);
  }

  /** Whether an index of this size fits (wasm32 memory). */
  static fits(rows: number, dim: number): boolean {
    const padded = paddedDim(dim);
    return padded * 2 + rows * (padded + 4) < 4 * 1024 ** 3 - 2 * PAGE;
  }

  /** Quantise rows [0, rows) of `data` (row-major, `dim` wide); `norms` are the rows' lengths. */
  static build(data: Float32Array, rows: number, dim: number, norms: Float32Array): Int8Scanner {
    const s = new Int8Scanner(rows, dim);
    quantiseRows(data, dim, norms, 0, rows, new Int8Array(s.memory.buffer, s.dataAt, rows * s.padded), s.rowScale);
    return s;
  }

  /**
   * A scanner whose int8 rows and per-row factors `fill` writes in place (a stored copy read
   * straight into wasm memory: `block` is rows × paddedDim(dim) bytes, `rowScale` one factor a
   * row, as quantiseRows gives them). `fill` returns false when what it read is not usable:
   * then no scanner (its memory is dropped).
   */
  static filled(rows: number, dim: number, fill: (block: Int8Array, rowScale: Float32Array) => boolean): Int8Scanner | undefined {
    const s = new Int8Scanner(rows, dim);
    return fill(new Int8Array(s.memory.buffer, s.dataAt, rows * s.padded), s.rowScale) ? s : undefined;
  }

  /** Approximate cosine of every row with `query` (length dim); a view valid until the next call. */
  scores(query: Float32Array): Float32Array {
    let max = 0;
    let norm = 0;
    for (let j = 0; j < this.dim; j++) {
      max = Math.max(max, Math.abs(query[j] as number));
      norm += (query[j] as number) ** 2;
    }
    const q16 = new Int16Array(this.memory.buffer, QUERY_AT, this.padded);
    q16.fill(0);
    const scale = max > 0 ? 2047 / max : 0;
    for (let j = 0; j < this.dim; j++) q16[j] = Math.round((query[j] as number) * scale);
    this.scanRows(QUERY_AT, this.dataAt, this.rows, this.padded, this.outAt);
    const dots = new Int32Array(this.memory.buffer, this.outAt, this.rows);
    const out = new Float32Array(this.memory.buffer, this.outAt, this.rows); // in place: the same slots
    const qs = scale > 0 && norm > 0 ? 1 / (scale * Math.sqrt(norm)) : 0;
    for (let r = 0; r < this.rows; r++) out[r] = (dots[r] as number) * (this.rowScale[r] as number) * qs;
    return out;
  }
}

/** A row's width in the int8 copy: `dim` rounded up to 16 (the kernel reads 16 values a step; the rest are 0). */
export function paddedDim(dim: number): number {
  return Math.ceil(dim / 16) * 16;
}

/**
 * Quantise rows [first, first + count) of `data` (row-major, `dim` wide; `norms` their
 * lengths) into `out` (row i of the range at i × paddedDim(dim); the padding is left as
 * it is) and `rowScale` (at i): each row scaled by 127 / max |x| and rounded, its
 * factor 1 / (scale × norm). What Int8Scanner.build and a stored copy both use, so a
 * stored copy scores exactly as a built one.
 */
export function quantiseRows(data: Float32Array, dim: number, norms: Float32Array, first: number, count: number, out: Int8Array, rowScale: Float32Array): void {
  const padded = paddedDim(dim);
  for (let i = 0; i < count; i++) {
    const r = first + i;
    const o = r * dim;
    let max = 0;
    for (let j = 0; j < dim; j++) {
      const x = data[o + j] as number;
      if (x > max) max = x;
      else if (-x > max) max = -x;
    }
    const scale = max > 0 ? 127 / max : 0;
    const p = i * padded;
    // Round half away from zero (what Math.round does for these values, without the call).
    for (let j = 0; j < dim; j++) {
      const v = (data[o + j] as number) * scale;
      out[p + j] = v < 0 ? (v - 0.5) | 0 : (v + 0.5) | 0;
    }
    // A row's unit-length score: dot(q, x) / |x| = dot(q, x8 / scale) / |x|.
    const norm = norms[r] as number;
    rowScale[i] = scale > 0 && norm > 0 ? 1 / (scale * norm) : 0;
  }
}
