// Storage on an S3 bucket/prefix. Keys are relative to the prefix, exactly like
// LocalStorage keys are relative to its folder. Listing follows the server's order
// (S3 returns keys in UTF-8 binary order), page by page, so it streams.
//
// Retries: the SDK retries every request (standard mode, the client's maxAttempts) that
// failed before or while its response was parsed: refused, reset, a stale pooled keep-alive
// socket, timeouts, 5xx, throttling. It does not cover reading a GetObject body, which
// streams after the SDK has returned; get() therefore repeats the whole GET (idempotent)
// when the body breaks off, under the same number of attempts. Every failure that retrying
// later can fix surfaces as S3UnreachableError (transient): network codes and timeouts,
// a body that broke off, and 5xx/429 left after the SDK's own retries (toStorageError).
// getRange is get() with a Range header, under the same retries; a range the object does
// not hold is an ObjectRangeError (permanent).
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { UserError, errorMessage, isTransient } from '../../errors.js';
import { withRetry } from '../../retry.js';
import { checkRange, ObjectRangeError, type ObjectInfo, type Storage } from '../types.js';
import { httpStatusOf, mapS3Error, s3ErrorCode, S3UnreachableError, type S3ErrorContext } from './errors.js';
import { formatS3Uri } from './uri.js';

/** Multipart part size for put(): bodies above it are uploaded in parts. */
export const PART_SIZE = 8 * 1024 * 1024;
/** Parts uploaded concurrently by one put(). */
export const UPLOAD_QUEUE_SIZE = 4;
/** Backoff between GETs repeated because their body broke off: full jitter, 100 ms base, at most 5 s. */
const BODY_RETRY = { baseDelayMs: 100, maxDelayMs: 5_000 } as const;

export interface S3StorageOptions {
  client: S3Client;
  bucket: string;
  /** '' or a folder prefix ending in '/' (as parseS3Uri returns). */
  prefix: string;
  /** Endpoint label for error messages (s3EndpointLabel); never contains credentials. */
  endpoint: string;
  /** Keys per ListObjectsV2 page (S3's maximum and default: 1000). */
  listPageSize?: number;
}

export class S3Storage implements Storage {
  readonly uri: string;
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint: string;
  readonly listPageSize: number;
  private bucketCheck: Promise<void> | undefined;

  constructor(options: S3StorageOptions) {
    if (options.prefix !== '' && !options.prefix.endsWith('/')) {
      throw new Error(`S3Storage prefix must be '' or end with '/', received "${options.prefix}"`);
    }
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.endpoint = options.endpoint;
    this.listPageSize = options.listPageSize ?? 1000;
    this.uri = formatS3Uri({ bucket: options.bucket, prefix: options.prefix });
  }

  /**
   * Every object under the folder `prefix` (relative to this storage's prefix; default:
   * all), keys relative to the storage prefix. "Folder" objects (keys ending in '/',
   * as consoles create them) are not files and are skipped.
   */
  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    const sub = prefix.replace(/\/+$/, '');
    if (sub) this.checkKey(sub);
    const fullPrefix = sub ? `${this.prefix}${sub}/` : this.prefix;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            MaxKeys: this.listPageSize,
            ...(fullPrefix ? { Prefix: fullPrefix } : {}),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (error) {
        throw toStorageError(error, this.context());
      }
      for (const object of page.Contents ?? []) {
        const key = object.Key;
        if (key === undefined || !key.startsWith(fullPrefix) || key.endsWith('/')) continue;
        const size = object.Size ?? 0;
        yield {
          key: key.slice(this.prefix.length),
          size,
          etag: cleanEtag(object.ETag) ?? `${size}-${object.LastModified?.getTime() ?? 0}`,
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !token) {
        throw new Error(`S3 listing of s3://${this.bucket}/${fullPrefix} at ${this.endpoint} was truncated without a continuation token`);
      }
    } while (token);
  }

  /**
   * The object's bytes. A body that breaks off mid-way (a reset, the idle timeout) is read
   * again with a new GET: up to the client's maxAttempts GETs, which is safe because a GET
   * changes nothing. A failure of the request itself was already retried by the SDK.
   */
  async get(key: string): Promise<Buffer> {
    return this.getObject(key);
  }

  /**
   * Bytes start … end − 1: one GetObject with `Range: bytes=start-(end − 1)`, retried as
   * get() is. A range starting past the object's end (416 InvalidRange) or one the object
   * ends inside (S3 answers the bytes it has) throws ObjectRangeError.
   */
  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    checkRange(`s3://${this.bucket}/${this.fullKey(key)}`, start, end);
    return this.getObject(key, { start, end });
  }

  private async getObject(key: string, range?: { start: number; end: number }): Promise<Buffer> {
    const fullKey = this.fullKey(key);
    const ctx = this.context(fullKey);
    const attempts = await this.client.config.maxAttempts();
    const asked = range ? ` ${range.end - range.start} bytes from offset ${range.start} of s3://${this.bucket}/${fullKey}` : '';
    let bodyFailed = false;
    return withRetry(
      async () => {
        bodyFailed = false;
        let response;
        try {
          response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey, ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}) }));
        } catch (error) {
          if (range && (httpStatusOf(error) === 416 || s3ErrorCode(error) === 'InvalidRange')) {
            throw new ObjectRangeError(`${asked.trim()} asked: the object is shorter (at ${this.endpoint})`, { cause: error });
          }
          throw toStorageError(error, ctx);
        }
        let out: Buffer;
        if (!response.Body) out = Buffer.alloc(0);
        else {
          try {
            const bytes = await response.Body.transformToByteArray();
            out = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          } catch (error) {
            bodyFailed = true;
            throw bodyReadError(error, ctx, response.ContentLength);
          }
        }
        if (range && out.length !== range.end - range.start) {
          // S3 answers a range that runs past the end with the bytes there are (and a server
          // that ignores Range answers the whole object): either way not what was asked.
          const total = /\/(\d+)$/.exec(response.ContentRange ?? '')?.[1];
          throw new ObjectRangeError(`${asked.trim()} asked, ${out.length} answered${total !== undefined ? ` (the object has ${total})` : ''} (at ${this.endpoint})`);
        }
        return out;
      },
      { attempts, ...BODY_RETRY, isRetryable: () => bodyFailed },
    );
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const fullKey = this.fullKey(key);
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: fullKey, Body: body },
      partSize: PART_SIZE,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false, // abort the multipart upload: no orphaned parts
    });
    try {
      await upload.done();
    } catch (error) {
      throw toStorageError(error, this.context(fullKey));
    }
  }

  async delete(key: string): Promise<void> {
    const fullKey = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey }));
    } catch (error) {
      throw toStorageError(error, this.context(fullKey));
    }
  }

  async exists(key: string): Promise<boolean> {
    const fullKey = this.fullKey(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      return true;
    } catch (error) {
      if (httpStatusOf(error) === 404 || s3ErrorCode(error) === 'NotFound' || s3ErrorCode(error) === 'NoSuchKey') {
        // A HEAD 404 has no body: it can also mean the bucket is missing. Check once.
        await this.ensureBucket();
        return false;
      }
      throw toStorageError(error, this.context(fullKey));
    }
  }

  async versionOf(key: string): Promise<string | undefined> {
    const fullKey = this.fullKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      return cleanEtag(head.ETag) ?? `${head.ContentLength ?? 0}-${head.LastModified?.getTime() ?? 0}`;
    } catch (error) {
      if (httpStatusOf(error) === 404 || s3ErrorCode(error) === 'NotFound' || s3ErrorCode(error) === 'NoSuchKey') {
        await this.ensureBucket();
        return undefined;
      }
      throw toStorageError(error, this.context(fullKey));
    }
  }

  /** Resolves if the bucket exists; a mapped error (UserError for a missing bucket) if not. Checked once. */
  ensureBucket(): Promise<void> {
    this.bucketCheck ??= this.client.send(new HeadBucketCommand({ Bucket: this.bucket })).then(
      () => undefined,
      (error: unknown) => {
        this.bucketCheck = undefined; // a network failure may pass: check again next time
        const code = s3ErrorCode(error);
        if (httpStatusOf(error) === 404 || code === 'NotFound' || code === 'NoSuchBucket') {
          throw mapS3Error(Object.assign(new Error('NoSuchBucket'), { name: 'NoSuchBucket' }), this.context());
        }
        throw toStorageError(error, this.context());
      },
    );
    return this.bucketCheck;
  }

  /** The object key in the bucket; refuses keys that are not plain relative paths. */
  fullKey(key: string): string {
    this.checkKey(key);
    return `${this.prefix}${key}`;
  }

  private checkKey(key: string): void {
    if (key === '' || key.startsWith('/') || key.endsWith('/') || key.split(/[\\/]/).includes('..')) {
      throw new UserError(`Invalid key "${key}": keys are non-empty relative paths without ".." or a leading/trailing "/"`);
    }
  }

  private context(key?: string): S3ErrorContext {
    return { endpoint: this.endpoint, bucket: this.bucket, ...(key !== undefined ? { key } : {}) };
  }
}

/**
 * mapS3Error, plus what it leaves as a plain error although retrying later can succeed:
 * a 5xx or 429 answer (or a throttling code) still there after the SDK's retries, and any
 * connection-level failure it does not list (isTransient: undici codes, cause chains).
 */
function toStorageError(error: unknown, ctx: S3ErrorContext): Error {
  const mapped = mapS3Error(error, ctx);
  if (mapped instanceof S3UnreachableError || mapped instanceof UserError || mapped !== error) return mapped;
  const status = httpStatusOf(error);
  const code = s3ErrorCode(error);
  if ((status !== undefined && (status >= 500 || status === 429)) || (code !== undefined && THROTTLING_CODES.has(code))) {
    const what = status !== undefined ? `HTTP ${status}${code && code !== 'Unknown' ? ` ${code}` : ''}` : (code as string);
    return new S3UnreachableError(`S3 endpoint ${ctx.endpoint} is unavailable: it answered ${what}${attemptsNote(error)}`, { cause: error });
  }
  if (isTransient(error)) {
    return new S3UnreachableError(`S3 endpoint ${ctx.endpoint} is unreachable: ${errorMessage(error)}`, { cause: error });
  }
  return mapped;
}

/** Codes S3 and compatible servers use to ask for less traffic. */
const THROTTLING_CODES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);

function attemptsNote(error: unknown): string {
  const attempts = (error as { $metadata?: { attempts?: unknown } } | null)?.$metadata?.attempts;
  return typeof attempts === 'number' && attempts > 1 ? ` (${attempts} attempts)` : '';
}

/**
 * A failure while a GetObject body streams in: the response had begun, so it is the
 * connection's (a reset, the idle timeout, the server gone), never the object's. Always
 * transient, whatever the stream reports (ECONNRESET "aborted", TimeoutError, premature close).
 */
function bodyReadError(error: unknown, ctx: S3ErrorContext, contentLength: number | undefined): S3UnreachableError {
  const object = ctx.key !== undefined ? `s3://${ctx.bucket}/${ctx.key}` : `bucket "${ctx.bucket}"`;
  const size = contentLength !== undefined ? ` of ${contentLength} bytes` : '';
  const code = s3ErrorCode(error);
  const reason = errorMessage(error);
  const detail = code && !reason.startsWith(code) ? `${code}: ${reason}` : reason;
  return new S3UnreachableError(`S3 endpoint ${ctx.endpoint} is unreachable: the body${size} of ${object} broke off (${detail})`, { cause: error });
}

/** S3 quotes ETags ("abc…" or "abc…-3" for multipart); store them bare. */
function cleanEtag(etag: string | undefined): string | undefined {
  if (!etag) return undefined;
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}
