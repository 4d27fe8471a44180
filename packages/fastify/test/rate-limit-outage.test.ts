import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { send, startApp, type TestApp } from './rate-limit-helpers.js';

/** Ports of the Redis servers this file starts and stops itself; nothing else runs there. */
const FALLBACK_PORT = 6392;
const REJECT_PORT = 6393;

const servers = new Set<ChildProcess>();
const apps: TestApp[] = [];
after(async () => {
  for (const started of apps) await started.app.close();
  for (const server of servers) server.kill('SIGKILL');
});

/** Starts a throw-away redis-server (no persistence) and waits until it replies to PING. */
async function startRedis(port: number): Promise<() => Promise<void>> {
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  servers.add(server);
  const probe = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } });
  probe.on('error', () => {});
  for (let tries = 0; ; tries++) {
    try {
      await probe.connect();
      await probe.ping();
      await probe.close();
      break;
    } catch (error) {
      if (tries > 50) throw error;
      await sleep(100);
    }
  }
  return async () => {
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    await exited;
    servers.delete(server);
  };
}

/** Sends requests until `done` holds (at most 15 s) and returns every status seen meanwhile. */
async function sendUntil(url: string, done: () => boolean): Promise<number[]> {
  const codes: number[] = [];
  for (let tries = 0; tries < 75 && !done(); tries++) {
    codes.push((await send(url)).status);
    await sleep(200);
  }
  return codes;
}

describe('Redis stopped mid-test', () => {
  test('memory fallback keeps limiting, then recovers', async () => {
    let stopRedis = await startRedis(FALLBACK_PORT);
    const started = await startApp({
      store: { redis: `redis://127.0.0.1:${FALLBACK_PORT}/0` },
      rateLimit: { default: '3/minute', onStoreError: 'memory-fallback' },
    });
    apps.push(started);

    assert.deepEqual([(await send(started.url)).status, (await send(started.url)).status], [200, 200]);

    await stopRedis();
    const duringOutage: number[] = [];
    for (let index = 0; index < 5; index++) duringOutage.push((await send(started.url)).status);
    // Each process counts afresh in memory: 3 allowed, then refused. Never a 500, never unlimited.
    assert.deepEqual(duringOutage, [200, 200, 200, 429, 429]);
    assert.equal(started.events('rate_limit.store_unavailable').length, 1);

    stopRedis = await startRedis(FALLBACK_PORT);
    const whileReconnecting = await sendUntil(
      started.url,
      () => started.events('rate_limit.store_recovered').length > 0,
    );
    assert.ok(
      whileReconnecting.every((code) => code === 200 || code === 429),
      `statuses ${whileReconnecting.join(',')}`,
    );
    assert.equal(started.events('rate_limit.store_recovered').length, 1);
    assert.equal(started.events('rate_limit.store_unavailable').length, 1);

    // Redis counts again: the restarted server is empty, so its count starts from the recovery hit.
    const redis = createClient({ url: `redis://127.0.0.1:${FALLBACK_PORT}/0` });
    await redis.connect();
    const keys = await redis.keys('harden:rl:default:60:*');
    assert.deepEqual(keys, ['harden:rl:default:60:127.0.0.1']);
    await redis.close();
    await started.app.close();
    await stopRedis();
  });

  test("'reject' answers 503, then recovers", async () => {
    let stopRedis = await startRedis(REJECT_PORT);
    const started = await startApp({
      store: { redis: `redis://127.0.0.1:${REJECT_PORT}/0` },
      rateLimit: { default: '3/minute', onStoreError: 'reject' },
    });
    apps.push(started);
    assert.equal((await send(started.url)).status, 200);

    await stopRedis();
    const refused = await send(started.url, { headers: { accept: 'application/json' } });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '5');
    assert.equal((JSON.parse(refused.body) as { reason: string }).reason, 'rate-limit-store-unavailable');
    const html = await send(started.url, { headers: { accept: 'text/html' } });
    assert.equal(html.status, 503);
    assert.match(html.body, /503 Service Unavailable/);
    assert.equal(started.events('rate_limit.store_unavailable').length, 1);
    assert.equal(started.events('rate_limit.unavailable').length, 2);

    stopRedis = await startRedis(REJECT_PORT);
    const whileReconnecting = await sendUntil(
      started.url,
      () => started.events('rate_limit.store_recovered').length > 0,
    );
    assert.ok(
      whileReconnecting.every((code) => code === 200 || code === 503),
      `statuses ${whileReconnecting.join(',')}`,
    );
    assert.equal(started.events('rate_limit.store_recovered').length, 1);
    assert.equal((await send(started.url)).status, 200);
    await started.app.close();
    await stopRedis();
  });

  test('login guard keeps counting during the outage', async () => {
    const stopRedis = await startRedis(FALLBACK_PORT);
    const started = await startApp({
      store: { redis: `redis://127.0.0.1:${FALLBACK_PORT}/0` },
      rateLimit: { bruteForce: { login: { perAccount: '2/hour' } } },
      routes: (app) => {
        app.post('/login', async (request, reply) => {
          const attempt = await app.harden.bruteForce.login.check(request, 'ann@example.com');
          if (!attempt.allowed) return attempt.reject(reply);
          attempt.recordFailure();
          return reply.code(401).send();
        });
      },
    });
    apps.push(started);
    await stopRedis();
    const codes: number[] = [];
    for (let index = 0; index < 4; index++)
      codes.push((await send(`${started.url}/login`, { method: 'POST' })).status);
    assert.deepEqual(codes, [401, 401, 429, 429]);
    assert.equal(started.events('rate_limit.store_unavailable').length, 1);
    await started.app.close();
  });
});

describe('Redis hung mid-test', () => {
  test('a stopped process times out into the fallback', async () => {
    const stopRedis = await startRedis(FALLBACK_PORT);
    const server = [...servers].at(-1);
    assert.ok(server?.pid);
    const started = await startApp({
      store: { redis: `redis://127.0.0.1:${FALLBACK_PORT}/0` },
      rateLimit: { default: '3/minute', onStoreError: 'memory-fallback' },
    });
    apps.push(started);
    assert.equal((await send(started.url)).status, 200);

    // SIGSTOP keeps the TCP connection open but Redis never replies.
    process.kill(server.pid, 'SIGSTOP');
    try {
      const codes: number[] = [];
      for (let index = 0; index < 4; index++) codes.push((await send(started.url)).status);
      assert.deepEqual(codes, [200, 200, 200, 429]);
      assert.equal(started.events('rate_limit.store_unavailable').length, 1);
      assert.match(
        String(started.events('rate_limit.store_unavailable')[0]?.reason),
        /did not reply within 1000 ms/,
      );
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
    await started.app.close();
    await stopRedis();
  });
});
