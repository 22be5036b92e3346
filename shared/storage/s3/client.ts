// The S3 client every S3 storage uses: explicit timeouts, bounded retries with the
// SDK's standard strategy (exponential backoff with jitter), checksums only where an
// operation requires them (S3-compatible servers reject the newer default checksums).
// Credentials are never logged: describeS3Config() redacts them.
//
// What the SDK retries (@smithy/core retry: StandardRetryStrategy + isTransientError, read
// for issue 10 and tested against s3rver in test/integration/s3/storage.test.ts): any
// request failing with ECONNRESET/ECONNREFUSED/EPIPE/ETIMEDOUT or a DNS/unreachable code
// (so a pooled keep-alive socket the server had closed: "socket hang up"/ECONNRESET, which
// the Node handler also renames TimeoutError), a connect or socket-idle timeout, 500/502/
// 503/504 and throttling, up to maxAttempts with full-jitter backoff (50 ms base, 1 s when
// throttled), errors raised while the response is parsed included. Retries draw on a quota
// per client (500 tokens, 14 a retry, refilled by successes): in a long outage the SDK stops
// retrying and fails at once, and the job-level retry takes over. Not covered: a GetObject
// body, which streams after the SDK returned; S3Storage.get() repeats the GET itself then.
import { S3Client } from '@aws-sdk/client-s3';
// A dependency of @aws-sdk/client-s3 (it is the SDK's default Node request handler).
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { UserError } from '../../errors.js';

export interface S3ClientConfig {
  /** http(s)://host[:port] of an S3-compatible server; omit for AWS S3. */
  endpoint?: string;
  region: string;
  /** Both or neither; neither = the SDK's default credential chain (env, profile, IMDS…). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** true for most S3-compatible servers (MinIO, s3rver): http://host/bucket/key. */
  forcePathStyle: boolean;
  /** Per attempt: the longest wait to connect, and the longest time the socket may sit idle. */
  timeoutMs: number;
  /** Attempts per request, including the first (1 = no retry). */
  maxAttempts: number;
  /** Keys per listing page (default 1000, S3's maximum). */
  listPageSize?: number;
}

export function createS3Client(cfg: S3ClientConfig): S3Client {
  validateS3Config(cfg);
  const credentials =
    cfg.accessKeyId !== undefined && cfg.secretAccessKey !== undefined
      ? { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey }
      : undefined;
  // On Node < 22 the SDK warns once per process, as it builds its first client, that its
  // releases after January 2027 need Node 22 (@aws-sdk/core emitWarningIfUnsupportedVersion).
  // This project supports Node 20.9 and later with a pinned SDK, and the images run the
  // current LTS; the warning was noise in every command. This variable is the SDK's
  // documented switch for it (aws/aws-sdk-js-v3#7983); a value the user set is kept.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    region: cfg.region,
    ...(cfg.endpoint !== undefined ? { endpoint: cfg.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    forcePathStyle: cfg.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: cfg.maxAttempts,
    retryMode: 'standard',
    // Timeouts are per attempt: connecting, and the socket idle (no byte sent or received).
    // No requestTimeout: in this handler it bounds the time to response headers, which
    // includes sending the body, so it would fail an 8 MiB part on a slow link while the
    // idle timeout already catches a server that accepts and never answers.
    requestHandler: new NodeHttpHandler({
      connectionTimeout: cfg.timeoutMs,
      socketTimeout: cfg.timeoutMs,
    }),
  });
}

/** Where requests go, for messages: the configured endpoint or AWS's regional one. */
export function s3EndpointLabel(cfg: Pick<S3ClientConfig, 'endpoint' | 'region'>): string {
  if (cfg.endpoint === undefined) return `https://s3.${cfg.region}.amazonaws.com`;
  try {
    const url = new URL(cfg.endpoint);
    if (!url.username && !url.password) return cfg.endpoint;
    url.username = '';
    url.password = '';
    return url.href.replace(/\/$/, ''); // user:password@ never reaches a message or a log
  } catch {
    return cfg.endpoint;
  }
}

/** The configuration with credentials redacted, safe to log. */
export function describeS3Config(cfg: S3ClientConfig): Record<string, string | number | boolean> {
  return {
    endpoint: s3EndpointLabel(cfg),
    region: cfg.region,
    forcePathStyle: cfg.forcePathStyle,
    timeoutMs: cfg.timeoutMs,
    maxAttempts: cfg.maxAttempts,
    credentials: cfg.accessKeyId !== undefined ? `static (access key ${redactKeyId(cfg.accessKeyId)})` : 'default chain',
    ...(cfg.secretAccessKey !== undefined ? { secretAccessKey: '[redacted]' } : {}),
  };
}

/** Only the last 4 characters of a long access key id; short ones are hidden entirely. */
function redactKeyId(id: string): string {
  return id.length >= 16 ? `…${id.slice(-4)}` : '[redacted]';
}

function validateS3Config(cfg: S3ClientConfig): void {
  if ((cfg.accessKeyId === undefined) !== (cfg.secretAccessKey === undefined)) {
    throw new UserError('S3 credentials: set both the access key id and the secret access key, or neither');
  }
  if (cfg.endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(cfg.endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new UserError(`S3 endpoint: expected an http:// or https:// URL, received "${cfg.endpoint}"`);
    }
  }
  if (!cfg.region) throw new UserError('S3 region: expected a region name such as "us-east-1", received ""');
  if (!Number.isFinite(cfg.timeoutMs) || cfg.timeoutMs <= 0) {
    throw new UserError(`S3 timeoutMs: expected a positive number of milliseconds, received ${cfg.timeoutMs}`);
  }
  if (!Number.isInteger(cfg.maxAttempts) || cfg.maxAttempts < 1) {
    throw new UserError(`S3 maxAttempts: expected an integer >= 1, received ${cfg.maxAttempts}`);
  }
}
