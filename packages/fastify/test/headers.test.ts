import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { evaluateCsp } from '@harden/core';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { startServer } from './headers-helpers.js';

const DEFAULT_CSP_WITHOUT_NONCE =
  "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;font-src 'self';connect-src 'self';object-src 'none';base-uri 'none';frame-ancestors 'none';form-action 'self'";

const DEFAULT_PERMISSIONS_POLICY =
  'accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), hid=(), idle-detection=(), local-fonts=(), magnetometer=(), microphone=(), midi=(), payment=(), screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()';

/** Every header the plugin sends by default except the CSP, with its exact value. */
const DEFAULT_HEADERS: Record<string, string> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
  'permissions-policy': DEFAULT_PERMISSIONS_POLICY,
};

function cspWithNonce(nonce: string): string {
  return `default-src 'self';script-src 'self' 'nonce-${nonce}';style-src 'self' 'nonce-${nonce}';img-src 'self' data:;font-src 'self';connect-src 'self';object-src 'none';base-uri 'none';frame-ancestors 'none';form-action 'self'`;
}

function assertDefaultHeaders(headers: Record<string, string | string[] | undefined>): void {
  for (const [name, value] of Object.entries(DEFAULT_HEADERS)) {
    assert.equal(headers[name], value, name);
  }
  assert.equal(headers['x-powered-by'], undefined);
  assert.equal(headers.server, undefined);
  assert.equal(headers['strict-transport-security'], undefined);
  assert.equal(headers['cross-origin-embedder-policy'], undefined);
}

describe('default security headers', () => {
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    ({ app, url } = await startServer({
      bodyLimit: 1024,
      routes: (server) => {
        server.get('/page', async (_request, reply) => {
          const nonce = reply.cspNonce;
          return reply
            .type('text/html; charset=utf-8')
            .send(
              `<!doctype html><html><head><style nonce="${nonce}">p{color:red}</style></head><body><p>hi</p><script nonce="${nonce}">document.title='ok'</script></body></html>`,
            );
        });
        server.get('/json', async () => ({ ok: true }));
        server.post('/json', async (request) => ({ received: request.body }));
        server.get('/boom', async () => {
          throw new Error('database password is hunter2');
        });
      },
    }));
  });

  after(async () => {
    await app.close();
  });

  test('page gets every default header', async () => {
    const response = await request(`${url}/page`);
    await response.body.text();
    assert.equal(response.statusCode, 200);
    assertDefaultHeaders(response.headers);
  });

  test('page CSP pinned with its nonce', async () => {
    const response = await request(`${url}/page`);
    const html = await response.body.text();
    const nonce = /<script nonce="([^"]+)">/.exec(html)?.[1];
    assert.ok(nonce);
    assert.equal(response.headers['content-security-policy'], cspWithNonce(nonce));
  });

  test('unread nonce left out of CSP', async () => {
    const response = await request(`${url}/json`);
    assert.deepEqual(await response.body.json(), { ok: true });
    assertDefaultHeaders(response.headers);
    assert.equal(response.headers['content-security-policy'], DEFAULT_CSP_WITHOUT_NONCE);
  });

  test('served policies have no CSP finding', async () => {
    for (const path of ['/page', '/json']) {
      const response = await request(`${url}${path}`);
      await response.body.text();
      assert.deepEqual(evaluateCsp(String(response.headers['content-security-policy'])), [], path);
    }
  });

  test('nonce differs on every response', async () => {
    const nonces = new Set<string>();
    const count = 200;
    for (let index = 0; index < count; index++) {
      const response = await request(`${url}/page`);
      await response.body.text();
      const csp = String(response.headers['content-security-policy']);
      const nonce = /script-src 'self' 'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce, csp);
      nonces.add(nonce);
    }
    assert.equal(nonces.size, count);
  });

  test('nonce is 128 bits of base64', async () => {
    const response = await request(`${url}/page`);
    await response.body.text();
    const csp = String(response.headers['content-security-policy']);
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1] ?? '';
    assert.match(nonce, /^[A-Za-z0-9+/]{22}==$/);
    assert.equal(Buffer.from(nonce, 'base64').length, 16);
  });

  test('nonce in CSP matches script and style tags', async () => {
    const response = await request(`${url}/page`);
    const html = await response.body.text();
    const csp = String(response.headers['content-security-policy']);
    const scriptNonce = /script-src [^;]*'nonce-([^']+)'/.exec(csp)?.[1];
    const styleNonce = /style-src [^;]*'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(scriptNonce);
    assert.equal(styleNonce, scriptNonce);
    assert.ok(html.includes(`<script nonce="${scriptNonce}">`));
    assert.ok(html.includes(`<style nonce="${scriptNonce}">`));
  });

  test('headers on 404', async () => {
    const response = await request(`${url}/missing`, { headers: { accept: 'text/html' } });
    const body = await response.body.text();
    assert.equal(response.statusCode, 404);
    assertDefaultHeaders(response.headers);
    assert.equal(response.headers['content-security-policy'], DEFAULT_CSP_WITHOUT_NONCE);
    assert.ok(body.includes('<h1>404 Not Found</h1>'));
  });

  test('headers on 400 for malformed JSON', async () => {
    const response = await request(`${url}/json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    await response.body.text();
    assert.equal(response.statusCode, 400);
    assertDefaultHeaders(response.headers);
    assert.equal(response.headers['content-security-policy'], DEFAULT_CSP_WITHOUT_NONCE);
  });

  test('headers on 413 for a too large body', async () => {
    const response = await request(`${url}/json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(4096) }),
    });
    await response.body.text();
    assert.equal(response.statusCode, 413);
    assertDefaultHeaders(response.headers);
  });

  test('headers on 500', async () => {
    const response = await request(`${url}/boom`);
    await response.body.text();
    assert.equal(response.statusCode, 500);
    assertDefaultHeaders(response.headers);
    assert.equal(response.headers['content-security-policy'], DEFAULT_CSP_WITHOUT_NONCE);
  });
});
