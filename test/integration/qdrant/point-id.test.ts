// Point ids: UUIDv5 as Python's uuid.uuid5 computes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { POINT_ID_NAMESPACE, pointId, uuidV5 } from '../../../shared/vectors/qdrant/point-id.js';

const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const URL_NS = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';
const hasPython = spawnSync('python3', ['-c', 'import uuid'], { stdio: 'ignore' }).status === 0;

test('uuidV5 matches known vectors (python3 uuid.uuid5)', () => {
  assert.equal(uuidV5('hello', DNS), '9342d47a-1bab-5709-9869-c840b2eac501');
  assert.equal(uuidV5('imgsim/point-id', URL_NS), POINT_ID_NAMESPACE, 'the namespace is uuid5(NAMESPACE_URL, "imgsim/point-id")');
  assert.equal(pointId('photos', 'a/b/c.jpg'), 'ef081ccb-e89d-5551-be9f-817f893a3f7b');
  assert.equal(pointId('ds', 'key-ü.jpg'), 'fe26ca92-e4e3-5915-aa83-6b67520b7977', 'UTF-8 names');
  assert.throws(() => uuidV5('x', 'not-a-uuid'), /not a UUID/);
});

test('pointId is stable, version 5, and separates dataset from key', () => {
  const id = pointId('ds', 'k.jpg');
  assert.equal(id, pointId('ds', 'k.jpg'));
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(pointId('ds', 'k.jpg'), pointId('ds2', 'k.jpg'));
  assert.notEqual(pointId('a', 'b/c'), pointId('a/b', 'c'));
});

test('pointId agrees with python3 uuid.uuid5 on assorted names', { skip: hasPython ? false : 'python3 not found' }, () => {
  const cases = [['ds', ''], ['', 'x'], ['s3-photos', 'deep/er/path with spaces/é.png'], ['d', '🙂.jpg']] as const;
  const script = `import sys, json, uuid\nns = uuid.UUID(sys.argv[1])\nprint(json.dumps([str(uuid.uuid5(ns, d + "\\n" + k)) for d, k in json.loads(sys.argv[2])]))`;
  const r = spawnSync('python3', ['-c', script, POINT_ID_NAMESPACE, JSON.stringify(cases)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), cases.map(([d, k]) => pointId(d, k)));
});
