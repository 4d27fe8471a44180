import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HardenConfigError } from '@harden/core';
import harden from '@harden/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';

describe('headers through the whole plugin', () => {
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    app = Fastify({ logger: false });
    await app.register(harden, { session: false, store: { memory: true } });
    app.get('/page', async (_request, reply) =>
      reply.type('text/html').send(`<script nonce="${reply.cspNonce}"></script>`),
    );
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  after(async () => {
    await app.close();
  });

  test('plugin sends headers and the nonce', async () => {
    const response = await request(`${url}/page`, { headers: { accept: 'text/html' } });
    const html = await response.body.text();
    const nonce = /nonce="([^"]+)"/.exec(html)?.[1];
    assert.ok(nonce);
    assert.match(
      String(response.headers['content-security-policy']),
      new RegExp(`script-src 'self' 'nonce-${nonce.replace(/[+/]/g, '\\$&')}'`),
    );
    assert.equal(response.headers['x-frame-options'], 'DENY');
    assert.equal(response.headers['strict-transport-security'], undefined);
  });

  test('plugin 404 is safe and has headers', async () => {
    const response = await request(`${url}/missing`);
    const body = await response.body.text();
    assert.equal(response.statusCode, 404);
    assert.equal(JSON.parse(body).detail, 'There is nothing at this address.');
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
  });
});

test('plugin rejects a bad headers option at registration', async () => {
  const app = Fastify({ logger: false });
  try {
    await assert.rejects(
      async () => {
        await app.register(harden, {
          session: false,
          store: { memory: true },
          headers: { csp: { directives: { 'scrpt-src': ["'self'"] } } },
        });
        await app.ready();
      },
      (error: unknown) =>
        error instanceof HardenConfigError &&
        error.message.startsWith('Invalid option headers.csp.directives.scrpt-src = "scrpt-src"'),
    );
  } finally {
    await app.close();
  }
});
