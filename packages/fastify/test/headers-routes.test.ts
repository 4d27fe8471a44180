import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import type { RouteHeadersConfig } from '../src/headers.js';
import { startServer } from './headers-helpers.js';

async function get(url: string): Promise<Record<string, string | string[] | undefined>> {
  const response = await request(url);
  await response.body.text();
  return response.headers;
}

describe('per-route header overrides', () => {
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    ({ app, url } = await startServer({
      routes: (server) => {
        const page = async () => 'ok';
        server.get('/plain', page);
        server.get(
          '/gallery',
          {
            config: {
              harden: { headers: { csp: { addSources: { 'img-src': ['https://images.example'] } } } },
            },
          },
          page,
        );
        server.get(
          '/embed',
          {
            config: {
              harden: {
                headers: {
                  dangerouslyDisable: ['x-frame-options'],
                  csp: { directives: { 'frame-ancestors': ['https://partner.example'] } },
                },
              },
            },
          },
          page,
        );
        server.get(
          '/widget',
          {
            config: {
              harden: {
                headers: {
                  csp: {
                    replaceDefaults: true,
                    directives: { 'default-src': ["'none'"], 'style-src': ["'self'"] },
                  },
                },
              },
            },
          },
          async (_request, reply) =>
            reply.type('text/html').send(`<style nonce="${reply.cspNonce}"></style>`),
        );
        server.get('/framable', { config: { harden: { headers: { frameOptions: 'SAMEORIGIN' } } } }, page);
      },
    }));
  });

  after(async () => {
    await app.close();
  });

  test('relaxed img-src only on its route', async () => {
    const gallery = await get(`${url}/gallery`);
    assert.match(
      String(gallery['content-security-policy']),
      /;img-src 'self' data: https:\/\/images\.example;/,
    );
    const plain = await get(`${url}/plain`);
    assert.match(String(plain['content-security-policy']), /;img-src 'self' data:;/);
  });

  test('relaxed route keeps the other headers', async () => {
    const gallery = await get(`${url}/gallery`);
    assert.equal(gallery['x-frame-options'], 'DENY');
    assert.equal(gallery['x-content-type-options'], 'nosniff');
  });

  test('header turned off on one route', async () => {
    const embed = await get(`${url}/embed`);
    assert.equal(embed['x-frame-options'], undefined);
    assert.match(String(embed['content-security-policy']), /;frame-ancestors https:\/\/partner\.example;/);
    assert.equal(embed['referrer-policy'], 'strict-origin-when-cross-origin');
    const plain = await get(`${url}/plain`);
    assert.equal(plain['x-frame-options'], 'DENY');
  });

  test('replaced policy gets the nonce', async () => {
    const response = await request(`${url}/widget`);
    const html = await response.body.text();
    const nonce = /nonce="([^"]+)"/.exec(html)?.[1];
    assert.equal(
      response.headers['content-security-policy'],
      `default-src 'none';style-src 'self' 'nonce-${nonce}'`,
    );
  });

  test('frame options changed on one route', async () => {
    const framable = await get(`${url}/framable`);
    assert.equal(framable['x-frame-options'], 'SAMEORIGIN');
    assert.match(String(framable['content-security-policy']), /;frame-ancestors 'self';/);
  });

  test('unknown path keeps default headers', async () => {
    const missing = await get(`${url}/gallery/missing`);
    assert.match(String(missing['content-security-policy']), /;img-src 'self' data:;/);
    assert.equal(missing['x-frame-options'], 'DENY');
  });
});

describe('per-route override validation', () => {
  async function errorOf(headers: unknown): Promise<string> {
    let server: FastifyInstance | undefined;
    try {
      ({ app: server } = await startServer({
        routes: (instance) => {
          instance.get(
            '/route',
            { config: { harden: { headers: headers as RouteHeadersConfig } } },
            async () => 'ok',
          );
        },
      }));
    } catch (error) {
      return (error as Error).message;
    } finally {
      await server?.close();
    }
    assert.fail('expected the route to be rejected');
  }

  test('unknown header at route add', async () => {
    assert.equal(
      await errorOf({ dangerouslyDisable: ['x-frame-option'] }),
      'Invalid option [GET /route] config.harden.headers.dangerouslyDisable[0] = "x-frame-option": it is not a header this plugin sets. Fix: use a lower-case name among content-security-policy, cross-origin-embedder-policy, cross-origin-opener-policy, cross-origin-resource-policy, origin-agent-cluster, permissions-policy, referrer-policy, x-content-type-options, x-dns-prefetch-control, x-download-options, x-frame-options, x-permitted-cross-domain-policies, x-xss-protection',
    );
  });

  test('header name used as option at route add', async () => {
    assert.equal(
      await errorOf({ 'X-Frame-Options': false }),
      "Invalid option [GET /route] config.harden.headers.X-Frame-Options = false: it is not a headers option. Fix: to turn the header off, write dangerouslyDisable: ['x-frame-options']",
    );
  });

  test('unknown directive at route add', async () => {
    assert.equal(
      await errorOf({ csp: { addSources: { 'scrpt-src': ['https://cdn.example'] } } }),
      `Invalid option [GET /route] config.harden.headers.csp.addSources.scrpt-src = "scrpt-src": it is not a known CSP directive. Fix: did you mean 'script-src'?`,
    );
  });

  test('unsafe-inline at route add', async () => {
    assert.match(
      await errorOf({ csp: { addSources: { 'script-src': ["'unsafe-inline'"] } } }),
      /^Invalid option \[GET \/route\] config\.harden\.headers\.csp\.addSources\.script-src = "'unsafe-inline'": 'unsafe-inline' lets every injected inline script run\./,
    );
  });

  test('non-object route headers at route add', async () => {
    assert.equal(
      await errorOf('off'),
      'Invalid option [GET /route] config.harden.headers = "off": it is not an object. Fix: pass an object such as { frameOptions: "DENY" }',
    );
  });
});
