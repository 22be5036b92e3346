// Fingerprints (fingerprint.ts) in one compact binary file: what a queued duplicates pass
// stores per fingerprint batch in the artefact store, so its verify jobs can load them
// without decoding any image again (pipelines/distributed/duplicates-store.ts). Records are
// length-prefixed: a reader skips the ones it does not need without decoding them (the
// pairs step reads only keys; a verify job decodes only its chunk's images).
//
//   "IMGSIMFP" | u32 format | u32 header bytes | header JSON | records…
//   header: { workingSize, nfeatures, count, failed: [{key, etag, reason, message}] }
//   record: u32 record bytes | key | etag (u32 length + UTF-8 each) | f64 file bytes |
//           u32 width | u32 height | sha256 (32 bytes) | pixels sha256 (32) | phash (2 × u32) |
//           mirror (2 × u32) | square (HASH_INPUT² bytes) | u32 colour floats c | colour
//           (c × f32: 0 for a fingerprint without one) | u16 thumb width | u16 thumb height |
//           thumb pixels | u32 ORB working size | u32 keypoints n | points (2n × f32) |
//           descriptors (8n × u32)
// Little-endian throughout. ~45 KB an image at 1,000 keypoints (descriptors 32 KB, points
// 8 KB, thumbnails 5 KB). The visual-word entries and distinct words are NOT stored: they
// are computed again from the descriptors when the file is read (wordEntries, ~0.2 ms an
// image here), so a file never holds words of another version of visual-words.ts, and it is
// 40 % smaller. In memory a read fingerprint is ~100 KB (fingerprint.ts).

import { z } from 'zod';
import { UserError } from '../errors.js';
import type { Failure } from '../images/decoded.js';
import type { Fingerprint } from './fingerprint.js';
import { HASH_INPUT } from './perceptual-hash.js';
import { distinctWords, wordEntries } from './visual-words.js';

const MAGIC = 'IMGSIMFP';
const FORMAT = 1;
/** Typed arrays are copied to and from the file as they lie in memory. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export interface FileFailure extends Failure {
  etag: string;
}

export interface StoredFingerprint {
  fingerprint: Fingerprint;
  /** The object's version (ETag) that was fingerprinted. */
  etag: string;
}

export interface FingerprintFile {
  workingSize: number;
  nfeatures: number;
  prints: StoredFingerprint[];
  /** Images of the batch that could not be fingerprinted (their own bytes). */
  failed: FileFailure[];
}

class Writer {
  private chunks: Buffer[] = [];
  length = 0;

  u32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v >>> 0);
    this.push(b);
  }

  u16(v: number): void {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16LE(v);
    this.push(b);
  }

  f64(v: number): void {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleLE(v);
    this.push(b);
  }

  text(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u32(b.length);
    this.push(b);
  }

  bytes(v: Uint8Array | Float32Array | Uint32Array): void {
    this.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }

  hex(h: string, n: number): void {
    const b = Buffer.from(h, 'hex');
    if (b.length !== n) throw new Error(`expected ${n} bytes of hex, got ${JSON.stringify(h)}`);
    this.push(b);
  }

  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  take(): Buffer {
    const out = Buffer.concat(this.chunks, this.length);
    this.chunks = [];
    this.length = 0;
    return out;
  }
}

/** One file holding `prints` (and the batch's failures). */
export function encodeFingerprints(file: FingerprintFile): Buffer {
  if (!HOST_LITTLE_ENDIAN) throw new Error('fingerprint files are written on little-endian hosts only');
  const out = new Writer();
  out.push(Buffer.from(MAGIC, 'ascii'));
  out.u32(FORMAT);
  const header = Buffer.from(JSON.stringify({ workingSize: file.workingSize, nfeatures: file.nfeatures, count: file.prints.length, failed: file.failed }), 'utf8');
  out.u32(header.length);
  out.push(header);
  const rec = new Writer();
  for (const { fingerprint: f, etag } of file.prints) {
    rec.text(f.key);
    rec.text(etag);
    rec.f64(f.bytes);
    rec.u32(f.width);
    rec.u32(f.height);
    rec.hex(f.sha256, 32);
    rec.hex(f.pixels, 32);
    rec.u32(f.phash[0]);
    rec.u32(f.phash[1]);
    rec.u32(f.mirror[0]);
    rec.u32(f.mirror[1]);
    if (f.square.length !== HASH_INPUT * HASH_INPUT) throw new Error(`${f.key}: square thumbnail of ${f.square.length} bytes`);
    rec.bytes(f.square);
    rec.u32(f.colour?.length ?? 0);
    if (f.colour) rec.bytes(f.colour);
    rec.u16(f.thumb.width);
    rec.u16(f.thumb.height);
    rec.bytes(f.thumb.data);
    rec.u32(f.orb.workingSize);
    const n = f.orb.points.length / 2;
    if (f.orb.descriptors.length !== 8 * n) throw new Error(`${f.key}: ${n} keypoints but ${f.orb.descriptors.length / 8} descriptors`);
    rec.u32(n);
    rec.bytes(f.orb.points);
    rec.bytes(f.orb.descriptors);
    out.u32(rec.length);
    out.push(rec.take());
  }
  return out.take();
}

class Reader {
  at = 0;
  constructor(
    private readonly b: Buffer,
    private readonly name: string,
  ) {}

  need(n: number): void {
    if (this.at + n > this.b.length) throw new UserError(`${this.name}: truncated fingerprint file (needs ${n} bytes at ${this.at} of ${this.b.length})`);
  }

  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }

  u16(): number {
    this.need(2);
    const v = this.b.readUInt16LE(this.at);
    this.at += 2;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.b.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  slice(n: number): Buffer {
    this.need(n);
    const s = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return s;
  }

  text(): string {
    return this.slice(this.u32()).toString('utf8');
  }

  /** A copy (aligned, owned) of the next n bytes. */
  copy(n: number): ArrayBuffer {
    const s = this.slice(n);
    const out = new ArrayBuffer(n);
    new Uint8Array(out).set(s);
    return out;
  }
}

const headerSchema = z.object({
  workingSize: z.number().int().min(1),
  nfeatures: z.number().int().min(1),
  count: z.number().int().min(0),
  failed: z.array(z.object({ key: z.string(), etag: z.string(), reason: z.string(), message: z.string() })),
});

/** Where a record lies in its file: `offset` of its u32 length prefix, `length` with the prefix. */
export interface RecordSpan {
  offset: number;
  length: number;
}

/**
 * Reads a file written by encodeFingerprints; `name` names it in errors. `keep(key, etag,
 * span)` false skips a record without decoding it; `span` says where the record lies, so a
 * reader can later fetch it alone (a ranged read) and decode it with decodeFingerprintRecord.
 */
export function decodeFingerprints(b: Buffer, name: string, keep: (key: string, etag: string, span: RecordSpan) => boolean = () => true): FingerprintFile {
  if (!HOST_LITTLE_ENDIAN) throw new Error('fingerprint files are read on little-endian hosts only');
  const r = new Reader(b, name);
  if (r.slice(MAGIC.length).toString('ascii') !== MAGIC) throw new UserError(`${name}: not a fingerprint file`);
  const format = r.u32();
  if (format !== FORMAT) throw new UserError(`${name}: fingerprint file format ${format}, this imgsim reads ${FORMAT}`);
  let header: z.infer<typeof headerSchema>;
  const text = r.slice(r.u32()).toString('utf8');
  try {
    header = headerSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new UserError(`${name}: damaged fingerprint file header`, 2, { cause: error });
  }
  const prints: StoredFingerprint[] = [];
  for (let i = 0; i < header.count; i++) {
    const offset = r.at;
    const size = r.u32();
    const end = r.at + size;
    const key = r.text();
    const etag = r.text();
    if (end < r.at) throw new UserError(`${name}: damaged fingerprint record ${i}`);
    if (!keep(key, etag, { offset, length: end - offset })) {
      r.need(end - r.at);
      r.at = end;
      continue;
    }
    prints.push(readRecordBody(r, key, etag, end, `${name}: damaged fingerprint record ${i} (${key})`));
  }
  return { workingSize: header.workingSize, nfeatures: header.nfeatures, prints, failed: header.failed };
}

/**
 * One record alone: `b` holds exactly the bytes of a RecordSpan of a fingerprint file (as a
 * ranged read returns them). The record carries its own ORB working size; the file's
 * settings (workingSize, nfeatures) are the ledger's.
 */
export function decodeFingerprintRecord(b: Buffer, name: string): StoredFingerprint {
  if (!HOST_LITTLE_ENDIAN) throw new Error('fingerprint files are read on little-endian hosts only');
  const r = new Reader(b, name);
  const end = 4 + r.u32();
  if (end !== b.length) throw new UserError(`${name}: not one fingerprint record (its length prefix says ${end} bytes, ${b.length} given)`);
  const key = r.text();
  const etag = r.text();
  return readRecordBody(r, key, etag, end, `${name}: damaged fingerprint record (${key})`);
}

/** The rest of a record after its key and ETag, up to `end`; `damaged`: the error's message if it does not end there. */
function readRecordBody(r: Reader, key: string, etag: string, end: number, damaged: string): StoredFingerprint {
  const bytes = r.f64();
  const width = r.u32();
  const height = r.u32();
  const sha256 = r.slice(32).toString('hex');
  const pixels = r.slice(32).toString('hex');
  const phash = [r.u32(), r.u32()] as const;
  const mirror = [r.u32(), r.u32()] as const;
  const square = new Uint8Array(r.copy(HASH_INPUT * HASH_INPUT));
  const colours = r.u32();
  const colour = colours > 0 ? new Float32Array(r.copy(4 * colours)) : undefined;
  const tw = r.u16();
  const th = r.u16();
  const thumb = { width: tw, height: th, data: new Uint8Array(r.copy(tw * th)) };
  const workingSize = r.u32();
  const n = r.u32();
  const points = new Float32Array(r.copy(8 * n));
  const descriptors = new Uint32Array(r.copy(32 * n));
  if (r.at !== end) throw new UserError(damaged);
  const entries = wordEntries(new Uint8Array(descriptors.buffer));
  const fingerprint: Fingerprint = {
    key,
    bytes,
    width,
    height,
    sha256,
    pixels,
    phash,
    mirror,
    square,
    ...(colour ? { colour } : {}),
    thumb,
    orb: { points, descriptors, entries, words: distinctWords(entries), workingSize },
  };
  return { etag, fingerprint };
}
