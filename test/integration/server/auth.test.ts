// The server's authentication (bearer token, basic auth, open health probes), its refusal
// to start open to the network, the OpenAPI document against the registered routes, and
// Bull Board behind the same credentials.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../shared/config/index.js';
import { UserError } from '../../../shared/errors.js';
import { checkExposure, isAuthorized, credentialsFrom } from '../../../workers/server/auth.js';
import { buildServer } from '../../../workers/server/app.js';
import { basicHeader, bearerHeader, startStack, TOKEN, type Stack } from './helpers.js';

describe('server authentication', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  test('every protected route answers 401 with WWW-Authenticate without or with wrong credentials', async () => {
    const paths = ['/v1/runs', '/v1/datasets', '/metrics', '/openapi.json', '/admin/queues', '/admin/queues/api/queues', '/v1/nothing-here'];
    const wrong = [
      undefined,
      'Bearer wrong-token-0123456789abcdef',
      `Bearer ${TOKEN}x`,
      `Basic ${Buffer.from('admin:wrong').toString('base64')}`,
      `Basic ${Buffer.from('root:s3cret-pass').toString('base64')}`,
      'Basic !!!',
      TOKEN,
    ];
    for (const path of paths) {
      for (const authorization of wrong) {
        const r = await fetch(`${stack.url}${path}`, { headers: authorization ? { authorization } : {} });
        assert.equal(r.status, 401, `${path} with ${authorization ?? 'nothing'}`);
        const challenge = r.headers.get('www-authenticate') ?? '';
        assert.match(challenge, /Basic realm="imgsim"/);
        assert.match(challenge, /Bearer realm="imgsim"/);
        const body = (await r.json()) as { statusCode: number; message: string };
        assert.equal(body.statusCode, 401);
      }
    }
  });

  test('the token and the basic credentials both open the API', async () => {
    for (const authorization of [bearerHeader, basicHeader, `bearer ${TOKEN}`]) {
      const r = await fetch(`${stack.url}/v1/datasets`, { headers: { authorization } });
      assert.equal(r.status, 200, authorization);
      assert.deepEqual(await r.json(), { datasets: [] });
    }
    const m = await stack.api('/metrics');
    assert.equal(m.status, 200);
  });

  test('/healthz and /readyz need no credentials', async () => {
    const h = await fetch(`${stack.url}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok' });
    const r = await fetch(`${stack.url}/readyz`);
    const body = (await r.json()) as { status: string; failed: string[]; checks: Record<string, { ok: boolean }> };
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ready');
    assert.deepEqual(body.failed, []);
    assert.deepEqual(Object.keys(body.checks).sort(), ['qdrant', 'redis', 'storage']);
  });

  test('Bull Board serves its page and API with credentials, listing the stage queues and the schedule queue', async () => {
    const page = await fetch(`${stack.url}/admin/queues`, { headers: { authorization: basicHeader } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /<html/i);
    const api = await stack.api('/admin/queues/api/queues');
    assert.equal(api.status, 200);
    const { queues } = (await api.json()) as { queues: Array<{ name: string; readOnlyMode: boolean; allowRetries: boolean }> };
    assert.deepEqual(queues.map((q) => q.name).sort(), ['cluster', 'duplicates', 'embed', 'fingerprint', 'index', 'ingest', 'publish', 'schedule', 'train']);
    for (const q of queues) {
      assert.equal(q.readOnlyMode, false);
      assert.equal(q.allowRetries, true);
    }
  });

  test('/openapi.json is OpenAPI 3.1 and documents every route the server registers', async () => {
    const r = await stack.api('/openapi.json');
    assert.equal(r.status, 200);
    const doc = (await r.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.equal(doc.openapi, '3.1.0');
    // A second app over the same services, to see every route it registers.
    const routes: Array<{ method: string; url: string; hidden: boolean }> = [];
    const probe = await buildServer(stack.services, { onRoute: (r) => routes.push(r) });
    await probe.close();
    const asDocumented = (url: string): string => url.replace(/:(\w+)/g, '{$1}');
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    const ours = routes.filter((r) => !r.hidden && r.method !== 'HEAD');
    assert.ok(ours.length >= 13, `routes seen: ${ours.length}`);
    const missing = ours.filter((r) => !documented.has(`${r.method} ${asDocumented(r.url)}`));
    assert.deepEqual(missing, [], `undocumented routes: ${missing.map((m) => `${m.method} ${m.url}`).join(', ')}`);
    for (const expected of [
      'POST /v1/datasets/{name}/search',
      'POST /v1/runs',
      'GET /v1/runs',
      'GET /v1/runs/{id}',
      'POST /v1/runs/{id}/retry-failed',
      'GET /v1/datasets',
      'GET /v1/datasets/{name}',
      'GET /v1/datasets/{name}/clusters',
      'GET /v1/datasets/{name}/clusters.png',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /openapi.json',
      'GET /admin/queues',
    ]) {
      assert.ok(documented.has(expected), `${expected} is documented`);
    }
  });
});

describe('exposure check', () => {
  const base = { IMGSIM_LOG_LEVEL: 'silent' };
  test('refuses to start without credentials on a non-local address, even with --insecure', () => {
    const config = loadConfig({ ...base, IMGSIM_SERVER_HOST: '0.0.0.0' });
    assert.throws(() => checkExposure(config, true), (e: unknown) => e instanceof UserError && /Refusing to serve on 0\.0\.0\.0 without credentials/.test(e.message) && /IMGSIM_API_TOKEN/.test(e.message));
  });
  test('refuses to start without credentials on localhost unless --insecure', () => {
    const config = loadConfig(base);
    assert.throws(() => checkExposure(config, false), /--insecure/);
    assert.equal(checkExposure(config, true), false);
    assert.equal(checkExposure(loadConfig({ ...base, IMGSIM_SERVER_HOST: '::1' }), true), false);
  });
  test('credentials allow any address', () => {
    assert.equal(checkExposure(loadConfig({ ...base, IMGSIM_SERVER_HOST: '0.0.0.0', IMGSIM_API_TOKEN: TOKEN }), false), true);
    assert.equal(checkExposure(loadConfig({ ...base, IMGSIM_SERVER_HOST: '0.0.0.0', IMGSIM_BASIC_AUTH: 'a:b' }), false), true);
  });
  test('config refuses a short token and a basic-auth value without a colon, hiding the value', () => {
    assert.throws(
      () => loadConfig({ ...base, IMGSIM_API_TOKEN: 'short' }),
      (e: unknown) => e instanceof UserError && /^IMGSIM_API_TOKEN must be at least 16 characters \(or empty for none\), got a value not shown \(secret\)$/.test(e.message),
    );
    assert.throws(
      () => loadConfig({ ...base, IMGSIM_BASIC_AUTH: 'nocolon' }),
      (e: unknown) => e instanceof UserError && /^IMGSIM_BASIC_AUTH must be user:password \(or empty for none\), got a value not shown \(secret\)$/.test(e.message) && !e.message.includes('nocolon'),
    );
  });
  test('header parsing: schemes are case-insensitive; a password may hold colons', () => {
    const creds = credentialsFrom(loadConfig({ ...base, IMGSIM_BASIC_AUTH: 'u:p:with:colons' }));
    assert.equal(isAuthorized(`BASIC ${Buffer.from('u:p:with:colons').toString('base64')}`, creds), true);
    assert.equal(isAuthorized(`Basic ${Buffer.from('u:p').toString('base64')}`, creds), false);
    assert.equal(isAuthorized(`Bearer ${TOKEN}`, creds), false, 'no token configured: bearer refused');
  });
});
