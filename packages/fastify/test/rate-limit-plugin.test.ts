import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import harden from '@harden/fastify';
import Fastify from 'fastify';
import { send, statuses } from './rate-limit-helpers.js';

const app = Fastify();
after(async () => {
  await app.close();
});

test('whole plugin limits routes and offers the guard', async () => {
  await app.register(harden, { session: false, store: { memory: true }, rateLimit: { default: '2/minute' } });
  app.get('/', async () => ({ ok: true }));
  app.get('/healthz', { config: { harden: { rateLimit: 'exempt' } } }, async () => 'ok');
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  assert.ok(address !== null && typeof address === 'object');
  const url = `http://127.0.0.1:${address.port}`;

  assert.deepEqual(await statuses(3, url, { headers: { accept: 'application/json' } }), [200, 200, 429]);
  const refused = await send(url, { headers: { accept: 'application/json' } });
  assert.equal(refused.headers['ratelimit-policy'], '"default";q=2;w=60');
  assert.ok(refused.headers['retry-after']);
  assert.deepEqual(await statuses(3, `${url}/healthz`), [200, 200, 200]);

  assert.equal(typeof app.harden.bruteForce.login.check, 'function');
  assert.equal(typeof app.harden.bruteForce.passwordReset.check, 'function');
});

test('whole plugin rejects a bad rate at registration', async () => {
  const other = Fastify();
  await assert.rejects(
    async () => {
      await other.register(harden, {
        session: false,
        store: { memory: true },
        rateLimit: { default: '300/minit' },
      });
      await other.ready();
    },
    {
      name: 'HardenConfigError',
      message: /^Invalid option rateLimit\.default = "300\/minit": "minit" is not a unit of time/,
    },
  );
  await other.close();
});
