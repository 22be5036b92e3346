// Storage on an S3 bucket/prefix. Keys are relative to the prefix, exactly like
// LocalStorage keys are relative to its folder. Listing follows the server's order
// (S3 returns keys in UTF-8 binary order), page by page, so it streams.
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { UserError } from '../../errors.js';
import type { ObjectInfo, Storage } from '../types.js';
import { httpStatusOf, mapS3Error, s3ErrorCode, type S3ErrorContext } from './errors.js';
import { formatS3Uri } from './uri.js';

/** Multipart part size for put(): bodies above it are uploaded in parts. */
export const PART_SIZE = 8 * 1024 * 1024;
/** Parts uploaded concurrently by one put(). */
export const UPLOAD_QUEUE_SIZE = 4;

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
        throw mapS3Error(error, this.context());
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

  async get(key: string): Promise<Buffer> {
    const fullKey = this.fullKey(key);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      if (!response.Body) return Buffer.alloc(0);
      const bytes = await response.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      throw mapS3Error(error, this.context(fullKey));
    }
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
      throw mapS3Error(error, this.context(fullKey));
    }
  }

  async delete(key: string): Promise<void> {
    const fullKey = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey }));
    } catch (error) {
      throw mapS3Error(error, this.context(fullKey));
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
      throw mapS3Error(error, this.context(fullKey));
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
        throw mapS3Error(error, this.context());
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

/** S3 quotes ETags ("abc…" or "abc…-3" for multipart); store them bare. */
function cleanEtag(etag: string | undefined): string | undefined {
  if (!etag) return undefined;
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}
