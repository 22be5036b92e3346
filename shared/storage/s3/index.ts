// S3 storage: a bucket/prefix in AWS S3 or any S3-compatible server (MinIO, s3rver…).
import { createS3Client, s3EndpointLabel, type S3ClientConfig } from './client.js';
import { S3Storage } from './storage.js';
import { parseS3Uri } from './uri.js';

export { createS3Client, describeS3Config, s3EndpointLabel, type S3ClientConfig } from './client.js';
export { mapS3Error, s3ErrorCode, S3NoSuchKeyError, S3UnreachableError, type S3ErrorContext } from './errors.js';
export { PART_SIZE, S3Storage, UPLOAD_QUEUE_SIZE, type S3StorageOptions } from './storage.js';
export { bucketNameProblem, formatS3Uri, isS3Uri, parseS3Uri, type S3Location } from './uri.js';

export interface OpenS3Options {
  /** Check that the bucket exists (one HeadBucket) so a typo fails now, not mid-run. Default true. */
  checkBucket?: boolean;
}

/** Storage for s3://bucket/prefix with a new client built from `cfg`. */
export async function openS3Storage(uri: string, cfg: S3ClientConfig, options: OpenS3Options = {}): Promise<S3Storage> {
  const { bucket, prefix } = parseS3Uri(uri);
  const client = createS3Client(cfg);
  const storage = new S3Storage({ client, bucket, prefix, endpoint: s3EndpointLabel(cfg), ...(cfg.listPageSize ? { listPageSize: cfg.listPageSize } : {}) });
  if (options.checkBucket ?? true) {
    try {
      await storage.ensureBucket();
    } catch (error) {
      client.destroy();
      throw error;
    }
  }
  return storage;
}
