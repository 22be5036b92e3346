// A verify job's fingerprints (pipelines/distributed/duplicates-records.ts): read by ranged
// GETs of their records only, close records coalesced into one GET; a file whose spans are
// unknown (a ledger or chunk from before spans) read whole; a span that does not hold the
// image the chunk names refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeFingerprints, encodeFingerprints, type StoredFingerprint } from '../../../shared/duplicates/fingerprint-file.js';
import type { Fingerprint } from '../../../shared/duplicates/fingerprint.js';
import { HASH_INPUT } from '../../../shared/duplicates/perceptual-hash.js';
import { UserError } from '../../../shared/errors.js';
import { createRng } from '../../../shared/random.js';
import { artifactKeys } from '../../../shared/runs/naming.js';
import { LocalStorage } from '../../../shared/storage/local.js';
import type { Storage } from '../../../shared/storage/types.js';
import { planRanges, readChunkPrints } from '../../../pipelines/distributed/duplicates-records.js';
import type { VerifyChunk } from '../../../pipelines/distributed/duplicates-store.js';

const DATASET = 'ds';

/** A fingerprint of random ORB features (n keypoints: 40 n bytes in its record). */
function print(key: string, n: number, seed: number): StoredFingerprint {
  const rng = createRng(seed);
  const descriptors = new Uint32Array(8 * n).map(() => Math.floor(rng() * 2 ** 32));
  const fingerprint: Fingerprint = {
    key,
    bytes: 1000 + seed,
    width: 64,
    height: 48,
    sha256: 'ab'.repeat(32),
    pixels: 'cd'.repeat(32),
    phash: [seed, seed + 1],
    mirror: [seed + 2, seed + 3],
    square: new Uint8Array(HASH_INPUT * HASH_INPUT).fill(seed % 256),
    thumb: { width: 8, height: 6, data: new Uint8Array(48).fill(7) },
    orb: { points: new Float32Array(2 * n).map(() => rng() * 100), descriptors, entries: [], words: [], workingSize: 384 } as unknown as Fingerprint['orb'],
  };
  return { fingerprint, etag: `e-${key}` };
}

/** Storage that counts what is read from it. */
function counting(inner: Storage): { storage: Storage; gets: number; ranges: number; bytes: number } {
  const c = { gets: 0, ranges: 0, bytes: 0, storage: undefined as unknown as Storage };
  c.storage = {
    uri: inner.uri,
    list: (prefix, options) => inner.list(prefix, options),
    get: async (key) => {
      const b = await inner.get(key);
      c.gets++;
      c.bytes += b.length;
      return b;
    },
    getRange: async (key, start, end) => {
      const b = await inner.getRange(key, start, end);
      c.ranges++;
      c.bytes += b.length;
      return b;
    },
    put: (key, data) => inner.put(key, data),
    exists: (key) => inner.exists(key),
    versionOf: (key) => inner.versionOf(key),
    delete: (key) => inner.delete(key),
  };
  return c;
}

test('planRanges sorts by offset and merges records whose gap is under the limit', () => {
  const at = (i: number, offset: number, length = 100): { at: number; offset: number; length: number } => ({ at: i, offset, length });
  const reads = planRanges([at(0, 5000), at(1, 100), at(2, 250), at(3, 1000)], 500);
  assert.deepEqual(
    reads.map((r) => [r.start, r.end, r.images.map((x) => x.at)]),
    [
      [100, 350, [1, 2]], // gap 50
      [1000, 1100, [3]], // gap 650 from 350
      [5000, 5100, [0]],
    ],
  );
  assert.equal(planRanges([at(0, 0), at(1, 600)], 500).length, 2, 'a gap of exactly the limit: two GETs');
  assert.equal(planRanges([at(0, 0), at(1, 599)], 500).length, 1);
  assert.deepEqual(planRanges([]), []);
});

test('a chunk is read by ranged GETs of its records (close ones coalesced); a file without spans whole; a wrong span refused', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'imgsim-records-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const local = new LocalStorage(root);
  // Two files of 64 records of ~20 KB (500 keypoints).
  const files = ['p-000000.bin', 'p-000001.bin'];
  const spans = new Map<string, [number, number]>();
  const sizes: number[] = [];
  for (const [f, file] of files.entries()) {
    const prints = Array.from({ length: 64 }, (_, i) => print(`img/${f}-${i}.jpg`, 500, 100 * f + i));
    const bytes = encodeFingerprints({ workingSize: 384, nfeatures: 1000, prints, failed: [] });
    sizes.push(bytes.length);
    decodeFingerprints(bytes, file, (key, _etag, span) => {
      spans.set(key, [span.offset, span.length]);
      return false;
    });
    await local.put(artifactKeys.duplicatesFingerprints(DATASET, file), bytes);
  }
  // Records 0–4 of file 0 (contiguous), 40 of file 0 (far), and 10, 12, 63 of file 1 (12 is 1 record past 10: within the gap).
  const wanted: Array<[number, number]> = [[0, 0], [0, 1], [0, 2], [0, 3], [0, 4], [0, 40], [1, 10], [1, 12], [1, 63]];
  const chunk: VerifyChunk = {
    version: 1,
    source: 's3://b/p',
    keys: wanted.map(([f, i]) => `img/${f}-${i}.jpg`),
    etags: wanted.map(([f, i]) => `e-img/${f}-${i}.jpg`),
    files: wanted.map(([f]) => files[f] as string),
    records: wanted.map(([f, i]) => spans.get(`img/${f}-${i}.jpg`) ?? null),
    pairs: [[0, 6, -1, 0, 1, null]],
  };
  const c = counting(local);
  const { prints, read } = await readChunkPrints(c.storage, DATASET, chunk, 'chunk 0');
  assert.deepEqual(
    prints.map((p) => p.key),
    chunk.keys,
  );
  prints.forEach((p, i) => {
    const [f, n] = wanted[i] as [number, number];
    assert.deepEqual(p.orb.descriptors, print(p.key, 500, 100 * f + n).fingerprint.orb.descriptors);
  });
  // File 0: records 0–4 and 40 are 35 records (~700 KB) apart: two GETs; file 1: 10–12 in one, 63 another.
  assert.deepEqual([c.gets, c.ranges], [0, 4]);
  assert.deepEqual(read, { bytes: c.bytes, requests: 4 });
  const recordBytes = chunk.records?.reduce((s, r) => s + (r?.[1] ?? 0), 0) ?? 0;
  const gapBytes = spans.get('img/1-11.jpg')?.[1] ?? 0;
  assert.equal(read.bytes, recordBytes + gapBytes, 'the records and the one record between 10 and 12');
  assert.ok(read.bytes < ((sizes[0] ?? 0) + (sizes[1] ?? 0)) / 5, `${read.bytes} bytes of ${sizes.join(' + ')}`);

  // An image whose span is unknown: its file is read whole; the other file still by ranges.
  const partly = counting(local);
  const mixed = await readChunkPrints(partly.storage, DATASET, { ...chunk, records: chunk.records?.map((r, i) => (i === 5 ? null : r)) }, 'chunk 0');
  assert.deepEqual(
    mixed.prints.map((p) => p.key),
    chunk.keys,
  );
  assert.deepEqual([partly.gets, partly.ranges], [1, 2]);

  // A chunk written before spans existed: every file whole, one GET each.
  const { records: _, ...old } = chunk;
  const whole = counting(local);
  const before = await readChunkPrints(whole.storage, DATASET, old, 'chunk 0');
  assert.deepEqual(
    before.prints.map((p) => p.key),
    chunk.keys,
  );
  assert.deepEqual([whole.gets, whole.ranges, before.read.bytes], [2, 0, (sizes[0] ?? 0) + (sizes[1] ?? 0)]);

  // A span holding another image (a ledger that does not match its file) is refused.
  const swapped = { ...chunk, records: chunk.records?.map((r, i) => (i === 0 ? (chunk.records?.[1] ?? null) : r)) };
  await assert.rejects(readChunkPrints(local, DATASET, swapped, 'chunk 0'), (e: unknown) => e instanceof UserError && /the record at byte \d+ is img\/0-1\.jpg at ETag e-img\/0-1\.jpg, the ledger says img\/0-0\.jpg/.test(e.message));
});
