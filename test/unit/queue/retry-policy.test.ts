// The job retry policy: which faults are retried, how long, and when a job gives up.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UnrecoverableError } from 'bullmq';
import { ImageError, TransientError, UserError, isTransient } from '../../../shared/errors.js';
import { InvalidPayloadError } from '../../../shared/jobs/contracts.js';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  failureKind,
  isFinalAttempt,
  nominalDelay,
  OTHER_ERROR_ATTEMPTS,
  retryWindowMs,
} from '../../../shared/queue/retry-policy.js';
import { S3UnreachableError } from '../../../shared/storage/s3/index.js';
import { QdrantError } from '../../../shared/vectors/qdrant/index.js';

describe('isTransient', () => {
  test('adapters\' unreachable errors, 5xx and 429 are transient; 4xx are not', () => {
    assert.equal(isTransient(new S3UnreachableError('S3 endpoint http://x is unreachable: ECONNREFUSED')), true);
    assert.equal(isTransient(new QdrantError('Qdrant at http://x is unreachable: other side closed')), true);
    assert.equal(isTransient(new QdrantError('refused', 503)), true);
    assert.equal(isTransient(new QdrantError('busy', 429)), true);
    assert.equal(isTransient(new QdrantError('bad request', 400)), false);
    assert.equal(isTransient(new QdrantError('not found', 404)), false);
  });

  test('wrapping keeps the family: a cause chain, an AggregateError, a Node connection code', () => {
    const wrapped = new Error('embed batch 3 failed', { cause: new Error('reading s3://b/k', { cause: new TransientError('down') }) });
    assert.equal(isTransient(wrapped), true);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    assert.equal(isTransient(new AggregateError([new Error('x'), refused])), true);
    const stale = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    assert.equal(isTransient(new TypeError('fetch failed', { cause: stale })), true);
  });

  test("ioredis's errors for a command sent while Redis is away are transient", () => {
    assert.equal(isTransient(new Error('Connection is closed.')), true);
    assert.equal(isTransient(Object.assign(new Error('Reached the max retries per request limit (which is 3).'), { name: 'MaxRetriesPerRequestError' })), true);
  });

  test('permanent families stop the walk, and plain errors are not transient', () => {
    assert.equal(isTransient(new UserError('S3 credentials rejected', 2)), false);
    assert.equal(isTransient(new ImageError('corrupt', 'corrupt jpeg data')), false);
    assert.equal(isTransient(new Error('undefined is not a function')), false);
    assert.equal(isTransient('ECONNRESET'), false);
    const loop: Error & { cause?: unknown } = new Error('loop');
    loop.cause = loop;
    assert.equal(isTransient(loop), false);
  });
});

describe('retry policy', () => {
  test('kinds: permanent, transient, error', () => {
    assert.equal(failureKind(new UserError('bad flag')), 'permanent');
    assert.equal(failureKind(new InvalidPayloadError('Invalid embed job payload: batch: expected number')), 'permanent');
    assert.equal(failureKind(new UnrecoverableError('no')), 'permanent');
    assert.equal(failureKind(new S3UnreachableError('down')), 'transient');
    assert.equal(failureKind(new TypeError('x is undefined')), 'error');
  });

  test('the defaults ride out about ten minutes of outage, delays capped at a minute', () => {
    assert.equal(DEFAULT_RETRY_POLICY.attempts, 16);
    assert.deepEqual([1, 2, 3, 7, 8, 15].map((r) => nominalDelay(r, DEFAULT_RETRY_POLICY)), [1000, 2000, 4000, 60_000, 60_000, 60_000]);
    const window = retryWindowMs(DEFAULT_RETRY_POLICY);
    assert.ok(window >= 9 * 60_000 && window <= 11 * 60_000, `retry window ${window} ms`);
  });

  test('jitter stays within ±25 % of the nominal delay', () => {
    const p = DEFAULT_RETRY_POLICY;
    assert.equal(backoffDelay(3, p, () => 0), 3000);
    assert.equal(backoffDelay(3, p, () => 1), 5000);
    assert.equal(backoffDelay(10, p, () => 0.5), 60_000);
  });

  test('finality: permanent at once, transient after every attempt, other errors after a few', () => {
    const attempts = 16;
    assert.equal(isFinalAttempt(new UserError('x'), 0, attempts), true);
    assert.equal(isFinalAttempt(new S3UnreachableError('x'), 0, attempts), false);
    assert.equal(isFinalAttempt(new S3UnreachableError('x'), 14, attempts), false);
    assert.equal(isFinalAttempt(new S3UnreachableError('x'), 15, attempts), true);
    assert.equal(isFinalAttempt(new Error('bug'), OTHER_ERROR_ATTEMPTS - 2, attempts), false);
    assert.equal(isFinalAttempt(new Error('bug'), OTHER_ERROR_ATTEMPTS - 1, attempts), true);
    // A job enqueued with fewer attempts than the policy's floor for other errors.
    assert.equal(isFinalAttempt(new Error('bug'), 0, 1), true);
  });
});
