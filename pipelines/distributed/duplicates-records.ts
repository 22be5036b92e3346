// The fingerprints a verify job needs (duplicates-verify.ts), read from the artefact store
// with as few bytes as the chunk allows. A chunk (duplicates-store.ts chunkSchema) names
// each image's fingerprint file and, since the ledger keeps them, where its record lies
// there ([byte offset, length]). Per file, the wanted records are sorted by offset and
// records less than COALESCE_GAP apart are fetched by one ranged GET (Storage.getRange),
// then decoded one by one (fingerprint-file.ts decodeFingerprintRecord); READ_CONCURRENCY
// GETs are in flight at once. A file with an image of unknown span (a ledger written before
// spans, a chunk of an older pairs step) is read whole, as before: its other records are
// skipped undecoded.
//
// Why: a chunk's second images are spread over many files (~N / 64 of them), and reading
// each whole made a job's bytes grow with the files times the chunks. With ranges a job
// reads about its records' bytes (~45 KB an image) plus the gaps it reads through.
import { UserError } from '../../shared/errors.js';
import { mapConcurrent, yieldToEventLoop } from '../../shared/concurrency.js';
import { decodeFingerprintRecord, decodeFingerprints } from '../../shared/duplicates/fingerprint-file.js';
import type { Fingerprint } from '../../shared/duplicates/fingerprint.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import type { Storage } from '../../shared/storage/types.js';
import type { VerifyChunk } from './duplicates-store.js';

/**
 * Records closer than this are read through in one GET rather than two: a GET costs a round
 * trip (~10–50 ms to S3) and a request fee, 256 KB of gap costs ~5 records' bytes.
 */
export const COALESCE_GAP = 256 * 1024;

export interface ReadStats {
  /** Bytes read from the artefact store. */
  bytes: number;
  /** GETs made (ranged or whole). */
  requests: number;
}

/** One ranged GET: bytes start … end − 1 of a file, holding the records of `images` (chunk positions with their spans). */
export interface RangeRead {
  start: number;
  end: number;
  images: Array<{ at: number; offset: number; length: number }>;
}

/** The GETs for one file's wanted records: sorted by offset, merged while the gap between them is under `gap`. */
export function planRanges(images: ReadonlyArray<{ at: number; offset: number; length: number }>, gap = COALESCE_GAP): RangeRead[] {
  const sorted = [...images].sort((x, y) => x.offset - y.offset);
  const reads: RangeRead[] = [];
  for (const image of sorted) {
    const last = reads.at(-1);
    const end = image.offset + image.length;
    if (last && image.offset - last.end < gap) {
      last.end = Math.max(last.end, end);
      last.images.push(image);
    } else {
      reads.push({ start: image.offset, end, images: [image] });
    }
  }
  return reads;
}

/**
 * GETs in flight at once: a job's reads are many and small once a dataset has many files
 * (~450 a job at 100,000 images), and one after the other each waits out its round trip.
 * At most this many responses are held undecoded (≤ a file each, ~2–3 MB; ~11 MB for a
 * compacted file read whole).
 */
export const READ_CONCURRENCY = 4;

/** One GET of a file: a range holding `images`, or (spans unknown) the whole file. */
type FileRead = { name: string; range: RangeRead } | { name: string; whole: number[] };

/** The fingerprint of each of the chunk's images (by position in chunk.keys), and what reading them cost; `what` names the chunk in errors. */
export async function readChunkPrints(artifacts: Storage, dataset: string, chunk: VerifyChunk, what: string): Promise<{ prints: Fingerprint[]; read: ReadStats }> {
  const prints = new Array<Fingerprint | undefined>(chunk.keys.length);
  const read: ReadStats = { bytes: 0, requests: 0 };
  const byFile = new Map<string, number[]>();
  chunk.files.forEach((file, i) => {
    let list = byFile.get(file);
    if (!list) byFile.set(file, (list = []));
    list.push(i);
  });
  const reads: FileRead[] = [];
  for (const [file, positions] of byFile) {
    const name = artifactKeys.duplicatesFingerprints(dataset, file);
    const images = positions.map((at) => {
      const span = chunk.records?.[at];
      return span ? { at, offset: span[0], length: span[1] } : undefined;
    });
    if (images.every((x) => x !== undefined)) for (const range of planRanges(images)) reads.push({ name, range });
    else reads.push({ name, whole: positions });
  }
  await mapConcurrent(reads, READ_CONCURRENCY, async (r) => {
    if ('range' in r) {
      const bytes = await artifacts.getRange(r.name, r.range.start, r.range.end);
      read.bytes += bytes.length;
      read.requests++;
      let slice = performance.now();
      for (const image of r.range.images) {
        // A range holds up to a file's records (~2 ms each to decode): the loop turns every ~20 ms
        // (a quiet 3,000-image pass's worst gap was 157 ms here, decoding one range).
        if (performance.now() - slice > 20) {
          await yieldToEventLoop();
          slice = performance.now();
        }
        const from = image.offset - r.range.start;
        const record = decodeFingerprintRecord(bytes.subarray(from, from + image.length), `${r.name} at byte ${image.offset}`);
        const key = chunk.keys[image.at] as string;
        if (record.fingerprint.key !== key || record.etag !== chunk.etags[image.at]) {
          throw new UserError(`${r.name}: the record at byte ${image.offset} is ${record.fingerprint.key} at ETag ${record.etag}, the ledger says ${key} at ${chunk.etags[image.at] ?? '?'}`);
        }
        prints[image.at] = record.fingerprint;
      }
    } else {
      // Spans unknown: the file whole, only the wanted records decoded.
      const wanted = new Map(r.whole.map((at) => [chunk.keys[at] as string, at]));
      const bytes = await artifacts.get(r.name);
      read.bytes += bytes.length;
      read.requests++;
      const decoded = decodeFingerprints(bytes, r.name, (k, etag) => chunk.etags[wanted.get(k) ?? -1] === etag);
      for (const d of decoded.prints) prints[wanted.get(d.fingerprint.key) as number] = d.fingerprint;
    }
    await yieldToEventLoop();
  });
  const missing = chunk.keys.filter((_, i) => !prints[i]);
  if (missing.length > 0) throw new Error(`${what}: no fingerprint of ${missing.slice(0, 3).join(', ')} in their files`);
  return { prints: prints as Fingerprint[], read };
}
