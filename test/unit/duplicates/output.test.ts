// duplicates.json and the groups' contact sheets: labels (keeper first, evidence under each
// key), member paths and sheet names, stale sheets removed, large groups cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { MAX_SHEET_MEMBERS, reportFile, sheetLabels, sheetName, writeDuplicatesOutput, type DuplicatesFile } from '../../../pipelines/duplicates-output.js';
import type { DuplicatesReport } from '../../../pipelines/duplicates.js';
import type { DuplicateGroup } from '../../../shared/duplicates/groups.js';
import { DEFAULT_THRESHOLDS } from '../../../shared/duplicates/tiers.js';
import { LocalStorage } from '../../../shared/storage/local.js';

function group(keys: readonly string[]): DuplicateGroup {
  const [keeper, ...rest] = keys as [string, ...string[]];
  return {
    tier: 'verified',
    keeper,
    members: keys.map((key) => ({ key, width: key === keeper ? 640 : 320, height: 480, bytes: 100, keeper: key === keeper, tier: 'verified' as const })),
    pairs: rest.map((key, i) => ({ a: keeper < key ? keeper : key, b: keeper < key ? key : keeper, tier: 'verified' as const, inliers: 100 - i })),
  };
}

function report(groups: DuplicateGroup[]): DuplicatesReport {
  return {
    version: 1,
    images: 50,
    failed: [],
    minTier: 'verified',
    thresholds: DEFAULT_THRESHOLDS,
    pairsByTier: { exact: 0, perceptual: 0, verified: groups.length, learned: 0 },
    dismissed: 0,
    groups,
    seconds: { fingerprint: 1, pairs: 1, total: 2 },
  };
}

test('sheetLabels: the keeper first with its size, then each member with its evidence', () => {
  const labels = sheetLabels(group(['k.jpg', 'a.jpg', 'b.jpg']));
  assert.deepEqual(labels, [
    { key: 'k.jpg', label: 'k.jpg\nkeeper 640×480' },
    { key: 'a.jpg', label: 'a.jpg\nverified 100 inl' },
    { key: 'b.jpg', label: 'b.jpg\nverified 99 inl' },
  ]);
});

test('sheetLabels: a group larger than a sheet shows the keeper and the first others, and says so', () => {
  const keys = Array.from({ length: 50 }, (_, i) => `img-${String(i).padStart(2, '0')}.jpg`);
  const labels = sheetLabels(group(keys));
  assert.equal(labels.length, MAX_SHEET_MEMBERS);
  assert.equal(labels[0]?.label, `img-00.jpg\nkeeper 640×480, ${MAX_SHEET_MEMBERS}/50 shown`);
});

test('reportFile: members get their file path, groups their sheet; no sheet names with sheets off', () => {
  const r = report([group(['k.jpg', 'a.jpg'])]);
  const file = reportFile(r, { source: 'file:///photos', embedded: 0, pathOf: (k) => `/photos/${k}`, sheets: true });
  assert.equal(file.source, 'file:///photos');
  assert.equal(file.embedded, 0);
  assert.equal(file.groups[0]?.sheet, 'groups/0001.png');
  assert.deepEqual(
    file.groups[0]?.members.map((m) => m.path),
    ['/photos/k.jpg', '/photos/a.jpg'],
  );
  assert.equal(reportFile(r, { source: 's3://b/p', embedded: 0, sheets: false }).groups[0]?.sheet, undefined);
  assert.equal(sheetName(41), 'groups/0042.png');
});

test('writeDuplicatesOutput: duplicates.json, one readable sheet per group, stale sheets of a larger earlier pass removed', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-dup-out-'));
  try {
    const images = path.join(dir, 'images');
    await mkdir(images);
    const keys = ['k.png', 'a.png', 'b.png'];
    for (const [i, k] of keys.entries()) {
      await sharp({ create: { width: 120 + 40 * i, height: 90, channels: 3, background: { r: 40 * i, g: 120, b: 200 } } }).png().toFile(path.join(images, k));
    }
    const out = path.join(dir, 'out');
    await mkdir(path.join(out, 'groups'), { recursive: true });
    for (const stale of ['0001.png', '0002.png', '0003.png']) await writeFile(path.join(out, 'groups', stale), 'old');
    await writeFile(path.join(out, 'groups', 'notes.txt'), 'mine');
    const file: DuplicatesFile = reportFile(report([group(keys)]), { source: 'file:///x', embedded: 0, sheets: true });
    const { cut } = await writeDuplicatesOutput(new LocalStorage(out), file, {
      sheets: true,
      maxPixels: 1e8,
      imageOf: (key) => Promise.resolve(key === 'b.png' ? path.join(images, 'missing.png') : path.join(images, key)),
    });
    assert.equal(cut, 0);
    assert.deepEqual(JSON.parse(await readFile(path.join(out, 'duplicates.json'), 'utf8')), JSON.parse(JSON.stringify(file)));
    assert.deepEqual((await readdir(path.join(out, 'groups'))).sort(), ['0001.png', 'notes.txt'], 'stale sheets gone, other files kept');
    const meta = await sharp(path.join(out, 'groups', '0001.png')).metadata();
    assert.equal(meta.format, 'png');
    assert.ok((meta.width ?? 0) > 3 * 224 && (meta.height ?? 0) > 224, `${meta.width}×${meta.height}: three tiles in a row`);

    // --no-sheets: the report alone, no sheet left that would not match it.
    await writeDuplicatesOutput(new LocalStorage(out), { ...file, groups: file.groups.map(({ sheet: _, ...g }) => g) }, { sheets: false, maxPixels: 1e8, imageOf: () => Promise.resolve('') });
    assert.deepEqual(await readdir(path.join(out, 'groups')), ['notes.txt']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
