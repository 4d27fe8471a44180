// The session layer as the app gets it: through `app.register(harden, options)`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { harden } from '@harden/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { rawRequest, SECRET, sessionCookieFrom } from './session-fixtures.js';

describe('sessions through the harden plugin', () => {
  const dir = mkdtempSync(join(tmpdir(), 'harden-plugin-session-'));
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    app = Fastify();
    await app.register(harden, {
      session: { secret: SECRET },
      store: { sqlite: join(dir, 'harden.sqlite') },
    });
    // A GET, so this test does not depend on the CSRF layer's rules for unsafe methods.
    app.get('/test-login', async (request) => {
      await request.session.regenerate();
      request.session.set('userId', 'user-1');
      return { ok: true };
    });
    app.get('/me', async (request) => ({ userId: request.session.get('userId') ?? null }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    assert.ok(address !== null && typeof address === 'object');
    port = address.port;
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('login through plugin sets secure session cookie', async () => {
    const response = await rawRequest(port, 'GET', '/test-login');
    const cookie = sessionCookieFrom(response.setCookies);
    assert.ok(cookie, `a session cookie is set (status ${response.status}: ${response.body})`);
    const line = response.setCookies.find((setCookie) => setCookie.startsWith('__Host-sid='));
    assert.match(line ?? '', /; HttpOnly; Secure; SameSite=Lax$/);
    const me = await rawRequest(port, 'GET', '/me', { cookie });
    assert.equal((JSON.parse(me.body) as { userId: string | null }).userId, 'user-1');
  });

  test('plugin rejects memory store for sessions', async () => {
    const other = Fastify();
    await assert.rejects(
      async () => {
        await other.register(harden, { session: { secret: SECRET }, store: { memory: true } });
        await other.ready();
      },
      { name: 'HardenConfigError', option: 'store' },
    );
    await other.close();
  });
});
