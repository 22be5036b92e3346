// Turning what @qdrant/js-client-rest throws into messages an operator can act on.
// The API key is never part of a message (it only travels in a request header), and
// credentials in the URL are masked.

export class QdrantError extends Error {
  override readonly name: string = 'QdrantError';
  /** Unreachable, timed out, 5xx or 429: retrying later can succeed (see shared/errors.ts). */
  readonly transient: boolean;
  /** How long Qdrant asked to wait before the next request (a 429's Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    /** HTTP status when Qdrant answered, undefined when it could not be reached. */
    readonly status?: number,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.transient = status === undefined || status >= 500 || status === 429;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** The URL as shown in messages: no user:password, no trailing slash. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

interface ApiErrorLike {
  status: number;
  statusText?: string;
  data?: unknown;
}

function isApiError(error: unknown): error is ApiErrorLike {
  return typeof error === 'object' && error !== null && typeof (error as { status?: unknown }).status === 'number' && 'data' in error;
}

/** Qdrant's own explanation in an error body (`{status: {error: "…"}}`), else a short raw body. */
function qdrantReason(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null) {
    const status = (data as { status?: unknown }).status;
    if (typeof status === 'object' && status !== null && typeof (status as { error?: unknown }).error === 'string') {
      return (status as { error: string }).error;
    }
    return JSON.stringify(data).slice(0, 300);
  }
  return typeof data === 'string' && data.length > 0 ? data.slice(0, 300) : undefined;
}

/** The innermost useful reason of a network failure (fetch → undici → AggregateError → errno). */
function networkReason(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const { cause, code, message, errors } = e as { cause?: unknown; code?: unknown; message?: unknown; errors?: unknown };
    if (cause !== undefined) {
      e = cause;
      continue;
    }
    if (Array.isArray(errors) && errors.length > 0 && (typeof message !== 'string' || message === '')) {
      e = errors[0];
      continue;
    }
    if (typeof message === 'string' && message !== '') return message;
    if (typeof code === 'string') return code;
    return undefined;
  }
  return undefined;
}

/**
 * `error` (thrown while doing `action` against Qdrant at `url`) as a QdrantError, or
 * unchanged when it is not about Qdrant (a bug of ours should keep its own stack).
 */
export function toQdrantError(error: unknown, url: string, action: string): unknown {
  const where = `Qdrant at ${displayUrl(url)}`;
  if (isApiError(error)) {
    const statusText = error.statusText ? ` ${error.statusText}` : '';
    const reason = qdrantReason(error.data);
    const hint = error.status === 401 || error.status === 403 ? ' (check the Qdrant API key)' : '';
    return new QdrantError(`${where} refused to ${action}: ${error.status}${statusText}${reason ? `: ${reason}` : ''}${hint}`, error.status, { cause: error });
  }
  if (error instanceof Error && error.name === 'QdrantClientResourceExhaustedError') {
    // The client turns a 429 with a Retry-After header (seconds) into this error.
    const seconds = (error as { retry_after?: unknown }).retry_after;
    const retryAfterMs = typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
    const wait = retryAfterMs !== undefined ? ` (retry after ${seconds as number} s)` : '';
    return new QdrantError(`${where} refused to ${action}: 429 Too Many Requests: ${error.message}${wait}`, 429, { cause: error, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
  if (error instanceof Error && error.name === 'QdrantClientTimeoutError') {
    return new QdrantError(`${where} did not answer in time (${action}): ${error.message}`, undefined, { cause: error });
  }
  if (error instanceof Error && error.name === 'QdrantClientUnexpectedResponseError') {
    return new QdrantError(`${where} gave an unexpected answer (${action}): ${error.message}`, undefined, { cause: error });
  }
  if (error instanceof TypeError && error.message === 'fetch failed') {
    return new QdrantError(`${where} is unreachable: ${networkReason(error) ?? error.message}`, undefined, { cause: error });
  }
  return error;
}
