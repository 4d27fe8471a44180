import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { harden } from '@harden/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { captureLogs, cookiePair, corsHeaderNames, send, variesByOrigin } from './csrf-helpers.js';

// CORS and CSRF as the whole plugin registers them, next to the real sessions, rate limiter and error pages.

const TRUSTED = 'http://127.0.0.1:5173';
const SECRET = 'w7Kp2Lx9QzR4vT1mN8cY5bH3sD6fG0aEjU';

describe('cors and csrf inside harden', () => {
  const directory = mkdtempSync(join(tmpdir(), 'harden-cors-csrf-'));
  const logs = captureLogs();
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    app = Fastify({ logger: { level: 'info', stream: logs.stream } });
    await app.register(harden, {
      session: { secret: SECRET },
      store: { sqlite: join(directory, 'harden.sqlite') },
      cors: { origins: [TRUSTED] },
    });
    app.get('/api/me', async () => ({ email: 'user@example.test' }));
    app.get('/api/token', async (_request, reply) => ({ token: await reply.generateCsrf() }));
    app.post('/api/notes', async () => ({ saved: true }));
    app.get('/boom', async () => {
      throw new Error('handler failed');
    });
    app.get('/limited', { config: { harden: { rateLimit: '1/minute' } } }, async () => 'ok');
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });

  after(async () => {
    await app.close();
    rmSync(directory, { recursive: true, force: true });
  });

  test('404 page to trusted origin carries cors', async () => {
    const response = await send(port, 'GET', '/missing', [['origin', TRUSTED]]);
    assert.equal(response.status, 404);
    assert.equal(response.headers['access-control-allow-origin'], TRUSTED);
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
    assert.ok(variesByOrigin(response));
  });

  test('500 page to trusted origin carries cors', async () => {
    const response = await send(port, 'GET', '/boom', [['origin', TRUSTED]]);
    assert.equal(response.status, 500);
    assert.equal(response.headers['access-control-allow-origin'], TRUSTED);
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
  });

  test('429 from rate limiter carries cors', async () => {
    await send(port, 'GET', '/limited', [['origin', TRUSTED]]);
    const response = await send(port, 'GET', '/limited', [['origin', TRUSTED]]);
    assert.equal(response.status, 429);
    assert.equal(response.headers['access-control-allow-origin'], TRUSTED);
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
  });

  test('untrusted origin gets no cors on errors', async () => {
    for (const path of ['/missing', '/boom']) {
      const response = await send(port, 'GET', path, [['origin', 'http://127.0.0.1:5174']]);
      assert.deepEqual(corsHeaderNames(response), [], path);
      assert.ok(variesByOrigin(response), path);
    }
  });

  test('untrusted preflight refused and logged', async () => {
    const response = await send(port, 'OPTIONS', '/api/notes', [
      ['origin', 'http://127.0.0.1:5174'],
      ['access-control-request-method', 'POST'],
    ]);
    assert.equal(response.status, 403);
    assert.ok(logs.lines.some((line) => line.event === 'cors.origin_refused'));
  });

  test('trusted front end posts with session token', async () => {
    const tokenResponse = await send(port, 'GET', '/api/token', [['origin', TRUSTED]]);
    const cookie = cookiePair(tokenResponse, '__Host-sid');
    assert.ok(cookie, 'the token request starts a session');
    const { token } = JSON.parse(tokenResponse.body);

    const headers: Array<[string, string]> = [
      ['origin', TRUSTED],
      ['sec-fetch-site', 'same-site'],
      ['cookie', cookie],
      ['content-type', 'application/json'],
    ];
    const withoutToken = await send(port, 'POST', '/api/notes', headers, '{}');
    assert.equal(withoutToken.status, 403);
    assert.equal(JSON.parse(withoutToken.body).reason, 'token-missing');
    assert.equal(withoutToken.headers['access-control-allow-origin'], TRUSTED);

    const withToken = await send(port, 'POST', '/api/notes', [...headers, ['x-csrf-token', token]], '{}');
    assert.equal(withToken.status, 200);
  });

  test('cross-site post with session rejected', async () => {
    const tokenResponse = await send(port, 'GET', '/api/token');
    const cookie = cookiePair(tokenResponse, '__Host-sid');
    assert.ok(cookie);
    const response = await send(
      port,
      'POST',
      '/api/notes',
      [
        ['origin', 'https://evil.test'],
        ['sec-fetch-site', 'cross-site'],
        ['cookie', cookie],
        ['content-type', 'application/json'],
      ],
      '{}',
    );
    assert.equal(response.status, 403);
    assert.equal(JSON.parse(response.body).reason, 'cross-site');
  });
});
