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
    const names = (await queryFiles([a, a, a, path.join(dir, 'b', 'a.png')])).map((q) => q.sheetName);
    assert.equal(new Set(names).size, names.length, names.join(', '));
    assert.equal(names[0], 'a');
    await assert.rejects(queryFiles([path.join(dir, 'missing.png')]), /Query image not found/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
