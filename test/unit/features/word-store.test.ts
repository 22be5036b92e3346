// The stored ORB prints and visual-word index (shared/features/word-store.ts) with the
// real OpenCV build: a rotated, cropped, re-encoded copy shares the most words with its
// original among unrelated collages and is matched by word-guided matching from the
// stored prints; the file round-trips exactly and a damaged or foreign one is refused.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { matchByWords } from '../../../shared/duplicates/word-match.js';
import { loadOpenCv, type Cv } from '../../../shared/features/opencv.js';
import { orbFeatures } from '../../../shared/features/orb.js';
import { featuresOfPrint, OrbWordStore, printOfFeatures, type StoredPrint } from '../../../shared/features/word-store.js';
import { renderCollage } from '../../../shared/images/collage.js';

const OPTS = { nfeatures: 1000, workingSize: 384, maxPixels: 1e8 };
let cv: Cv;
let keys: string[];
let prints: Array<StoredPrint | undefined>;
let rotated: StoredPrint;

before(async () => {
  cv = await loadOpenCv();
  const images = await Promise.all(Array.from({ length: 8 }, (_, i) => renderCollage(256, 40 + i)));
  const flat = await sharp({ create: { width: 200, height: 150, channels: 3, background: '#7a9' } }).png().toBuffer();
  keys = [...images.map((_, i) => `collage-${i}.png`), 'flat.png'];
  prints = await Promise.all([...images, flat].map(async (b) => {
    const f = await orbFeatures(cv, b, OPTS);
    return f.keypoints.length > 0 ? printOfFeatures(f) : undefined;
  }));
  const copy = await sharp(images[3]).rotate(30, { background: '#fff' }).extract({ left: 40, top: 40, width: 260, height: 250 }).jpeg({ quality: 40 }).toBuffer();
  rotated = printOfFeatures(await orbFeatures(cv, copy, OPTS));
});

describe('prints', () => {
  test('points, u32 descriptors and sorted word entries agree; features come back from a print', () => {
    const p = prints[0] as StoredPrint;
    const n = p.points.length / 2;
    assert.ok(n > 100, `${n} keypoints`);
    assert.equal(p.descriptors.length, 8 * n);
    assert.equal(p.entries.length, 8 * n);
    assert.ok(p.entries.every((e, i) => i === 0 || (p.entries[i - 1] as number) <= e), 'entries sorted');
    const f = featuresOfPrint(p);
    assert.equal(f.keypoints.length, n);
    assert.equal(f.descriptors.length, 32 * n);
    assert.deepEqual([f.keypoints[5]?.x, f.keypoints[5]?.y], [p.points[10], p.points[11]]);
    assert.deepEqual([f.width, f.height], [p.width, p.height]);
  });
});

describe('the store', () => {
  test('a rotated copy shares the most visual words with its original, and word-guided matching confirms it', () => {
    const store = OrbWordStore.fromPrints(keys, prints, { build: 'b1' });
    assert.equal(store.size, 9);
    assert.equal(store.empty, 1, 'the flat image has no keypoints');
    assert.equal(store.printOf('flat.png'), undefined);
    const hits = store.candidates(rotated, 3);
    assert.equal(hits[0]?.key, 'collage-3.png');
    assert.ok((hits[0]?.wordScore ?? 0) > 1.2 * (hits[1]?.wordScore ?? 0), `word scores ${hits.map((h) => h.wordScore.toFixed(1)).join(', ')}`);
    const m = matchByWords(cv, rotated, store.printOf('collage-3.png') as StoredPrint, { maxDistance: 64, ransacThreshold: 5, minMatches: 8 });
    assert.ok(m.inliers >= 30, `${m.inliers} inliers`);
    const other = matchByWords(cv, rotated, store.printOf('collage-5.png') as StoredPrint, { maxDistance: 64, ransacThreshold: 5, minMatches: 8 });
    assert.ok(other.inliers < 12, `${other.inliers} inliers with an unrelated collage`);
    assert.ok(!store.candidates(rotated, 3, new Set(['collage-3.png'])).some((h) => h.key === 'collage-3.png'), 'excluded');
    assert.equal(store.candidates(rotated, 3, new Set(['collage-3.png'])).length, 3);
  });

  test('encode / decode round-trips the prints, keys and meta; the candidates are the same', () => {
    const store = OrbWordStore.fromPrints(keys, prints, { build: 'b1', workingSize: 384 });
    const buffer = store.encode();
    const back = OrbWordStore.decode(buffer);
    assert.deepEqual(back.keys, keys);
    assert.deepEqual(back.meta, { build: 'b1', workingSize: 384 });
    for (const k of keys) assert.deepEqual(back.printOf(k), store.printOf(k), k);
    assert.deepEqual(back.candidates(rotated, 4), store.candidates(rotated, 4));
    // From an unaligned offset (a Buffer sliced out of a larger one): copied, same content.
    const shifted = Buffer.alloc(buffer.length + 1);
    buffer.copy(shifted, 1);
    assert.deepEqual(OrbWordStore.decode(shifted.subarray(1)).printOf('collage-2.png'), store.printOf('collage-2.png'));
  });

  test('a damaged or foreign file is refused with a RangeError', () => {
    const buffer = OrbWordStore.fromPrints(keys, prints, {}).encode();
    assert.throws(() => OrbWordStore.decode(Buffer.from('IMGSIMFP nothing')), RangeError);
    assert.throws(() => OrbWordStore.decode(buffer.subarray(0, buffer.length - 4)), /bytes, expected/);
    // The same arrays under another header: words drawn from other bit positions, or the other byte order.
    const reheader = (edit: (h: Record<string, unknown>) => void): Buffer => {
      const length = buffer.readUInt32LE(8);
      const header = JSON.parse(buffer.toString('utf8', 12, 12 + length)) as Record<string, unknown>;
      edit(header);
      const json = Buffer.from(JSON.stringify(header), 'utf8');
      const pad = (n: number): number => (4 - (n % 4)) % 4;
      const size = Buffer.alloc(4);
      size.writeUInt32LE(json.length);
      return Buffer.concat([buffer.subarray(0, 8), size, json, Buffer.alloc(pad(12 + json.length)), buffer.subarray(12 + length + pad(12 + length))]);
    };
    assert.deepEqual(OrbWordStore.decode(reheader(() => undefined)).keys, keys, 'the rewriting itself keeps a valid file');
    assert.throws(() => OrbWordStore.decode(reheader((h) => ((h.wordProbe as number[])[0] = ((h.wordProbe as number[])[0] as number) ^ (1 << 11)))), /visual words were drawn differently/);
    assert.throws(() => OrbWordStore.decode(reheader((h) => (h.littleEndian = !(h.littleEndian as boolean)))), /other byte order/);
    assert.throws(() => OrbWordStore.decode(reheader((h) => (h.format = 99))), /format 99/);
  });
});
