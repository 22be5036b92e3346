import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { queryFiles } from '../../../bin/query-files.js';

test('query files: every contact-sheet name is unique within a call (the same file three times, a name shared by a folder)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-queries-'));
  try {
    await mkdir(path.join(dir, 'b'));
    await writeFile(path.join(dir, 'a.png'), 'x');
    await writeFile(path.join(dir, 'b', 'a.png'), 'x');
    const a = path.join(dir, 'a.png');
    const names = (await queryFiles([a, a, a, path.join(dir, 'b', 'a.png'), path.join(dir, 'b')])).map((q) => q.sheetName);
    assert.equal(new Set(names).size, names.length, names.join(', '));
    assert.match(names[0] ?? '', /^a-[0-9a-f]{8}$/);
    assert.match(names[4] ?? '', /^b-[0-9a-f]{8}\/a$/, "a folder's image: the folder's name and hash, then its path in it");
    await assert.rejects(queryFiles([path.join(dir, 'missing.png')]), /Query image not found/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('query files: a name depends on the file only, so separate calls never share one; images in the source are named by their key', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-queries-'));
  try {
    for (const f of ['a/0000.png', 'b/0000.png', 'src/red/0000.png', 'src/red/0000.jpg']) {
      await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
      await writeFile(path.join(dir, f), 'x');
    }
    const [a] = await queryFiles([path.join(dir, 'a', '0000.png')]);
    const [b] = await queryFiles([path.join(dir, 'b', '0000.png')]);
    assert.notEqual(a?.sheetName, b?.sheetName);
    const [again] = await queryFiles([path.join(dir, 'a', '0000.png')], { sourceRoot: path.join(dir, 'src') });
    assert.equal(again?.sheetName, a?.sheetName, 'the same file, the same name');
    const inSource = await queryFiles([path.join(dir, 'src', 'red')], { sourceRoot: path.join(dir, 'src') });
    assert.equal(inSource[0]?.sheetName, 'red/0000');
    assert.match(inSource[1]?.sheetName ?? '', /^red\/0000-[0-9a-f]{8}$/, '0000.jpg beside 0000.png gets a suffix');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
