// HTTP errors of the server and the mapping of everything else onto them:
// - HttpError: thrown by routes with a status and a message meant for the client;
// - a service that cannot be reached (Redis, Qdrant, the artefact store) → 503 naming it,
//   so a client can tell "try again later" from "your request is wrong";
// - RunNotFoundError → 404, ConflictError → 409, other UserErrors → 400; anything else → 500 (logged, no detail).
// Every error body has Fastify's own shape: {statusCode, error, message} (+ extra fields).
import { STATUS_CODES } from 'node:http';
import type { z } from 'zod';
import { ConflictError, errorMessage, UserError } from '../../shared/errors.js';
import { RunNotFoundError } from '../../shared/runs/index.js';
import { S3UnreachableError } from '../../shared/storage/s3/errors.js';
import { QdrantError } from '../../shared/vectors/qdrant/index.js';

export type Service = 'redis' | 'qdrant' | 'storage';

export class HttpError extends Error {
  override readonly name: string = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function badRequest(message: string, extra: Record<string, unknown> = {}): HttpError {
  return new HttpError(400, message, extra);
}

export function notFound(message: string): HttpError {
  return new HttpError(404, message);
}

export function unavailable(service: Service, message: string, cause?: unknown): HttpError {
  return new HttpError(503, message, { service }, { cause });
}

/** Messages of ioredis/BullMQ when the connection is gone (no reply will come). */
const REDIS_DOWN = /max retries per request|Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Command timed out/i;

/** The service an error says is unreachable, or undefined when it is something else. */
export function unreachableService(error: unknown): Service | undefined {
  if (error instanceof HttpError) return error.statusCode === 503 ? (error.extra.service as Service | undefined) : undefined;
  if (error instanceof QdrantError) return error.status === undefined || error.status >= 500 ? 'qdrant' : undefined;
  if (error instanceof S3UnreachableError) return 'storage';
  if (error instanceof Error && (error.name === 'MaxRetriesPerRequestError' || REDIS_DOWN.test(error.message))) return 'redis';
  return undefined;
}

/** Any error as an HttpError (the status and message a client receives). */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const service = unreachableService(error);
  if (service === 'redis') return unavailable('redis', `Redis is unavailable: ${errorMessage(error)}`, error);
  if (service) return unavailable(service, errorMessage(error), error);
  if (error instanceof QdrantError && error.status !== undefined && error.status < 500) {
    return new HttpError(error.status === 404 ? 404 : 400, error.message, {}, { cause: error });
  }
  if (error instanceof RunNotFoundError) return new HttpError(404, error.message);
  if (error instanceof ConflictError) return new HttpError(409, error.message);
  if (error instanceof UserError) return new HttpError(400, error.message);
  // Fastify's own errors (body too large, bad JSON, unsupported media type…) carry a 4xx status.
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new HttpError(status, errorMessage(error));
  return new HttpError(500, 'Internal server error (see the server log)', {}, { cause: error });
}

export function errorBody(e: HttpError): Record<string, unknown> {
  return { statusCode: e.statusCode, error: STATUS_CODES[e.statusCode] ?? 'Error', message: e.message, ...e.extra };
}

/**
 * Parse a request part with a zod schema; a 400 naming each invalid field otherwise
 * ("body.k: Too big: expected number to be <=1000").
 */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params' | 'form'): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({
    field: [where, ...i.path.map(String)].join('.'),
    message: i.message.replace(/^Invalid input: /, ''),
  }));
  throw badRequest(issues.map((i) => `${i.field}: ${i.message}`).join('; '), { issues });
}
