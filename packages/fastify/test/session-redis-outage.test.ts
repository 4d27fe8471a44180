// A Redis outage: the test starts its own redis-server on port 6391, kills it and starts it again.
// Sessions respond with 503 (not 500) while it is down, the process stays up, one line is logged per
// outage and per recovery, and sessions work again once Redis is back.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { harden } from '@harden/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { createClient } from 'redis';
import {
  login,
  rawRequest,
  SECRET,
  type SessionApp,
  sleep,
  startSessionApp,
  waitFor,
} from './session-fixtures.js';

const PORT = 6391;
const URL = `redis://127.0.0.1:${PORT}/1`;

function startRedis(): ChildProcess {
  return spawn(
    'redis-server',
    ['--port', String(PORT), '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    {
      stdio: 'ignore',
    },
  );
}

async function stopRedis(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

async function redisAnswers(): Promise<boolean> {
  const client = createClient({ url: URL, socket: { reconnectStrategy: false, connectTimeout: 500 } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

describe('redis outage', () => {
  let redis: ChildProcess | undefined;
  let server: SessionApp;
  let plugin: FastifyInstance;
  let pluginPort: number;

  before(async () => {
    redis = startRedis();
    await waitFor('redis-server on 6391 to answer', redisAnswers);
    const keyPrefix = `harden-test:${randomBytes(6).toString('hex')}:`;
    server = await startSessionApp({ redis: URL, keyPrefix });

    // The same outage through the whole plugin, whose error handler writes the 503.
    plugin = Fastify();
    await plugin.register(harden, { session: { secret: SECRET }, store: { redis: URL, keyPrefix } });
    plugin.get('/test-login', async (request) => {
      await request.session.regenerate();
      request.session.set('userId', 'user-1');
      return { ok: true };
    });
    await plugin.listen({ port: 0, host: '127.0.0.1' });
    const address = plugin.server.address();
    if (address === null || typeof address === 'string') throw new Error('the plugin app has no TCP address');
    pluginPort = address.port;
  });
  after(async () => {
    await server?.close();
    await plugin?.close();
    await stopRedis(redis);
  });

  test('sessions answer 503 while redis is down and recover', async () => {
    const cookie = await login(server.port);

    await stopRedis(redis);
    await waitFor('the session layer to notice the outage', async () => {
      const response = await rawRequest(server.port, 'GET', '/me', { cookie, accept: 'application/json' });
      return response.status === 503;
    });

    const withCookie = await rawRequest(server.port, 'GET', '/me', { cookie, accept: 'application/json' });
    assert.equal(withCookie.status, 503);
    assert.equal(withCookie.headers['retry-after'], '5');
    assert.equal((JSON.parse(withCookie.body) as { reason: string }).reason, 'store-unavailable');

    const loginDuringOutage = await rawRequest(server.port, 'POST', '/login');
    assert.equal(loginDuringOutage.status, 503, 'a login that writes to the store gets 503, not 500');
    assert.doesNotMatch(
      loginDuringOutage.body,
      /\n\s+at |ECONNREFUSED|127\.0\.0\.1:6391/,
      'no stack or address',
    );
    assert.deepEqual(loginDuringOutage.setCookies, []);

    const pluginLogin = await rawRequest(pluginPort, 'GET', '/test-login', { accept: 'application/json' });
    assert.equal(pluginLogin.status, 503, 'the plugin error handler keeps the 503');
    assert.doesNotMatch(pluginLogin.body, /\n\s+at |ECONNREFUSED|127\.0\.0\.1:6391/);

    const untouched = await rawRequest(server.port, 'GET', '/public');
    assert.equal(untouched.status, 200, 'a request without a session cookie does not need the store');

    // Several reconnection attempts fail meanwhile; they are logged once, not each.
    await sleep(500);
    assert.equal(server.logs.filter((line) => line.event === 'store.redis_unavailable').length, 1);

    redis = startRedis();
    await waitFor('sessions to work again', async () => {
      const response = await rawRequest(server.port, 'GET', '/me', { cookie });
      return response.status === 200;
    });
    // The restarted Redis keeps no data (--save ''), so the old session is gone and is not adopted.
    const afterRestart = await rawRequest(server.port, 'GET', '/me', { cookie });
    assert.equal((JSON.parse(afterRestart.body) as { userId: string | null }).userId, null);
    const fresh = await login(server.port);
    assert.ok(fresh.startsWith('__Host-sid='));
    await waitFor('the plugin app to sign in again', async () => {
      const response = await rawRequest(pluginPort, 'GET', '/test-login');
      return response.status === 200;
    });
    assert.equal(server.logs.filter((line) => line.event === 'store.redis_recovered').length, 1);
  });
});
