// bin/build-state.mjs: bin/imgsim.js runs dist/ only while it was built from the sources
// as they are; any edit, added, removed or renamed source makes it stale (→ tsx).
import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildIsFresh, MANIFEST_FILE, manifestText, snapshotSources, SOURCE_DIRS } from '../../../bin/build-state.mjs';

describe('build freshness', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'imgsim-build-state-'));
  const file = (rel: string): string => path.join(root, rel);
  /** What the build does: a snapshot first, the manifest last. */
  const build = (): void => {
    const snapshot = snapshotSources(root);
    mkdirSync(path.dirname(file(MANIFEST_FILE)), { recursive: true });
    writeFileSync(file(MANIFEST_FILE), manifestText(snapshot));
  };

  beforeEach(() => {
    rmSync(root, { recursive: true, force: true });
    for (const dir of SOURCE_DIRS) {
      mkdirSync(file(path.join(dir, 'sub')), { recursive: true });
      writeFileSync(file(path.join(dir, 'a.ts')), 'export const a = 1;\n');
      writeFileSync(file(path.join(dir, 'sub', 'b.ts')), 'export const b = 2;\n');
    }
    writeFileSync(file('bin/notes.md'), 'not compiled\n');
    build();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('the snapshot lists every source folder and .ts file, sorted, and nothing else', () => {
    const paths = snapshotSources(root).map(([p]) => p);
    assert.deepEqual(paths, [...paths].sort());
    assert.ok(paths.includes(path.join('shared', 'sub', 'b.ts')));
    assert.ok(paths.includes(path.join('workers', 'sub')));
    assert.ok(!paths.some((p) => p.endsWith('.md')));
    assert.equal(buildIsFresh(root), true);
  });

  test('no manifest, an unreadable or foreign one: not fresh', () => {
    rmSync(file(MANIFEST_FILE));
    assert.equal(buildIsFresh(root), false);
    writeFileSync(file(MANIFEST_FILE), '{');
    assert.equal(buildIsFresh(root), false);
    writeFileSync(file(MANIFEST_FILE), JSON.stringify({ version: 99, sources: [] }));
    assert.equal(buildIsFresh(root), false);
  });

  test('an edited source (content or only its time) makes the build stale until it is rebuilt', () => {
    writeFileSync(file('shared/sub/b.ts'), 'export const b = 33;\n'); // another size: file times may not move within one clock tick
    assert.equal(buildIsFresh(root), false);
    build();
    assert.equal(buildIsFresh(root), true);
    utimesSync(file('pipelines/a.ts'), new Date(), new Date(Date.now() + 5000));
    assert.equal(buildIsFresh(root), false);
  });

  test('a source added, removed or renamed makes it stale', () => {
    writeFileSync(file('workers/sub/c.ts'), 'export {};\n');
    assert.equal(buildIsFresh(root), false);
    build();
    rmSync(file('workers/sub/c.ts'));
    assert.equal(buildIsFresh(root), false);
    build();
    renameSync(file('bin/a.ts'), file('bin/z.ts'));
    assert.equal(buildIsFresh(root), false);
  });
});
