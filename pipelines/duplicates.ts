// The duplicates stage: fingerprint every image of a source (shared/duplicates/
// fingerprint.ts), find confirmed pairs tier by tier (pairs.ts), and group them
// (groups.ts), leaving out pairs marked "not a duplicate". The same function serves the
// CLI (a folder or an index folder), the queue worker (a dataset) and the tests; what
// differs is where images and embeddings come from and where the report goes.
//
// Learned tier: when embeddings are given (an index folder, a dataset), each image's
// nearest neighbours by cosine are candidates too, and a pair with no other evidence is
// reported as `learned` when its cosine reaches the threshold — given, or chosen so that
// `fraction` of the images have a neighbour above it (FiftyOne's `fraction`), and
// reported back.

import { mapConcurrent } from '../shared/concurrency.js';
import { failureOf } from '../shared/images/failures.js';
import { loadOpenCv } from '../shared/features/opencv.js';
import { fingerprintImage, mirroredPrint, type Fingerprint } from '../shared/duplicates/fingerprint.js';
import { groupPairs, pairId, type DuplicateGroup } from '../shared/duplicates/groups.js';
import { findPairs, type NeighbourList, type PairEvidence } from '../shared/duplicates/pairs.js';
import { tierAtLeast, TIERS, type DuplicateThresholds, type Tier } from '../shared/duplicates/tiers.js';
import type { Logger } from '../shared/logger.js';
import type { Failure } from '../shared/images/decoded.js';

export interface DuplicateImage {
  key: string;
  load(): Promise<Buffer>;
  /** A file path, for the report (local sources). */
  path?: string;
}

export interface DuplicateSettings {
  thresholds: DuplicateThresholds;
  minTier: Tier;
  /** Visual-word and embedding candidates per image. */
  candidates: number;
  /** Learned tier: choose the cosine threshold so this share of images has a neighbour above it. */
  fraction?: number;
  workingSize: number;
  nfeatures: number;
  maxPixels: number;
  /** Images decoded at once. */
  concurrency: number;
}

export interface DuplicateProgress {
  (phase: 'fingerprint' | 'candidates' | 'verify', done: number, total: number): void;
}

export interface DuplicatesReport {
  version: 1;
  images: number;
  failed: Failure[];
  minTier: Tier;
  thresholds: DuplicateThresholds;
  /** Learned tier: the share asked for, when the threshold was chosen from it. */
  fraction?: number;
  /** Pairs found per tier (before min-tier and dismissals). */
  pairsByTier: Record<Tier, number>;
  /** Pairs at or above minTier left out because they were marked "not a duplicate". */
  dismissed: number;
  groups: DuplicateGroup[];
  seconds: { fingerprint: number; pairs: number; total: number };
}

/** Embeddings of the images, by key (an index folder's or a dataset's). */
export interface EmbeddingLookup {
  dim: number;
  vectorOf(key: string): Float32Array | undefined;
}

/** Fingerprints of `images`, `concurrency` decoded at a time; bad images become failures. */
export async function fingerprintImages(
  images: readonly DuplicateImage[],
  s: Pick<DuplicateSettings, 'workingSize' | 'nfeatures' | 'maxPixels' | 'concurrency'>,
  progress?: DuplicateProgress,
): Promise<{ fingerprints: Fingerprint[]; failed: Failure[] }> {
  const cv = await loadOpenCv();
  let done = 0;
  const failed: Failure[] = [];
  const results = await mapConcurrent(images, s.concurrency, async (img) => {
    try {
      return await fingerprintImage(cv, img.key, await img.load(), s);
    } catch (error) {
      // The image's own fault (its bytes, or the file gone or unreadable) is a failure; anything else stops the pass.
      const failure = failureOf(img.key, error);
      if (!failure) throw error;
      failed.push(failure);
      return undefined;
    } finally {
      progress?.('fingerprint', ++done, images.length);
    }
  });
  return { fingerprints: results.filter((f): f is Fingerprint => f !== undefined), failed: failed.sort((a, b) => (a.key < b.key ? -1 : 1)) };
}

/** Nearest neighbours by cosine among the fingerprinted images that have an embedding. */
async function embeddingNeighbours(fps: readonly Fingerprint[], lookup: EmbeddingLookup, k: number): Promise<{ list: NeighbourList; topCosines: number[] }> {
  const { allNearestNeighbours } = await import('../shared/vectors/all-neighbours.js');
  const rows: number[] = [];
  const data = new Float32Array(fps.length * lookup.dim);
  fps.forEach((f, i) => {
    const v = lookup.vectorOf(f.key);
    if (!v) return;
    let norm = 0;
    for (const x of v) norm += x * x;
    norm = Math.sqrt(norm) || 1;
    const at = rows.length * lookup.dim;
    for (let d = 0; d < lookup.dim; d++) data[at + d] = (v[d] as number) / norm;
    rows.push(i);
  });
  const n = rows.length;
  const kk = Math.min(k, n - 1);
  const out = new Map<number, Array<{ image: number; cosine: number }>>();
  const topCosines: number[] = [];
  if (kk > 0) {
    const nn = allNearestNeighbours(data.subarray(0, n * lookup.dim), n, lookup.dim, kk);
    for (let r = 0; r < n; r++) {
      const list: Array<{ image: number; cosine: number }> = [];
      for (let c = 0; c < kk; c++) {
        const o = nn[r * kk + c] as number;
        let dot = 0;
        for (let d = 0; d < lookup.dim; d++) dot += (data[r * lookup.dim + d] as number) * (data[o * lookup.dim + d] as number);
        list.push({ image: rows[o] as number, cosine: dot });
      }
      out.set(rows[r] as number, list);
      topCosines.push(list[0]?.cosine ?? -1);
    }
  }
  return { list: { neighbours: (i) => out.get(i) ?? [] }, topCosines };
}

/**
 * The cosine that `fraction` of the images reach with their nearest neighbour, to 4 decimals
 * rounded down, never above what the share reaches: rounded to nearest, a share reached at
 * 0.99996 got 1, above every cosine it has.
 */
export function cosineForFraction(topCosines: readonly number[], fraction: number): number {
  if (topCosines.length === 0) return 1;
  const sorted = [...topCosines].sort((a, b) => b - a);
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  // + 1e-9: 0.29 × 1e4 is 2899.9999999999995 in floating point; a step down if that overshot.
  const reached = sorted[at] as number;
  const t = Math.floor(reached * 1e4 + 1e-9) / 1e4;
  return t > reached ? Math.round((t - 1e-4) * 1e4) / 1e4 : t;
}

/** Duplicate groups among `images`. */
export async function findDuplicates(
  images: readonly DuplicateImage[],
  s: DuplicateSettings,
  o: { embeddings?: EmbeddingLookup; dismissed?: ReadonlySet<string>; progress?: DuplicateProgress; logger?: Logger } = {},
): Promise<DuplicatesReport> {
  const t0 = performance.now();
  const { fingerprints, failed } = await fingerprintImages(images, s, o.progress);
  const t1 = performance.now();
  const cv = await loadOpenCv();
  let thresholds = { ...s.thresholds };
  let neighbours: NeighbourList | undefined;
  if (o.embeddings) {
    const e = await embeddingNeighbours(fingerprints, o.embeddings, s.candidates);
    neighbours = e.list;
    if (s.fraction !== undefined) thresholds = { ...thresholds, cosine: cosineForFraction(e.topCosines, s.fraction) };
  }
  const byKey = new Map(images.map((img) => [img.key, img]));
  const mirrored = async (i: number): Promise<Awaited<ReturnType<typeof mirroredPrint>> | undefined> => {
    const f = fingerprints[i] as Fingerprint;
    const img = byKey.get(f.key);
    try {
      return img ? await mirroredPrint(cv, f.key, await img.load(), s) : undefined;
    } catch (error) {
      if (failureOf(f.key, error)) return undefined; // changed or gone since it was fingerprinted: no mirrored evidence
      throw error;
    }
  };
  const pairs = await findPairs(
    cv,
    fingerprints,
    { thresholds, candidates: s.candidates, cosine: thresholds.cosine, mirrored, onProgress: (done, total, phase) => o.progress?.(phase as 'candidates' | 'verify', done, total) },
    neighbours,
  );
  const dismissed = o.dismissed ?? new Set<string>();
  const groups = groupPairs(fingerprints, pairs, { minTier: s.minTier, dismissed });
  const t2 = performance.now();
  return {
    version: 1,
    images: fingerprints.length,
    failed,
    minTier: s.minTier,
    thresholds,
    ...(s.fraction !== undefined ? { fraction: s.fraction } : {}),
    pairsByTier: countTiers(pairs),
    dismissed: dismissedCount(fingerprints, pairs.filter((p) => tierAtLeast(p.tier, s.minTier)), dismissed),
    groups,
    seconds: { fingerprint: secs(t1 - t0), pairs: secs(t2 - t1), total: secs(t2 - t0) },
  };
}

function countTiers(pairs: readonly PairEvidence[]): Record<Tier, number> {
  const out = Object.fromEntries(TIERS.map((t) => [t, 0])) as Record<Tier, number>;
  for (const p of pairs) out[p.tier]++;
  return out;
}

function dismissedCount(fps: readonly Fingerprint[], pairs: readonly PairEvidence[], dismissed: ReadonlySet<string>): number {
  if (dismissed.size === 0) return 0;
  let n = 0;
  for (const p of pairs) {
    if (dismissed.has(pairId((fps[p.a] as Fingerprint).key, (fps[p.b] as Fingerprint).key))) n++;
  }
  return n;
}

const secs = (ms: number): number => Math.round(ms / 100) / 10;
