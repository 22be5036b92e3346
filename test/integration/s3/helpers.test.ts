// Pure logic of the S3 adapter (no server): URI parsing, config redaction, and the error
// mapping fed with synthetic SDK-shaped errors for cases s3rver cannot produce.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { UserError } from '../../../shared/errors.js';
import {
  bucketNameProblem,
  createS3Client,
  describeS3Config,
  formatS3Uri,
  mapS3Error,
  parseS3Uri,
  s3EndpointLabel,
  S3NoSuchKeyError,
  S3UnreachableError,
  type S3ClientConfig,
} from '../../../shared/storage/s3/index.js';

describe('parseS3Uri', () => {
  test('bucket and folder prefix', () => {
    assert.deepEqual(parseS3Uri('s3://my-bucket'), { bucket: 'my-bucket', prefix: '' });
    assert.deepEqual(parseS3Uri('s3://my-bucket/'), { bucket: 'my-bucket', prefix: '' });
    assert.deepEqual(parseS3Uri('s3://my-bucket/photos'), { bucket: 'my-bucket', prefix: 'photos/' });
    assert.deepEqual(parseS3Uri('s3://my.bucket.1/a/b c/'), { bucket: 'my.bucket.1', prefix: 'a/b c/' });
    assert.deepEqual(parseS3Uri('S3://abc/x'), { bucket: 'abc', prefix: 'x/' });
  });

  test('round-trips through formatS3Uri', () => {
    for (const uri of ['s3://abc', 's3://abc/x', 's3://abc/x/y']) assert.equal(formatS3Uri(parseS3Uri(uri)), uri);
    assert.equal(formatS3Uri(parseS3Uri('s3://abc/x/')), 's3://abc/x');
  });

  test('invalid URIs are UserErrors naming the URI and the rule', () => {
    const cases: Array<[string, RegExp]> = [
      ['http://bucket/x', /expected s3:\/\/bucket/],
      ['s3://', /must be 3 to 63 characters long \(it has 0\)/],
      ['s3://ab', /must be 3 to 63 characters long \(it has 2\)/],
      [`s3://${'a'.repeat(64)}`, /it has 64/],
      ['s3://My-Bucket/x', /must be lowercase/],
      ['s3://my_bucket', /only lowercase letters, digits/],
      ['s3://-bucket', /begin and end with a letter or a digit/],
      ['s3://bucket-', /begin and end/],
      ['s3://my..bucket', /two adjacent periods/],
      ['s3://192.168.1.1', /IP address/],
      ['s3://xn--bucket', /may not start with "xn--"/],
      ['s3://bucket-s3alias', /may not end with "-s3alias"/],
      ['s3://bucket/a//b', /empty path segment/],
      ['s3://bucket//a', /empty path segment/],
      ['s3://bucket/a/../b', /"\." or "\.\." segments/],
    ];
    for (const [uri, pattern] of cases) {
      assert.throws(
        () => parseS3Uri(uri),
        (error: unknown) => {
          assert.ok(error instanceof UserError, uri);
          assert.ok(error.message.includes(`"${uri}"`), `${error.message} names ${uri}`);
          assert.match(error.message, pattern);
          return true;
        },
      );
    }
    assert.equal(bucketNameProblem('abc'), undefined);
    assert.equal(bucketNameProblem('a'.repeat(63)), undefined);
  });
});

describe('S3 client config', () => {
  const cfg: S3ClientConfig = {
    endpoint: 'http://127.0.0.1:9000',
    region: 'us-east-1',
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    forcePathStyle: true,
    timeoutMs: 1_000,
    maxAttempts: 3,
  };

  test('describeS3Config never shows the secret and only the tail of the key id', () => {
    const text = JSON.stringify(describeS3Config(cfg));
    assert.doesNotMatch(text, /wJalrXUtnFEMI|EXAMPLEKEY/);
    assert.doesNotMatch(text, /AKIAIOSFODNN7/);
    assert.match(text, /…MPLE/);
    assert.match(text, /"secretAccessKey":"\[redacted\]"/);
    assert.doesNotMatch(JSON.stringify(describeS3Config({ ...cfg, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' })), /S3RVER/);
    assert.match(JSON.stringify(describeS3Config({ ...cfg, accessKeyId: undefined, secretAccessKey: undefined })), /default chain/);
  });

  test('endpoint labels drop user:password and default to AWS', () => {
    assert.equal(s3EndpointLabel({ endpoint: 'http://user:pw@host:9000', region: 'x' }), 'http://host:9000');
    assert.equal(s3EndpointLabel({ region: 'eu-west-1' }), 'https://s3.eu-west-1.amazonaws.com');
  });

  test('invalid settings are UserErrors naming the setting', () => {
    assert.throws(() => createS3Client({ ...cfg, secretAccessKey: undefined }), /both the access key id and the secret/);
    assert.throws(() => createS3Client({ ...cfg, endpoint: 'ftp://x' }), /S3 endpoint: expected an http/);
    assert.throws(() => createS3Client({ ...cfg, timeoutMs: 0 }), /S3 timeoutMs/);
    assert.throws(() => createS3Client({ ...cfg, maxAttempts: 0 }), /S3 maxAttempts/);
  });

  test('the client gets the configured retries, checksums and timeouts', async () => {
    const client = createS3Client(cfg);
    try {
      assert.equal(await client.config.maxAttempts(), 3);
      assert.equal(await client.config.requestChecksumCalculation(), 'WHEN_REQUIRED');
      assert.equal(await client.config.responseChecksumValidation(), 'WHEN_REQUIRED');
      // The timeouts themselves are exercised against a server that never answers (storage.test.ts).
      assert.ok(client.config.requestHandler instanceof NodeHttpHandler);
    } finally {
      client.destroy();
    }
  });

  test('making a client prints no process warning (the SDK\'s Node-version notice is switched off its documented way)', () => {
    // A fresh process: the SDK warns at most once per process, at its first client.
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    delete env.NODE_OPTIONS;
    const module = JSON.stringify(new URL('../../../shared/storage/s3/client.ts', import.meta.url).href);
    const code = `const { createS3Client } = await import(${module}); createS3Client(${JSON.stringify(cfg)}).destroy(); await new Promise((r) => setTimeout(r, 50));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Warning/);
  });
});

describe('mapS3Error (synthetic SDK errors)', () => {
  const ctx = { endpoint: 'https://s3.example.test', bucket: 'photos', key: 'a/b.jpg' };
  const serviceError = (name: string, status: number, message = name): S3ServiceException =>
    new S3ServiceException({ name, $fault: 'client', message, $metadata: { httpStatusCode: status } });

  test('missing bucket → UserError', () => {
    const error = mapS3Error(serviceError('NoSuchBucket', 404, 'The specified bucket does not exist'), ctx);
    assert.ok(error instanceof UserError);
    assert.equal(error.message, 'S3 bucket "photos" does not exist at https://s3.example.test');
  });

  test('every credential rejection → UserError naming endpoint and bucket', () => {
    for (const [name, status] of [
      ['AccessDenied', 403],
      ['InvalidAccessKeyId', 403],
      ['SignatureDoesNotMatch', 403],
      ['ExpiredToken', 400],
      ['Unknown', 403], // HEAD: no body, status only
    ] as const) {
      const error = mapS3Error(serviceError(name, status, name === 'Unknown' ? 'UnknownError' : `${name} msg`), ctx);
      assert.ok(error instanceof UserError, name);
      assert.match(error.message, /^S3 credentials rejected by https:\/\/s3\.example\.test for bucket "photos" \(/);
    }
    assert.match(mapS3Error(serviceError('Unknown', 403, 'UnknownError'), ctx).message, /\(HTTP 403\)$/);
  });

  test('wrong region → UserError mentioning the region', () => {
    const error = mapS3Error(serviceError('PermanentRedirect', 301), ctx);
    assert.ok(error instanceof UserError);
    assert.match(error.message, /check the region/);
  });

  test('network failures and timeouts → retryable S3UnreachableError naming the endpoint', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' });
    const timeout = Object.assign(new Error('request timed out'), { name: 'TimeoutError' });
    const aggregate = new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], 'all failed');
    for (const cause of [refused, dns, timeout, aggregate]) {
      const error = mapS3Error(cause, ctx);
      assert.ok(error instanceof S3UnreachableError, cause.message);
      assert.equal(error.transient, true);
      assert.match(error.message, /^S3 endpoint https:\/\/s3\.example\.test is unreachable: /);
      assert.equal(error.cause, cause);
    }
  });

  test('NoSuchKey names the object; anything else passes through', () => {
    const missing = mapS3Error(serviceError('NoSuchKey', 404), ctx);
    assert.ok(missing instanceof S3NoSuchKeyError);
    assert.match(missing.message, /s3:\/\/photos\/a\/b\.jpg does not exist/);
    const other = serviceError('InternalError', 500);
    assert.equal(mapS3Error(other, ctx), other);
    assert.match(mapS3Error('boom', ctx).message, /S3 request to https:\/\/s3\.example\.test failed: boom/);
  });
});
