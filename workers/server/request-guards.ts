// What a browser could be made to do by another site, refused for both servers (the web
// app at / makes a browser remember the basic-auth credentials, and sends them with any
// request to this origin, whoever's page starts it):
//   - cross-site writes (CSRF): a POST/PUT/PATCH/DELETE that a browser marks as coming
//     from another site (Sec-Fetch-Site cross-site or same-site — another port of the same
//     host is "same-site"), or, from a browser without Sec-Fetch-* headers, with an Origin
//     naming another host, is a 403. A form or a no-cors fetch needs no preflight: without
//     this, any page could POST …/runs/{id}/retry-failed or start a duplicates pass (both
//     take an empty body). API clients (curl, SDKs) send neither header and pass.
//   - framing (clickjacking): every answer says frame-ancestors 'none' / X-Frame-Options DENY.
//   - DNS rebinding, when unauthenticated (--insecure, bound to localhost): a request whose
//     Host is not a loopback name is a 403 — a page of evil.example whose name resolves
//     to 127.0.0.1 would otherwise read the whole API as its own origin.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorBody, HttpError } from './errors.js';

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

type Headers = FastifyRequest['headers'];

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** The host name of a Host header value ("127.0.0.1:8080" → "127.0.0.1", "[::1]:80" → "[::1]"), lowercased. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

/** A Host value compared with an Origin's: lowercased, without :80 or :443 (an Origin leaves its scheme's port out). */
const withoutDefaultPort = (host: string): string => host.trim().toLowerCase().replace(/:(80|443)$/, '');

/** Why a request that changes something is refused as cross-site, or undefined when it may go on. */
export function crossSiteRefusal(method: string, headers: Headers): string | undefined {
  if (SAFE_METHODS.has(method.toUpperCase())) return undefined;
  const site = one(headers['sec-fetch-site']);
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none') return undefined;
    return `Refused: a ${method} from another site's page (Sec-Fetch-Site: ${site}); the web app and API clients send it from this origin or without a browser`;
  }
  const origin = one(headers.origin);
  if (origin === undefined) return undefined; // not a browser (or a same-origin GET-like request of an old one)
  let originHost: string;
  try {
    originHost = withoutDefaultPort(new URL(origin).host);
  } catch {
    return `Refused: a ${method} from an opaque origin (Origin: ${origin})`;
  }
  const hosts = [one(headers.host), one(headers['x-forwarded-host'])].filter((h): h is string => h !== undefined).map(withoutDefaultPort);
  if (hosts.includes(originHost)) return undefined;
  return `Refused: a ${method} from a page of ${origin}, not of this server`;
}

/** Why an unauthenticated server refuses a request's Host (not a loopback name: DNS rebinding), or undefined. */
export function hostRefusal(headers: Headers): string | undefined {
  const host = one(headers.host);
  if (host === undefined) return undefined; // HTTP/1.0 without Host: no browser sends that
  if (LOOPBACK_HOSTS.has(hostName(host))) return undefined;
  return `Refused: Host "${host}" is not this machine's loopback name; a server without credentials (--insecure) answers only http://localhost, 127.0.0.1 or [::1]`;
}

/** One onRequest hook on every route: the refusals above (403) and the anti-framing headers. */
export function registerRequestGuards(app: FastifyInstance, o: { authenticated: boolean }): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-frame-options', 'DENY').header('content-security-policy', "frame-ancestors 'none'");
    const why = (o.authenticated ? undefined : hostRefusal(request.headers)) ?? crossSiteRefusal(request.method, request.headers);
    if (why === undefined) return;
    request.log.warn({ method: request.method, url: request.url, host: request.headers.host, origin: request.headers.origin, site: request.headers['sec-fetch-site'] }, why);
    return reply.code(403).send(errorBody(new HttpError(403, why)));
  });
}
