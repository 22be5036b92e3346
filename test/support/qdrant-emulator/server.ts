// An in-process HTTP emulator of the Qdrant REST endpoints the adapter calls. Every
// request (query parameters and JSON body) and every response is checked against the
// schema derived from Qdrant's OpenAPI spec (qdrant-schema.json):
//   - a request that does not conform gets 400 "Format error in JSON body: <path>: …"
//     (as Qdrant would refuse it) and is recorded in `errors`;
//   - a response that does not conform is the emulator's own bug: recorded, answered 500;
//   - an endpoint or feature the emulator does not model: recorded, answered 404/501.
// Legitimate Qdrant errors (unknown collection 404, duplicate 409, wrong dimension 400)
// are answered like Qdrant and NOT recorded. Tests assert `errors.length === 0`.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import type { OperationId } from './derive-schema.js';
import { EmulatorError } from './points.js';
import type { DerivedOperation, DerivedSchema } from './schema-types.js';
import { EmulatedQdrant } from './store.js';
import { SchemaValidator, formatIssues } from './validate.js';

export interface EmulatorIssue {
  kind: 'request' | 'response' | 'unsupported' | 'route' | 'crash';
  method: string;
  path: string;
  message: string;
}

export interface QdrantEmulatorOptions {
  /**
   * How long (ms) the HTTP server keeps an idle keep-alive socket open before closing it
   * (Node's `server.keepAliveTimeout`). Default: Node's 5 000. Node 20 closes the socket
   * 1 s later than this (a built-in buffer): 500 → closed after 1.5 s idle. A short value
   * reproduces a server that closes pooled sockets under a client whose event loop is blocked.
   */
  keepAliveTimeoutMs?: number;
  /**
   * Send the `Keep-Alive: timeout=<s>` hint Node adds to every response (default true).
   * Undici stops reusing a socket once that hint minus 2 s has passed, so with the hint
   * a keep-alive under ~3 s means sockets are never reused. false answers with a bare
   * `Connection: keep-alive`, as servers that send no hint do; the client then keeps the
   * socket for its own default (10 s in @qdrant/js-client-rest).
   */
  advertiseKeepAlive?: boolean;
}

/**
 * An injected fault: an HTTP error status (answered with Qdrant's error body, nothing
 * applied); 'reset': the connection is destroyed without an answer, nothing applied (a
 * crashed or restarting server); 'lost-answer': the request is applied, then the connection
 * is destroyed instead of answering (the client cannot tell it was applied).
 */
export type EmulatorFault = number | 'reset' | 'lost-answer';

export interface QdrantEmulator {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Every request received, in order (status 0: reset by an injected fault, see failNext). */
  requests: Array<{ method: string; path: string; status: number }>;
  /** Schema violations and unmodelled calls (see the header comment). */
  errors: EmulatorIssue[];
  /**
   * The next `count` requests (of those matching `only`: a method and/or a path pattern)
   * meet `fault` (see EmulatorFault). Injected faults are not recorded in `errors`.
   */
  failNext(count: number, fault: EmulatorFault, only?: { method?: string; path?: RegExp }): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
type Handler = (q: EmulatedQdrant, collection: string, body: Json) => unknown;

export const EMULATED_VERSION = '1.19.0';

const HANDLERS: Record<OperationId, Handler> = {
  root: () => ({ title: 'qdrant - vector search engine (imgsim test emulator)', version: EMULATED_VERSION, commit: null }),
  get_collections: (q) => q.listCollections(),
  get_collection: (q, name) => q.collectionInfo(name),
  create_collection: (q, name, body) => q.createCollection(name, body),
  delete_collection: (q, name) => q.deleteCollection(name),
  collection_exists: (q, name) => q.collectionExists(name),
  update_aliases: (q, _name, body) => q.updateAliases(body),
  get_collections_aliases: (q) => q.listAliases(),
  create_field_index: (q, name, body) => q.createFieldIndex(name, body),
  upsert_points: (q, name, body) => q.upsert(name, body),
  get_points: (q, name, body) => q.retrieve(name, body),
  delete_points: (q, name, body) => q.delete(name, body),
  batch_update: (q, name, body) => q.batch(name, body),
  scroll_points: (q, name, body) => q.scroll(name, body),
  count_points: (q, name, body) => q.count(name, body),
  query_points: (q, name, body) => q.query(name, body),
  query_batch_points: (q, name, body) => q.queryBatch(name, body),
};

interface Route {
  id: OperationId;
  op: DerivedOperation;
  pattern: RegExp;
}

let schemaCache: Promise<DerivedSchema> | undefined;

export function loadDerivedSchema(): Promise<DerivedSchema> {
  schemaCache ??= readFile(new URL('./qdrant-schema.json', import.meta.url), 'utf8').then((t) => JSON.parse(t) as DerivedSchema);
  return schemaCache;
}

export async function startQdrantEmulator(options: QdrantEmulatorOptions = {}): Promise<QdrantEmulator> {
  const schema = await loadDerivedSchema();
  const validator = new SchemaValidator(schema.components.schemas);
  const routes: Route[] = Object.entries(schema.operations).map(([id, op]) => ({
    id: id as OperationId,
    op,
    pattern: new RegExp(`^${op.path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`),
  }));
  const qdrant = new EmulatedQdrant();
  const requests: QdrantEmulator['requests'] = [];
  const errors: EmulatorIssue[] = [];
  const faults: Array<{ fault: EmulatorFault; method?: string; path?: RegExp }> = [];
  const advertise = options.advertiseKeepAlive ?? true;

  const server = createServer((req, res) => {
    const fault = takeFault(req);
    if (fault !== undefined && fault !== 'lost-answer') {
      injectFault(req, res, fault);
      return;
    }
    handle(req)
      .then(({ status, body }) => {
        if (fault === 'lost-answer') {
          req.socket.destroy();
          return;
        }
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          // An explicit Connection header stops Node from adding its Keep-Alive hint.
          ...(advertise ? {} : { connection: 'keep-alive' }),
        });
        res.end(text);
      })
      .catch((error: unknown) => {
        errors.push({ kind: 'crash', method: req.method ?? '?', path: req.url ?? '?', message: String(error) });
        res.destroy();
      });
  });

  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;

  function takeFault(req: IncomingMessage): EmulatorFault | undefined {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    const i = faults.findIndex((f) => (f.method === undefined || f.method === req.method) && (f.path === undefined || f.path.test(path)));
    return i < 0 ? undefined : faults.splice(i, 1)[0]?.fault;
  }

  function injectFault(req: IncomingMessage, res: ServerResponse, fault: number | 'reset'): void {
    const entry = { method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'http://emulator').pathname, status: 0 };
    requests.push(entry);
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    entry.status = fault;
    // Read the request first: answering before it is consumed could reset the socket.
    readBody(req).then(
      () => {
        const text = JSON.stringify({ status: { error: `emulator: injected fault ${fault}` }, time: 0 });
        res.writeHead(fault, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      },
      () => res.destroy(),
    );
  }

  async function handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname;
    const entry = { method, path, status: 0 };
    requests.push(entry);
    const issue = (kind: EmulatorIssue['kind'], message: string): void => {
      errors.push({ kind, method, path, message });
    };
    const text = await readBody(req);
    const elapsed = (): number => (performance.now() - started) / 1000;
    const fail = (status: number, message: string): { status: number; body: unknown } => ({
      status,
      body: { status: { error: message }, time: elapsed() },
    });

    let result: { status: number; body: unknown };
    let route: Route | undefined;
    let match: RegExpExecArray | null = null;
    for (const r of routes) {
      if (r.op.method !== method) continue;
      match = r.pattern.exec(path);
      if (match) {
        route = r;
        break;
      }
    }
    if (!route || !match) {
      issue('route', `the emulator has no ${method} ${path}`);
      result = fail(404, `emulator: no endpoint ${method} ${path}`);
    } else {
      result = run(route, match, url, text, fail, issue, elapsed);
      // Check what we answer against the spec: the emulator must not teach the adapter wrong shapes.
      const responseSchema = route.op.responses[String(result.status)] ?? (result.status >= 400 ? (route.op.responses['4XX'] ?? route.op.responses.default) : undefined);
      if (responseSchema) {
        const problems = validator.validate(responseSchema, result.body);
        if (problems.length > 0) {
          const message = `response to ${route.id} does not match the schema: ${formatIssues(problems)}`;
          issue('response', message);
          result = fail(500, `emulator bug: ${message}`);
        }
      }
    }
    entry.status = result.status;
    return result;
  }

  function run(
    route: Route,
    match: RegExpExecArray,
    url: URL,
    text: string,
    fail: (status: number, message: string) => { status: number; body: unknown },
    issue: (kind: EmulatorIssue['kind'], message: string) => void,
    elapsed: () => number,
  ): { status: number; body: unknown } {
    // Query parameters: the declared ones must parse as their schema says; Qdrant ignores others.
    for (const [name, raw] of url.searchParams) {
      const paramSchema = route.op.query[name];
      if (!paramSchema) continue;
      const problems = validator.validate(paramSchema, coerceQueryValue(raw), `?${name}`);
      if (problems.length > 0) {
        const message = `Query deserialize error: ${formatIssues(problems)}`;
        issue('request', message);
        return fail(400, message);
      }
    }
    let body: Json = {};
    if (route.op.requestBody) {
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch (error) {
        const message = `Format error in JSON body: ${(error as Error).message}`;
        issue('request', message);
        return fail(400, message);
      }
      const problems = parsed === undefined ? [{ path: '$', message: 'a JSON body is required' }] : validator.validate(route.op.requestBody, parsed);
      if (problems.length > 0) {
        const message = `Format error in JSON body: ${formatIssues(problems)}`;
        issue('request', message);
        return fail(400, message);
      }
      body = parsed as Json;
    }
    const collection = decodeURIComponent(match.groups?.collection_name ?? '');
    try {
      const result = HANDLERS[route.id](qdrant, collection, body);
      if (route.id === 'root') return { status: 200, body: result };
      return { status: 200, body: { result, status: 'ok', time: elapsed() } };
    } catch (error) {
      if (error instanceof EmulatorError) {
        if (error.status === 501) issue('unsupported', error.message);
        return fail(error.status, error.message);
      }
      const message = `emulator crashed in ${route.id}: ${(error as Error).stack ?? String(error)}`;
      issue('crash', message);
      return fail(500, message);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    errors,
    failNext(count, fault, only = {}) {
      if (!Number.isInteger(count) || count < 0) throw new Error(`failNext: count must be a non-negative integer, got ${count}`);
      if (fault !== 'reset' && fault !== 'lost-answer' && !(Number.isInteger(fault) && fault >= 400 && fault <= 599)) {
        throw new Error(`failNext: fault must be an HTTP error status (400-599), 'reset' or 'lost-answer', got ${fault}`);
      }
      for (let i = 0; i < count; i++) faults.push({ fault, ...only });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Query strings carry text: read `true`/`false` and numbers as such, leave the rest a string. */
function coerceQueryValue(raw: string): unknown {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}
