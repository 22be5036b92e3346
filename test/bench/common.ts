// Shared helpers of the benchmarks: options, the synthetic JPEG set (generated once
// into a cache under os.tmpdir()), the reference PyTorch script runner and formatting.
// The benchmarks install and download nothing: the reference runs only when Debian's
// python3-torch is importable by /usr/bin/python3.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { mapConcurrent } from '../../shared/concurrency.js';
import { createRng } from '../../shared/random.js';

export const REFERENCE_SCRIPT = fileURLToPath(new URL('./reference_cae.py', import.meta.url));
/** Debian's interpreter: python3-torch installs into it, not into a pyenv/venv python. */
export const REFERENCE_PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
export const REFERENCE_MISSING = "reference skipped: install Debian's python3-torch (apt-get install python3-torch)";
export const CACHE_ROOT = path.join(os.tmpdir(), 'imgsim-bench-cache');

// ---------------------------------------------------------------------------
// Options: `--name=value` / `--name value` on argv, else BENCH_NAME in the environment.

export function option(argv: readonly string[], name: string, fallback: string): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === `--${name}` && i + 1 < argv.length) return argv[i + 1] as string;
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? fallback;
}

export function intOption(argv: readonly string[], name: string, fallback: number, min = 1): number {
  const raw = option(argv, name, String(fallback));
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer ≥ ${min}, received "${raw}"`);
  return n;
}

export function intListOption(argv: readonly string[], name: string, fallback: readonly number[]): number[] {
  const raw = option(argv, name, fallback.join(','));
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`--${name}: expected comma-separated positive integers, received "${raw}"`);
  }
  return list;
}

export function stringOption(argv: readonly string[], name: string, fallback: string | undefined): string | undefined {
  const raw = option(argv, name, fallback ?? '');
  return raw === '' ? undefined : raw;
}

// ---------------------------------------------------------------------------
// Synthetic photo-like JPEGs: a smooth random colour field (a 12×8 grid of random
// colours upscaled with a cubic kernel) plus per-pixel noise, quality 85. At 800×533
// they are ~70 KB and take sharp ~4–6 ms each to decode and shrink, close to real
// camera photos of that size. Deterministic per index; written atomically (tmp file +
// rename) so a killed run never leaves a half file that a later run would reuse.

export interface JpegSet {
  dir: string;
  files: string[];
  generatedNow: number;
  seconds: number;
}

const JPEG_VERSION = 1;

export async function ensureJpegSet(o: { count: number; width: number; height: number; seed: number }): Promise<JpegSet> {
  const dir = path.join(CACHE_ROOT, `jpeg-v${JPEG_VERSION}-${o.width}x${o.height}-s${o.seed}`);
  await mkdir(dir, { recursive: true });
  const present = new Set(await readdir(dir));
  const files = Array.from({ length: o.count }, (_, i) => `${String(i).padStart(5, '0')}.jpg`);
  const missing = files.map((f, i) => ({ f, i })).filter(({ f }) => !present.has(f));
  const started = performance.now();
  await mapConcurrent(missing, Math.max(1, os.availableParallelism()), async ({ f, i }) => {
    const bytes = await syntheticJpeg(o.width, o.height, o.seed * 100_003 + i);
    const tmp = path.join(dir, `.${f}.${process.pid}.tmp`);
    await writeFile(tmp, bytes);
    await rename(tmp, path.join(dir, f));
  });
  return { dir, files, generatedNow: missing.length, seconds: (performance.now() - started) / 1000 };
}

async function syntheticJpeg(width: number, height: number, seed: number): Promise<Buffer> {
  const rng = createRng(seed);
  const gw = 12;
  const gh = 8;
  const grid = Buffer.alloc(gw * gh * 3);
  for (let j = 0; j < grid.length; j++) grid[j] = Math.floor(rng() * 256);
  const pixels = await sharp(grid, { raw: { width: gw, height: gh, channels: 3 } })
    .resize(width, height, { kernel: 'cubic' })
    .raw()
    .toBuffer();
  const sigma = 24;
  for (let j = 0; j < pixels.length; j++) {
    const v = (pixels[j] as number) + (rng() - 0.5) * sigma;
    pixels[j] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

export async function totalBytes(dir: string, files: readonly string[]): Promise<number> {
  let sum = 0;
  for (const f of files) sum += (await stat(path.join(dir, f))).size;
  return sum;
}

// ---------------------------------------------------------------------------
// .npy (format 1.0) of a uint8 array of any shape, C order: what numpy.load reads.

export function encodeNpyUint8(data: Uint8Array, shape: readonly number[]): Buffer {
  const expected = shape.reduce((a, b) => a * b, 1);
  if (expected !== data.length) throw new Error(`npy: ${data.length} bytes, shape ${shape.join('×')} needs ${expected}`);
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

// ---------------------------------------------------------------------------
// The reference (PyTorch) side.

/** Whether /usr/bin/python3 can import torch (and numpy, PIL); the reason when not. */
export function detectReference(): { ok: true; torch: string } | { ok: false; reason: string } {
  const probe = spawnSync(REFERENCE_PYTHON, ['-c', 'import torch, numpy, PIL; print(torch.__version__)'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (probe.error) return { ok: false, reason: `${REFERENCE_PYTHON}: ${probe.error.message}` };
  if (probe.status !== 0) return { ok: false, reason: (probe.stderr.trim().split('\n').pop() ?? '').trim() };
  return { ok: true, torch: probe.stdout.trim() };
}

/** Run reference_cae.py with these arguments; resolves to the JSON object on its last stdout line. */
export function runReference(args: readonly string[], threads: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(REFERENCE_PYTHON, [REFERENCE_SCRIPT, ...args, '--threads', String(threads)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) },
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`reference_cae.py exited with ${code}: ${out.trim()}`));
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`reference_cae.py printed no JSON result: ${out.trim()}`));
      }
    });
  });
}

/**
 * A line about the BLAS the reference loaded, once per process: Debian's netlib
 * reference BLAS (what python3-torch gets with --no-install-recommends) makes the
 * reference CAE ~1.5–2× slower, which would flatter our ratio.
 */
let blasReported = false;
export function referenceBlasLine(r: Record<string, unknown>): string | undefined {
  if (blasReported) return undefined;
  blasReported = true;
  const blas = typeof r.blas === 'string' ? r.blas : '';
  if (/openblas|blis|atlas|mkl/i.test(blas)) return `reference BLAS: ${blas.split(', ').pop() ?? blas}`;
  return (
    `WARNING: the reference uses ${blas || 'an unknown BLAS'}: Debian's netlib reference BLAS makes PyTorch ~1.5–2× slower here ` +
    `and the ratio too flattering; install OpenBLAS (apt-get install libopenblas0, a recommend of python3-torch)`
  );
}

export function numberField(r: Record<string, unknown>, key: string): number {
  const v = r[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`reference result lacks a numeric "${key}": ${JSON.stringify(r)}`);
  return v;
}

// ---------------------------------------------------------------------------
// Statistics and formatting.

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** "median (min–max over n rounds)" when there are several values. */
export function describeRate(xs: readonly number[]): string {
  if (xs.length === 0) return '-';
  const m = median(xs).toFixed(1);
  if (xs.length === 1) return m;
  return `${m} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
}

/** Like describeRate for ratios (3 decimals). */
export function describeRatio(xs: readonly number[]): string {
  if (xs.length === 0) return '-';
  const m = median(xs).toFixed(3);
  if (xs.length === 1) return m;
  return `${m} (${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)})`;
}

export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
}

export function table(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd();
  return [line(rows[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${os.availableParallelism()} cores (${cpu}), Node ${process.version}, load average ${load}`;
}

/** Write a bench's result for test/bench/index.ts when it passed --json=<file>. */
export async function writeJsonResult(file: string | undefined, result: unknown): Promise<void> {
  if (file) await writeFile(file, JSON.stringify(result, null, 2));
}

/**
 * Clustered synthetic rows (64 centres + uniform noise), deterministic for a seed, written
 * straight into shared memory (worker threads and FlatIndex.adopt read them in place).
 */
export function syntheticRows(n: number, d: number, seed: number): Float32Array {
  const data = new Float32Array(new SharedArrayBuffer(n * d * 4));
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296 - 0.5;
  };
  const centres = Float32Array.from({ length: 64 * d }, () => next() * 4);
  for (let r = 0; r < n; r++) {
    const c = (r % 64) * d;
    const o = r * d;
    for (let j = 0; j < d; j++) data[o + j] = (centres[c + j] as number) + next();
  }
  return data;
}
