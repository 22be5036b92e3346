// The visual-word index of an index folder is built once and stored beside it: a later
// query takes it from memory or from orb-words.bin without reading any image, and a
// changed index (build, model, keys) or other ORB settings rebuild it; an unreadable
// image is stored without keypoints; a damaged file is rebuilt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadOpenCv } from '../../../shared/features/opencv.js';
import type { OrbFeatures } from '../../../shared/features/orb.js';
import { renderCollage } from '../../../shared/images/collage.js';
import { pino } from 'pino';
import { FeatureExtractor, featureSettings } from '../../../pipelines/features.js';
import { forgetWordStores, WORD_STORE_FILE, wordStoreOf, type WordStoreSource } from '../../../pipelines/features-words.js';

/** An extractor that counts the images it computes features of (what a query must not do). */
class CountingExtractor extends FeatureExtractor {
  computed = 0;
  override of(image: Buffer | string): Promise<OrbFeatures> {
    this.computed++;
    return super.of(image);
  }
}

test('the word store is built once, reused from memory and from its file, rebuilt when the index or settings change', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-words-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  t.after(forgetWordStores);
  const images = new Map<string, Buffer>();
  for (let i = 0; i < 5; i++) images.set(`c/${i}.png`, await renderCollage(160, 70 + i));
  images.set('c/broken.jpg', Buffer.from('not an image'));
  const settings = featureSettings('match', { words: true, maxPixels: 1e8 });
  assert.deepEqual([settings.nfeatures, settings.workingSize], [1000, 384], 'the word index settings by default');
  const extractor = new CountingExtractor(await loadOpenCv(), settings);
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const source: WordStoreSource = {
    dir,
    modelId: 'm1',
    build: '2026-01-01T00:00:00.000Z',
    workingSize: settings.workingSize,
    nfeatures: settings.nfeatures,
    keys: [...images.keys()],
    imageOf: (key) => () => Promise.resolve(images.get(key) as Buffer),
  };

  const first = await wordStoreOf(source, extractor, { logger, progressBar: false });
  assert.equal(extractor.computed, 6, 'every image once');
  assert.equal(first.size, 6);
  assert.equal(first.empty, 1, 'the broken image is stored without keypoints');
  assert.ok(lines.some((l) => l.includes('cannot compute ORB features of c/broken.jpg')), lines.join('\n'));
  assert.ok(lines.some((l) => l.includes('building the visual-word index of the 6 indexed images')), 'says what it builds');
  const file = path.join(dir, WORD_STORE_FILE);
  const written = await stat(file);

  assert.equal(await wordStoreOf(source, extractor), first, 'from memory');
  forgetWordStores();
  const read = await wordStoreOf(source, extractor);
  assert.equal(extractor.computed, 6, 'read from the file, no image decoded');
  assert.notEqual(read, first);
  assert.deepEqual(read.keys, first.keys);
  assert.deepEqual(read.printOf('c/2.png'), first.printOf('c/2.png'));
  assert.equal((await stat(file)).mtimeMs, written.mtimeMs, 'not rewritten');

  await wordStoreOf({ ...source, build: '2026-02-02T00:00:00.000Z' }, extractor);
  assert.equal(extractor.computed, 12, 'a rebuilt index (another build) is rebuilt');
  forgetWordStores();
  await wordStoreOf({ ...source, build: '2026-02-02T00:00:00.000Z' }, extractor);
  assert.equal(extractor.computed, 12, 'and the rebuilt store was stored');
  await wordStoreOf({ ...source, build: '2026-02-02T00:00:00.000Z', modelId: 'm2' }, extractor);
  assert.equal(extractor.computed, 18, 'another model: rebuilt');
  const fewer = await wordStoreOf({ ...source, build: '2026-02-02T00:00:00.000Z', modelId: 'm2', keys: source.keys.slice(0, 3) }, extractor);
  assert.equal(extractor.computed, 21, 'other keys: rebuilt');
  assert.equal(fewer.size, 3);

  const small = featureSettings('match', { words: true, maxPixels: 1e8, nfeatures: 200 });
  const smallExtractor = new CountingExtractor(extractor.cv, small);
  await wordStoreOf({ ...source, nfeatures: 200 }, smallExtractor);
  assert.equal(smallExtractor.computed, 6, 'other ORB settings: rebuilt');
  await assert.rejects(wordStoreOf({ ...source, build: 'x' }, smallExtractor), /disagree on the ORB settings/);

  forgetWordStores();
  await writeFile(file, (await readFile(file)).subarray(0, 100));
  await wordStoreOf({ ...source, nfeatures: 200 }, smallExtractor);
  assert.equal(smallExtractor.computed, 12, 'a damaged file: rebuilt');
});
