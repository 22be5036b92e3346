import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkOutputFolder, outputKindOf } from '../../../pipelines/output-folder.js';

async function folder(files: readonly string[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-outkind-'));
  for (const f of files) {
    await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await writeFile(path.join(dir, f), 'x');
  }
  return dir;
}

test('output kinds are read from file names: our marker files first, then images up to one folder down', async () => {
  const cases: Array<[string[], string | undefined]> = [
    [[], undefined],
    [['notes.txt', 'sub/readme.md'], undefined],
    [['embeddings.npy', 'ids.json', 'searches/a.png'], 'run:embeddings.npy'],
    [['model/meta.json', 'failures.json'], 'run:model/meta.json'],
    [['apply.json', 'preview.png', 'red/0000.png'], 'apply:apply.json'],
    [['preview.png', '0000.png'], 'apply:preview.png'],
    [['clusters.json', 'clusters.png'], 'clusters:clusters.json'],
    [['duplicates.json', 'groups/0001.png', 'dismissed-duplicates.json'], 'duplicates:duplicates.json'],
    [['b/x.JPG', 'a/notes.txt'], 'images:b/x.JPG'],
    [['searches/0000-1bac0973.png', 'model/preview.png'], undefined],
    [['a/b/deep.png'], undefined],
  ];
  for (const [files, expected] of cases) {
    const dir = await folder(files);
    try {
      const k = await outputKindOf(dir);
      assert.equal(k ? `${k.kind}:${k.evidence}` : undefined, expected, files.join(' '));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});

test('checkOutputFolder: accepted kinds and missing folders pass, others and files are refused with exit 2, nothing created', async () => {
  const dir = await folder(['index/embeddings.npy', 'pics/a.png', 'file']);
  try {
    await checkOutputFolder(path.join(dir, 'index'), ['run']);
    await checkOutputFolder(path.join(dir, 'new', 'deeper'), ['apply']);
    const refusals: Array<[string, RegExp]> = [
      [path.join(dir, 'index'), /^--out \S+ already holds an imgsim index \(embeddings\.npy\); choose an empty folder or one written by imgsim apply$/],
      [path.join(dir, 'pics'), /^--out \S+ already holds images \(a\.png\), not imgsim outputs; choose an empty folder or one written by imgsim apply$/],
      [path.join(dir, 'file'), /^--out \S+ is an existing file; choose a folder/],
      [path.join(dir, 'file', 'x'), /^--out \S+ cannot be created: \S+file is a file$/],
    ];
    for (const [out, message] of refusals) {
      await assert.rejects(checkOutputFolder(out, ['apply']), (e: Error & { exitCode?: number }) => {
        assert.match(e.message, message);
        assert.equal(e.exitCode, 2);
        return true;
      });
    }
    assert.deepEqual((await readdir(dir)).sort(), ['file', 'index', 'pics']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
