// Error types shared by every process.
//
// - UserError: the caller gave something wrong (a flag, a path, a config value).
//   The CLI prints its message as one line and exits non-zero, no stack trace.
// - ConflictError: a UserError about state, not syntax (retrying a superseded run).
// - ImageError: one image cannot become a tensor (corrupt, truncated, too large…).
//   It is permanent: the image is recorded as failed with `reason` and never retried.

export class UserError extends Error {
  override readonly name: string = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
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

/** The message of anything thrown, for logs and failure records. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
