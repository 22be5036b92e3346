// Authentication of the API, Bull Board, /metrics and /openapi.json: a bearer token
// and/or HTTP basic credentials from config, compared in constant time. /healthz and
// /readyz stay open (load balancers and orchestrators probe them without credentials).
//
// Without any credential the server starts only bound to localhost and with an explicit
// --insecure: an open queue board can retry, clean and add jobs.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../shared/config/index.js';
import { UserError } from '../../shared/errors.js';
import { errorBody, HttpError } from './errors.js';

/** Routes that answer without credentials. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

const LOCALHOST = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

export function isLocalhost(host: string): boolean {
  return LOCALHOST.has(host.toLowerCase());
}

export interface Credentials {
  token?: string;
  basic?: { user: string; password: string };
}

export function credentialsFrom(config: Pick<Config, 'apiToken' | 'basicAuth'>): Credentials {
  const creds: Credentials = {};
  if (config.apiToken !== '') creds.token = config.apiToken;
  if (config.basicAuth !== '') {
    const at = config.basicAuth.indexOf(':');
    creds.basic = { user: config.basicAuth.slice(0, at), password: config.basicAuth.slice(at + 1) };
  }
  return creds;
}

/**
 * Whether requests are authenticated; throws when the server would be open to more than
 * this machine, or open without --insecure.
 */
export function checkExposure(config: Pick<Config, 'apiToken' | 'basicAuth' | 'serverHost'>, insecure: boolean): boolean {
  const creds = credentialsFrom(config);
  if (creds.token !== undefined || creds.basic !== undefined) return true;
  if (!isLocalhost(config.serverHost)) {
    throw new UserError(
      `Refusing to serve on ${config.serverHost} without credentials: set IMGSIM_API_TOKEN (bearer token, 16+ characters) and/or IMGSIM_BASIC_AUTH (user:password); only a server bound to localhost (127.0.0.1, ::1) may run without them, with --insecure`,
    );
  }
  if (!insecure) {
    throw new UserError(
      'Refusing to serve without credentials: set IMGSIM_API_TOKEN (bearer token, 16+ characters) and/or IMGSIM_BASIC_AUTH (user:password), or pass --insecure to run unauthenticated on localhost',
    );
  }
  return false;
}

/**
 * The start-up warning when only a bearer token is configured: a browser cannot send one,
 * so the web app at / (behind the same authentication) cannot be opened. Undefined otherwise.
 */
export function browserAuthWarning(config: Pick<Config, 'apiToken' | 'basicAuth'>): string | undefined {
  const creds = credentialsFrom(config);
  if (creds.token === undefined || creds.basic !== undefined) return undefined;
  return 'Only IMGSIM_API_TOKEN is set: a browser cannot send a bearer token, so the web app at / will not open; set IMGSIM_BASIC_AUTH=user:password as well to use it (API clients keep using the token)';
}

/** Constant-time string comparison (lengths are hidden by hashing both sides). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export function isAuthorized(header: string | undefined, creds: Credentials): boolean {
  if (!header) return false;
  const space = header.indexOf(' ');
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer' && creds.token !== undefined) return safeEqual(value, creds.token);
  if (scheme === 'basic' && creds.basic !== undefined) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const at = decoded.indexOf(':');
    if (at < 0) return false;
    // Evaluate both comparisons: no early exit on the user name.
    const userOk = safeEqual(decoded.slice(0, at), creds.basic.user);
    const passwordOk = safeEqual(decoded.slice(at + 1), creds.basic.password);
    return userOk && passwordOk;
  }
  return false;
}

function challenges(creds: Credentials): string[] {
  const out: string[] = [];
  if (creds.basic) out.push('Basic realm="imgsim", charset="UTF-8"');
  if (creds.token !== undefined) out.push('Bearer realm="imgsim"');
  return out;
}

/** An onRequest hook on every route except PUBLIC_ROUTES (unknown URLs included). */
export function registerAuth(app: FastifyInstance, creds: Credentials): void {
  const wwwAuthenticate = challenges(creds);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && PUBLIC_ROUTES.has(route)) return;
    if (isAuthorized(request.headers.authorization, creds)) return;
    const error = new HttpError(401, request.headers.authorization ? 'Invalid credentials' : 'Authentication required (bearer token or basic auth)');
    return reply.code(401).header('www-authenticate', wwwAuthenticate).send(errorBody(error));
  });
}
