import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../../shared/storage/local.js';
import { openSource } from '../../../shared/storage/open.js';
import { UserError } from '../../../shared/errors.js';
import { ObjectRangeError, type ObjectInfo } from '../../../shared/storage/types.js';

async function listAll(s: LocalStorage): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  for await (const o of s.list()) all.push(o);
  return all;
}

async function collect(s: LocalStorage): Promise<string[]> {
  return (await listAll(s)).map((o) => o.key);
}

test('lists recursively in stable byte order, never leaving the root', async (t) => {
  const base = await mkdtemp(path.join(tmpdir(), 'imgsim-storage-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const root = path.join(base, 'root');
  await mkdir(path.join(root, 'b', 'c'), { recursive: true });
  await mkdir(path.join(base, 'outside'));
  await writeFile(path.join(base, 'outside', 'secret.jpg'), 'x');
  for (const f of ['b/c/z.png', 'B.jpg', 'a.jpg', 'b/x.jpg']) await writeFile(path.join(root, f), f);
  await symlink(path.join(base, 'outside'), path.join(root, 'escape'));
  await symlink(path.join(base, 'outside', 'secret.jpg'), path.join(root, 'link.jpg'));
  await symlink(path.join(root, 'a.jpg'), path.join(root, 'inner-link.jpg'));
  const s = new LocalStorage(root);
  assert.deepEqual(await collect(s), ['B.jpg', 'a.jpg', 'b/c/z.png', 'b/x.jpg', 'inner-link.jpg']);
  assert.equal((await s.get('b/x.jpg')).toString(), 'b/x.jpg');
  await assert.rejects(s.get('../outside/secret.jpg'), UserError);
  await assert.rejects(s.get('link.jpg'), /outside/);
});

test('etag changes when content changes; put creates folders', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'imgsim-storage-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const s = new LocalStorage(root);
  await s.put('x/y/f.bin', 'one');
  const [first] = await listAll(s);
  await s.put('x/y/f.bin', 'three');
  const [second] = await listAll(s);
  assert.equal(first?.key, 'x/y/f.bin');
  assert.notEqual(first?.etag, second?.etag);
  assert.equal(await s.exists('x/y/f.bin'), true);
  assert.equal(await s.exists('nope'), false);
  assert.equal(await s.versionOf('x/y/f.bin'), second?.etag, 'versionOf is the listing\'s etag');
  assert.equal(await s.versionOf('nope'), undefined);
  assert.equal(await s.versionOf('x/y'), undefined, 'a folder is not an object');
});

test('getRange reads bytes start … end − 1; a range past the end is ObjectRangeError, a missing file ENOENT as get', async (t) => {
  const base = await mkdtemp(path.join(tmpdir(), 'imgsim-storage-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const s = new LocalStorage(path.join(base, 'root'));
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) % 256));
  await s.put('d/f.bin', bytes);
  assert.deepEqual(await s.getRange('d/f.bin', 0, 1000), bytes);
  assert.deepEqual(await s.getRange('d/f.bin', 10, 11), bytes.subarray(10, 11));
  assert.deepEqual(await s.getRange('d/f.bin', 500, 1000), bytes.subarray(500));
  await assert.rejects(s.getRange('d/f.bin', 990, 1001), (e: Error) => e instanceof ObjectRangeError && /11 bytes from offset 990 asked, the file has 1000/.test(e.message));
  await assert.rejects(s.getRange('d/f.bin', 1000, 1010), ObjectRangeError);
  await assert.rejects(s.getRange('d/f.bin', 5, 5), ObjectRangeError, 'an empty range');
  await assert.rejects(s.getRange('d/f.bin', -1, 5), ObjectRangeError);
  await assert.rejects(s.getRange('d/missing.bin', 0, 1), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  await assert.rejects(s.get('d/missing.bin'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  await assert.rejects(s.getRange('../x', 0, 1), UserError);
  await mkdir(path.join(base, 'outside'));
  await writeFile(path.join(base, 'outside', 'secret.bin'), 'secret');
  await symlink(path.join(base, 'outside', 'secret.bin'), path.join(base, 'root', 'link.bin'));
  await assert.rejects(s.getRange('link.bin', 0, 2), /outside/);
});

test('openSource refuses missing folders, files and foreign schemes clearly', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'imgsim-storage-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await writeFile(path.join(root, 'f.jpg'), '');
  await assert.rejects(openSource(path.join(root, 'missing')), /Source folder not found: .*missing/);
  await assert.rejects(openSource(path.join(root, 'f.jpg')), /not a folder/);
  await assert.rejects(openSource('ftp://host/x'), /Unsupported source/);
  const s = await openSource(`file://${root}`);
  assert.equal(s.uri, `file://${root}`);
});

test('a listing tells onSkipped of each symlink escaping the root (outside-root) and each dangling one; the ingest lists them as failures', async (t) => {
  const base = await mkdtemp(path.join(tmpdir(), 'imgsim-storage-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const root = path.join(base, 'root');
  await mkdir(path.join(root, 'sub'), { recursive: true });
  await mkdir(path.join(base, 'outside'));
  await writeFile(path.join(base, 'outside', 'secret.jpg'), 'x');
  await writeFile(path.join(root, 'a.jpg'), 'a');
  await symlink(path.join(base, 'outside'), path.join(root, 'escape'));
  await symlink(path.join(base, 'outside', 'secret.jpg'), path.join(root, 'sub', 'link.jpg'));
  await symlink(path.join(base, 'gone.jpg'), path.join(root, 'dangling.jpg'));
  const skipped: Array<{ key: string; reason: string }> = [];
  const keys: string[] = [];
  for await (const o of new LocalStorage(root).list('', { onSkipped: (e) => skipped.push({ key: e.key, reason: e.reason }) })) keys.push(o.key);
  assert.deepEqual(keys, ['a.jpg']);
  assert.deepEqual(skipped, [
    { key: 'dangling.jpg', reason: 'unreadable' },
    { key: 'escape', reason: 'outside-root' },
    { key: 'sub/link.jpg', reason: 'outside-root' },
  ]);
  const { listSource } = await import('../../../pipelines/ingest.js');
  const listing = await listSource(new LocalStorage(root));
  assert.deepEqual(listing.images.map((i) => i.key), ['a.jpg']);
  assert.deepEqual(
    listing.ignored.map((f) => `${f.key} ${f.reason}`),
    ['dangling.jpg unreadable', 'escape outside-root', 'sub/link.jpg outside-root'],
  );
  const { isBadInput } = await import('../../../shared/runs/failure-kinds.js');
  assert.equal(isBadInput('outside-root'), true, 'a run whose only failures are escaping links still goes live');
});
