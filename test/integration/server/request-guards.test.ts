// The refusals both servers share (workers/server/request-guards.ts, set up by
// createBaseApp): a write started by another site's page (CSRF: a form or no-cors fetch
// carries the browser's remembered basic-auth credentials and needs no preflight) is a 403;
// every answer forbids framing; an unauthenticated (--insecure) server answers only
// loopback Host names (DNS rebinding). The real routes of the local server are checked in
// local-server.test.ts; here a base app with one POST route that takes an empty body, as
// POST …/runs/{id}/retry-failed does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../../shared/config/index.js';
import { silentLogger } from '../../../shared/logger.js';
import { createBaseApp } from '../../../workers/server/base-app.js';
import { crossSiteRefusal, hostName, hostRefusal } from '../../../workers/server/request-guards.js';

const BASIC = 'admin:s3cret-pass';
const authorization = `Basic ${Buffer.from(BASIC).toString('base64')}`;

async function appWith(authenticated: boolean): Promise<FastifyInstance> {
  const config = loadConfig(authenticated ? { IMGSIM_BASIC_AUTH: BASIC } : {});
  const app = await createBaseApp({ config, logger: silentLogger, authenticated });
  app.get('/v1/thing', () => ({ ok: true }));
  app.post('/v1/thing/retry', () => ({ retried: 1 }));
  await app.ready();
  return app;
}

describe('request guards: cross-site writes, framing, DNS rebinding', () => {
  let secured: FastifyInstance;
  let open: FastifyInstance;
  before(async () => {
    secured = await appWith(true);
    open = await appWith(false);
  });
  after(async () => {
    await secured?.close();
    await open?.close();
  });

  test('a POST from another site is a 403, with credentials or without; same-origin and non-browser clients pass', async () => {
    const post = (app: FastifyInstance, headers: Record<string, string>) => app.inject({ method: 'POST', url: '/v1/thing/retry', headers: { authorization, ...headers } });
    for (const app of [secured, open]) {
      for (const headers of [
        { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
        { 'sec-fetch-site': 'same-site', origin: 'http://localhost:3000' }, // another port of this host
        { origin: 'https://evil.example' }, // a browser without Sec-Fetch-* headers
        { origin: 'null' }, // a sandboxed frame, a file:// page
      ] as Array<Record<string, string>>) {
        const r = await post(app, headers);
        assert.equal(r.statusCode, 403, JSON.stringify(headers));
        assert.match(r.json<{ message: string }>().message, /^Refused: a POST from /);
      }
      for (const headers of [
        {}, // curl, SDKs
        { 'sec-fetch-site': 'same-origin', origin: 'http://localhost:80' }, // the web app
        { origin: 'http://localhost:80' }, // the web app in a browser without Sec-Fetch-*
        { origin: 'https://imgsim.example.org', 'x-forwarded-host': 'imgsim.example.org' }, // behind a proxy
      ] as Array<Record<string, string>>) {
        assert.equal((await post(app, headers)).statusCode, 200, JSON.stringify(headers));
      }
    }
    // Reads are not refused (a cross-site page cannot read the answer; an <img> of a thumbnail is fine).
    const read = await secured.inject({ method: 'GET', url: '/v1/thing', headers: { authorization, 'sec-fetch-site': 'cross-site' } });
    assert.equal(read.statusCode, 200);
  });

  test('every answer forbids framing (clickjacking of the app\'s buttons)', async () => {
    for (const r of [
      await secured.inject({ method: 'GET', url: '/v1/thing', headers: { authorization } }),
      await secured.inject({ method: 'GET', url: '/v1/thing' }), // the 401
      await open.inject({ method: 'GET', url: '/nope' }), // a 404
    ]) {
      assert.equal(r.headers['x-frame-options'], 'DENY');
      assert.equal(r.headers['content-security-policy'], "frame-ancestors 'none'");
    }
  });

  test('without credentials (--insecure) only loopback Host names are answered; with credentials any', async () => {
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'LOCALHOST']) {
      assert.equal((await open.inject({ method: 'GET', url: '/v1/thing', headers: { host } })).statusCode, 200, host);
    }
    for (const host of ['evil.example:8080', 'evil.example', '127.0.0.1.evil.example', 'localhost.evil.example:8080']) {
      const r = await open.inject({ method: 'GET', url: '/v1/thing', headers: { host } });
      assert.equal(r.statusCode, 403, host);
      assert.match(r.json<{ message: string }>().message, /is not this machine's loopback name/);
    }
    assert.equal((await secured.inject({ method: 'GET', url: '/v1/thing', headers: { host: 'imgsim.example.org', authorization } })).statusCode, 200);
  });

  test('the rules as functions', () => {
    assert.equal(hostName('[::1]:8080'), '[::1]');
    assert.equal(hostName('Example.org:80'), 'example.org');
    assert.equal(hostRefusal({}), undefined);
    assert.equal(crossSiteRefusal('GET', { 'sec-fetch-site': 'cross-site' }), undefined);
    assert.equal(crossSiteRefusal('OPTIONS', { origin: 'https://evil.example' }), undefined);
    assert.equal(crossSiteRefusal('POST', { 'sec-fetch-site': 'none' }), undefined, 'started by the user (a bookmark), not by a page');
    assert.match(crossSiteRefusal('DELETE', { 'sec-fetch-site': 'cross-site' }) ?? '', /^Refused: a DELETE from another site's page/);
    assert.match(crossSiteRefusal('POST', { origin: 'not a url' }) ?? '', /opaque origin/);
  });
});
