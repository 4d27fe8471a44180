import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { HardenContext } from '../src/context.js';
import { resolveCorsOptions } from '../src/cors.js';
import { registerCsrf, resolveCsrfOptions } from '../src/csrf.js';
import { type RawResponse, send } from './csrf-helpers.js';

// The app's own origin as the cross-origin layer sees it: from the public origin, from the Host header,
// and through X-Forwarded-* only when Fastify's trustProxy trusts the peer.

async function startApp(publicOrigin: string | undefined, trustProxy: boolean | string) {
  const app = Fastify({ trustProxy });
  const cors = resolveCorsOptions(undefined);
  const resolved = resolveCsrfOptions(undefined, { cors, publicOrigin, sessionCookieName: undefined });
  const context: HardenContext = {
    store: { kind: 'memory' },
    publicOrigin,
    onRejection: undefined,
    production: false,
  };
  await app.register(fp(async (instance) => void (await registerCsrf(instance, resolved, context))));
  app.post('/action', async () => ({ done: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { app, port: typeof address === 'object' && address ? address.port : 0 };
}

function reasonOf(response: RawResponse): string | undefined {
  return response.status === 403 ? JSON.parse(response.body).reason : undefined;
}

describe('own origin from public origin', () => {
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    ({ app, port } = await startApp('https://notes.example', false));
  });
  after(() => app.close());

  test('public origin accepted', async () => {
    const response = await send(port, 'POST', '/action', [['origin', 'https://notes.example']]);
    assert.equal(response.status, 200);
  });

  test('request host no longer own', async () => {
    const response = await send(port, 'POST', '/action', [['origin', `http://127.0.0.1:${port}`]]);
    assert.equal(reasonOf(response), 'origin-mismatch');
  });

  test('host header matching attacker origin', async () => {
    const response = await send(port, 'POST', '/action', [
      ['host', 'evil.test'],
      ['origin', 'http://evil.test'],
    ]);
    assert.equal(reasonOf(response), 'origin-mismatch');
  });
});

describe('own origin without trusted proxy', () => {
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    ({ app, port } = await startApp(undefined, false));
  });
  after(() => app.close());

  test('forged x-forwarded-host ignored', async () => {
    const response = await send(port, 'POST', '/action', [
      ['x-forwarded-host', 'evil.test'],
      ['x-forwarded-proto', 'https'],
      ['origin', 'https://evil.test'],
    ]);
    assert.equal(reasonOf(response), 'origin-mismatch');
  });

  test('forged x-forwarded-proto ignored', async () => {
    const response = await send(port, 'POST', '/action', [
      ['x-forwarded-proto', 'https'],
      ['origin', `https://127.0.0.1:${port}`],
    ]);
    assert.equal(reasonOf(response), 'origin-mismatch');
  });

  test('two origin headers rejected', async () => {
    const own = `http://127.0.0.1:${port}`;
    const response = await send(port, 'POST', '/action', [
      ['origin', own],
      ['origin', own],
    ]);
    assert.equal(reasonOf(response), 'origin-mismatch');
  });

  test('two sec-fetch-site headers rejected', async () => {
    const response = await send(port, 'POST', '/action', [
      ['sec-fetch-site', 'same-origin'],
      ['sec-fetch-site', 'same-origin'],
    ]);
    assert.equal(reasonOf(response), 'cross-site');
  });

  test('upper-case host still own origin', async () => {
    const response = await send(port, 'POST', '/action', [
      ['host', `LOCALHOST:${port}`],
      ['origin', `http://localhost:${port}`],
    ]);
    assert.equal(response.status, 200);
  });
});

describe('own origin behind trusted proxy', () => {
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    ({ app, port } = await startApp(undefined, '127.0.0.1'));
  });
  after(() => app.close());

  test('forwarded https host is own origin', async () => {
    const response = await send(port, 'POST', '/action', [
      ['x-forwarded-host', 'notes.example'],
      ['x-forwarded-proto', 'https'],
      ['origin', 'https://notes.example'],
    ]);
    assert.equal(response.status, 200);
  });

  test('plain http origin behind https proxy rejected', async () => {
    const response = await send(port, 'POST', '/action', [
      ['x-forwarded-host', 'notes.example'],
      ['x-forwarded-proto', 'https'],
      ['origin', 'http://notes.example'],
    ]);
    assert.equal(reasonOf(response), 'origin-mismatch');
  });
});
