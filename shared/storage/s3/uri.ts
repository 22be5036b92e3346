// s3://bucket/prefix URIs. The prefix is a folder: stored without leading slash and
// with one trailing slash ('' for the whole bucket), so keys below it never collide
// with a sibling such as s3://bucket/photos-old when the source is s3://bucket/photos.
// No percent-decoding: what follows the bucket is the literal key prefix (as the AWS CLI does).
import { UserError } from '../../errors.js';

export interface S3Location {
  bucket: string;
  /** '' or 'a/b/' (always ends with '/'). */
  prefix: string;
}

export function isS3Uri(uri: string): boolean {
  return /^s3:\/\//i.test(uri);
}

export function parseS3Uri(uri: string): S3Location {
  if (!isS3Uri(uri)) {
    throw new UserError(`Invalid S3 URI "${uri}": expected s3://bucket or s3://bucket/prefix`);
  }
  const rest = uri.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const rawPrefix = slash === -1 ? '' : rest.slice(slash + 1);

  const problem = bucketNameProblem(bucket);
  if (problem) throw new UserError(`Invalid S3 URI "${uri}": bucket name "${bucket}" ${problem}`);

  const trimmed = rawPrefix.replace(/\/+$/, '');
  if (trimmed === '') return { bucket, prefix: '' };
  const segments = trimmed.split('/');
  if (segments.some((s) => s === '')) {
    throw new UserError(`Invalid S3 URI "${uri}": the prefix has an empty path segment ("//" or a leading "/")`);
  }
  if (segments.some((s) => s === '.' || s === '..')) {
    throw new UserError(`Invalid S3 URI "${uri}": the prefix may not contain "." or ".." segments`);
  }
  return { bucket, prefix: `${trimmed}/` };
}

/** s3://bucket or s3://bucket/a/b (no trailing slash), the inverse of parseS3Uri. */
export function formatS3Uri(location: S3Location): string {
  const prefix = location.prefix.replace(/\/+$/, '');
  return prefix ? `s3://${location.bucket}/${prefix}` : `s3://${location.bucket}`;
}

/**
 * Why a bucket name breaks the general-purpose bucket naming rules, or undefined if it
 * follows them. https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `must be 3 to 63 characters long (it has ${name.length})`;
  if (/[A-Z]/.test(name)) return 'must be lowercase';
  if (!/^[a-z0-9.-]+$/.test(name)) return 'may contain only lowercase letters, digits, "." and "-"';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'must begin and end with a letter or a digit';
  if (name.includes('..')) return 'may not contain two adjacent periods';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'may not be formatted as an IP address';
  for (const prefix of ['xn--', 'sthree-', 'amzn-s3-demo-']) {
    if (name.startsWith(prefix)) return `may not start with "${prefix}"`;
  }
  for (const suffix of ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']) {
    if (name.endsWith(suffix)) return `may not end with "${suffix}"`;
  }
  return undefined;
}
