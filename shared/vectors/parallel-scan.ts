// The brute-force cosine scan of a FlatIndex split over worker threads: each worker scores
// a range of rows of the shared matrix (SharedArrayBuffer: nothing is copied) and returns
// its best candidates; the caller merges them. On this 2-core machine two workers halve the
// time of a 1M × 1,024 query (figures in docs/performance.md). The workers run plain JS
// given as source (no TypeScript loader in a worker), are started on the first large
// query, and keep the process alive only while a query is in flight.
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/** One range of one query. */
export interface ScanRequest {
  data: Float32Array;
  norms: Float32Array;
  dim: number;
  start: number;
  end: number;
  query: Float32Array;
  queryNorm: number;
  /** Candidates to return. */
  k: number;
  /** Rows with a 0 here are skipped (filters); all rows when absent. */
  allowed?: Uint8Array;
}

export interface ScanHit {
  row: number;
  score: number;
}

// The worker: the same 4-way unrolled dot product as dotRow in flat-index.ts, and a
// bounded min-heap of (score, row).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, data, norms, dim, start, end, query, queryNorm, k, allowed }) => {
  const scores = new Float64Array(k);
  const rows = new Int32Array(k);
  let size = 0;
  const less = (i, j) => scores[i] < scores[j] || (scores[i] === scores[j] && rows[i] > rows[j]);
  const swap = (i, j) => { const s = scores[i]; scores[i] = scores[j]; scores[j] = s; const r = rows[i]; rows[i] = rows[j]; rows[j] = r; };
  for (let r = start; r < end; r++) {
    if (allowed !== undefined && allowed[r] === 0) continue;
    const denom = queryNorm * norms[r];
    let s = 0;
    if (denom > 0) {
      const o = r * dim;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, j = 0;
      for (; j + 3 < dim; j += 4) {
        s0 += query[j] * data[o + j]; s1 += query[j + 1] * data[o + j + 1];
        s2 += query[j + 2] * data[o + j + 2]; s3 += query[j + 3] * data[o + j + 3];
      }
      for (; j < dim; j++) s0 += query[j] * data[o + j];
      s = (s0 + s1 + s2 + s3) / denom;
    }
    if (size < k) {
      scores[size] = s; rows[size] = r;
      let i = size++;
      while (i > 0) { const p = (i - 1) >> 1; if (!less(i, p)) break; swap(i, p); i = p; }
    } else if (k > 0 && s > scores[0]) {
      scores[0] = s; rows[0] = r;
      let i = 0;
      for (;;) { const l = 2 * i + 1, rr = l + 1; let m = i; if (l < size && less(l, m)) m = l; if (rr < size && less(rr, m)) m = rr; if (m === i) break; swap(i, m); i = m; }
    }
  }
  parentPort.postMessage({ id, rows: rows.slice(0, size), scores: scores.slice(0, size) });
});
`;

interface Pending {
  resolve: (hits: ScanHit[]) => void;
  reject: (error: Error) => void;
}

class ScanPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(readonly size: number) {}

  private worker(i: number): Worker {
    let w = this.workers[i];
    if (!w) {
      w = new Worker(WORKER_SOURCE, { eval: true });
      w.unref();
      w.on('message', (m: { id: number; rows: Int32Array; scores: Float64Array }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        this.settle();
        p?.resolve(Array.from(m.rows, (row, j) => ({ row, score: m.scores[j] as number })));
      });
      w.on('error', (error) => {
        for (const p of this.pending.values()) p.reject(error);
        this.pending.clear();
        this.workers.length = 0;
      });
      this.workers[i] = w;
    }
    return w;
  }

  /** Keep the process alive while answers are awaited, not otherwise. */
  private settle(): void {
    for (const w of this.workers) {
      if (this.pending.size > 0) w.ref();
      else w.unref();
    }
  }

  run(i: number, request: ScanRequest): Promise<ScanHit[]> {
    const id = this.nextId++;
    const w = this.worker(i % this.size);
    return new Promise<ScanHit[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.settle();
      w.postMessage({ id, ...request });
    });
  }
}

let pool: ScanPool | undefined;

/** Threads a scan uses: the machine's cores, at most 8. */
export function scanThreads(): number {
  return Math.max(1, Math.min(8, os.availableParallelism()));
}

/** The best `k` rows of [0, rows) by cosine, computed in `threads` worker ranges (merged; ties: lower row first). */
export async function parallelScan(request: Omit<ScanRequest, 'start' | 'end'> & { rows: number }, threads = scanThreads()): Promise<ScanHit[]> {
  pool ??= new ScanPool(scanThreads());
  const parts = Math.max(1, Math.min(threads, pool.size));
  const per = Math.ceil(request.rows / parts);
  const { rows, ...rest } = request;
  const ranges = Array.from({ length: parts }, (_, i) => ({ start: i * per, end: Math.min(rows, (i + 1) * per) })).filter((r) => r.end > r.start);
  const results = await Promise.all(ranges.map((r, i) => pool?.run(i, { ...rest, ...r }) ?? Promise.resolve([])));
  return results
    .flat()
    .sort((a, b) => b.score - a.score || a.row - b.row)
    .slice(0, request.k);
}
