// Error types shared by every process.
//
// - UserError: the caller gave something wrong (a flag, a path, a config value).
//   The CLI prints its message as one line and exits non-zero, no stack trace.
// - UsageError: a UserError about a flag or environment variable value (the CLI names
//   the command's --help after it).
// - ConflictError: a UserError about state, not syntax (retrying a superseded run).
// - ImageError: one image cannot become a tensor (corrupt, truncated, too large…).
//   It is permanent: the image is recorded as failed with `reason` and never retried.
// - TransientError: a store or service was unreachable, slow, or answered 5xx/429.
//   Retrying later can succeed: a job fails for a job-level retry, and nothing is
//   written as a per-image failure. Adapters' own errors (S3UnreachableError,
//   QdrantError without a status or with 5xx…) carry `transient: true`; isTransient()
//   follows `cause` chains, so wrapping an error keeps its family.

export class UserError extends Error {
  override readonly name: string = 'UserError';
  /** `cause`: the underlying error (an errno, a parse error): kept for --verbose, never in the message. */
  constructor(
    message: string,
    readonly exitCode = 2,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A flag or environment variable given a value it cannot take (`--epochs must be …, got "abc"`). */
export class UsageError extends UserError {
  override readonly name: string = 'UsageError';
}

/**
 * Why a file could not be read, in plain words ("does not exist", "is not valid JSON"…),
 * for a message that names the file itself: the errno and the system call go in the
 * error's `cause` (printed by --verbose), not in the message. Other errors (a store's
 * own, already worded) keep their message.
 */
export function fileProblem(error: unknown): string {
  if (error instanceof SyntaxError) return 'is not valid JSON';
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  if (name === 'S3NoSuchKeyError') return 'does not exist';
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'ENOTDIR':
      return 'is inside a file, not a folder';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    case 'ELOOP':
      return 'is a loop of symbolic links';
    default:
      return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? 'cannot be read' : `cannot be read: ${errorMessage(error)}`;
  }
}

/** The request is valid but conflicts with the current state (HTTP 409). */
export class ConflictError extends UserError {
  override readonly name: string = 'ConflictError';
}

/** Stable machine-readable reasons an image is skipped. */
export type ImageFailureReason =
  | 'empty-file'
  | 'unsupported-format'
  | 'corrupt'
  | 'truncated'
  | 'too-many-pixels'
  | 'unreadable';

export class ImageError extends Error {
  override readonly name: string = 'ImageError';
  constructor(
    readonly reason: ImageFailureReason,
    message: string,
  ) {
    super(message);
  }
}

/** A fault of the environment (a service down, slow or overloaded): retry later. */
export class TransientError extends Error {
  override readonly name: string = 'TransientError';
  readonly transient = true;
}

/** Network-level codes that mean "the other side went away or never answered". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET', // undici: "other side closed" on a stale keep-alive socket
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * True when `error`, or anything in its `cause` chain (or an AggregateError's members),
 * says retrying later can succeed: `transient: true`, or a connection-level Node/undici
 * error code. Permanent families (UserError, ImageError) stop the walk: a UserError
 * wrapping a timeout is still the user's to fix.
 */
export function isTransient(error: unknown): boolean {
  const seen = new Set<unknown>();
  const walk = (e: unknown, depth: number): boolean => {
    if (typeof e !== 'object' || e === null || depth > 8 || seen.has(e)) return false;
    seen.add(e);
    if (e instanceof UserError || e instanceof ImageError) return false;
    const { transient, code, cause, errors } = e as { transient?: unknown; code?: unknown; cause?: unknown; errors?: unknown };
    if (transient === true) return true;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    if (isRedisConnectionLoss(e)) return true;
    if (Array.isArray(errors) && errors.some((inner) => walk(inner, depth + 1))) return true;
    return walk(cause, depth + 1);
  };
  return walk(error, 0);
}

/** ioredis's errors for a command sent while the connection is down (no `code` of their own). */
function isRedisConnectionLoss(e: object): boolean {
  const { name, message } = e as { name?: unknown; message?: unknown };
  if (name === 'MaxRetriesPerRequestError' || name === 'ConnectionClosedError') return true;
  return typeof message === 'string' && /^(Connection is closed|Stream isn't writeable)/.test(message);
}

/** The message of anything thrown, for logs and failure records. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
