// Which faults are an image's own (recorded on the run, never retried) and which are not
// (thrown: the job retries or gives up, and the build is held back).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageError, UserError } from '../../../shared/errors.js';
import { failureOf } from '../../../shared/images/failures.js';
import { S3NoSuchKeyError, S3UnreachableError } from '../../../shared/storage/s3/index.js';

const errno = (code: string): Error => Object.assign(new Error(`${code}: x.jpg`), { code });

test("the image's own faults are recorded with a reason", () => {
  assert.deepEqual(failureOf('a.jpg', new ImageError('truncated', 'truncated jpeg file')), { key: 'a.jpg', reason: 'truncated', message: 'truncated jpeg file' });
  assert.equal(failureOf('a.jpg', new S3NoSuchKeyError('S3 object s3://b/a.jpg does not exist'))?.reason, 'unreadable');
  assert.equal(failureOf('a.jpg', errno('ENOENT'))?.reason, 'unreadable');
  assert.equal(failureOf('a.jpg', errno('EACCES'))?.reason, 'unreadable');
});

test('faults of the store, the configuration or the code are not the image\'s: not recorded', () => {
  assert.equal(failureOf('a.jpg', new S3UnreachableError('S3 endpoint http://s3 is unreachable: ECONNREFUSED')), undefined);
  assert.equal(failureOf('a.jpg', new UserError('S3 credentials rejected by http://s3 for bucket "b" (ExpiredToken)')), undefined);
  assert.equal(failureOf('a.jpg', errno('EMFILE')), undefined);
  assert.equal(failureOf('a.jpg', new RangeError('size must be a positive integer')), undefined);
});
