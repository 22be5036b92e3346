// Turn AWS SDK failures into errors a user can act on.
// - configuration mistakes (missing bucket, rejected credentials, wrong region) → UserError,
//   permanent: retrying cannot help;
// - network failures and timeouts → S3UnreachableError, retryable (the SDK has already
//   retried maxAttempts times; a job queue may retry later);
// - anything else is rethrown unchanged (with its S3 code in the message where known).
import { TransientError, UserError } from '../../errors.js';

export interface S3ErrorContext {
  /** Endpoint label for messages (never containing credentials). */
  endpoint: string;
  bucket: string;
  /** Full object key, when the operation is on one object. */
  key?: string;
}

/** The endpoint could not be reached or did not answer in time. Retryable. */
export class S3UnreachableError extends TransientError {
  override readonly name: string = 'S3UnreachableError';
}

/** GetObject on a key that does not exist. */
export class S3NoSuchKeyError extends Error {
  override readonly name: string = 'S3NoSuchKeyError';
  readonly code = 'ENOENT';
}

const CREDENTIAL_CODES = new Set([
  'AccessDenied',
  'Forbidden', // HEAD requests carry no body: 403 is all there is
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidSecurity',
  'CredentialsProviderError', // the default chain found no credentials
]);
const REGION_CODES = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
]);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

/** The S3 error code (SDK exception name), or a Node network error code, of anything thrown. */
export function s3ErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { name?: unknown; code?: unknown; Code?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && e.code) return e.code;
  // Node 20's happy-eyeballs connect reports AggregateError with per-address errors.
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors as unknown[]) {
      const code = s3ErrorCode(inner);
      if (code) return code;
    }
  }
  if (typeof e.Code === 'string' && e.Code) return e.Code;
  if (typeof e.name === 'string' && e.name && e.name !== 'Error' && e.name !== 'AggregateError') return e.name;
  return undefined;
}

export function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The error to throw for an SDK failure during an operation on `ctx.bucket`. */
export function mapS3Error(error: unknown, ctx: S3ErrorContext): Error {
  const code = s3ErrorCode(error);
  const status = httpStatusOf(error);
  const detail = errorDetail(error, code, status);

  if (code === 'NoSuchBucket') {
    return new UserError(`S3 bucket "${ctx.bucket}" does not exist at ${ctx.endpoint}`);
  }
  if ((code !== undefined && CREDENTIAL_CODES.has(code)) || status === 403) {
    return new UserError(`S3 credentials rejected by ${ctx.endpoint} for bucket "${ctx.bucket}" (${detail})`);
  }
  if ((code !== undefined && REGION_CODES.has(code)) || status === 301) {
    return new UserError(
      `S3 bucket "${ctx.bucket}" is not reachable with the configured region at ${ctx.endpoint}; check the region (${detail})`,
    );
  }
  if (code !== undefined && (NETWORK_CODES.has(code) || TIMEOUT_NAMES.has(code))) {
    return new S3UnreachableError(`S3 endpoint ${ctx.endpoint} is unreachable: ${detail}`, { cause: error });
  }
  if (code === 'NoSuchKey') {
    const where = ctx.key !== undefined ? `s3://${ctx.bucket}/${ctx.key}` : `bucket "${ctx.bucket}"`;
    return new S3NoSuchKeyError(`S3 object ${where} does not exist (at ${ctx.endpoint})`, { cause: error });
  }
  if (error instanceof Error) return error;
  return new Error(`S3 request to ${ctx.endpoint} failed: ${detail}`, { cause: error });
}

function errorDetail(error: unknown, code: string | undefined, status: number | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  // Responses without a body (HEAD) leave the SDK only the status: name 'Unknown' or 'NotFound'/'Forbidden'.
  if (status !== undefined && (!code || code === 'Unknown' || message === 'UnknownError')) {
    return `HTTP ${status}${code && code !== 'Unknown' ? ` ${code}` : ''}`;
  }
  if (!code) return message || 'unknown error';
  if (!message || message === code || message === 'UnknownError') return code;
  return message.startsWith(code) ? message : `${code}: ${message}`;
}
