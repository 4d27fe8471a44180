import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { clientKeyFromIp } from '@harden/core';
import { createClient } from 'redis';
import { SyncLimiter } from '../src/rate-limit/limiter.js';
import { MemoryCounterTable } from '../src/rate-limit/memory-counters.js';
import type { StoreOptions } from '../src/store.js';
import { send, startApp, uniqueRedisPrefix } from './rate-limit-helpers.js';

/** The Redis database these tests may write to, with keys under their own prefixes only. */
const REDIS_URL = 'redis://127.0.0.1:6379/2';
const childScript = new URL('./rate-limit-child.ts', import.meta.url).pathname;
const children = new Set<ChildProcess>();
const prefixes: string[] = [];
const tempDirs: string[] = [];

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  for (const prefix of prefixes) {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await redis.del(keys);
    }
  }
  await redis.close();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Starts an app in a child process on the given store and returns its URL. */
async function startChild(store: StoreOptions): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', childScript, JSON.stringify(store)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.add(child);
  let output = '';
  for await (const chunk of child.stdout) {
    output += String(chunk);
    if (output.includes('\n')) break;
  }
  const { port } = JSON.parse(output.split('\n')[0] ?? '{}') as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      children.delete(child);
    },
  };
}

async function login(url: string): Promise<number> {
  return (await send(`${url}/login`, { method: 'POST' })).status;
}

describe('shared counting across processes', () => {
  test('two processes on one Redis: 5 in total, not 10', async () => {
    const keyPrefix = uniqueRedisPrefix();
    prefixes.push(keyPrefix);
    const first = await startChild({ redis: REDIS_URL, keyPrefix });
    const second = await startChild({ redis: REDIS_URL, keyPrefix });
    const codes: number[] = [];
    for (let index = 0; index < 10; index++)
      codes.push(await login(index % 2 === 0 ? first.url : second.url));
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
    await Promise.all([first.stop(), second.stop()]);
  });

  test('two processes on one SQLite file: 5 in total', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'harden-rl-'));
    tempDirs.push(dir);
    const path = join(dir, 'harden.sqlite');
    const first = await startChild({ sqlite: path });
    const second = await startChild({ sqlite: path });
    const codes: number[] = [];
    for (let index = 0; index < 8; index++) codes.push(await login(index % 2 === 0 ? first.url : second.url));
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 429, 429, 429]);
    await Promise.all([first.stop(), second.stop()]);
  });
});

describe('counters survive a restart', () => {
  test('SQLite: same file after restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'harden-rl-'));
    tempDirs.push(dir);
    const store = { sqlite: join(dir, 'harden.sqlite') };

    const before = await startChild(store);
    assert.deepEqual(
      [await login(before.url), await login(before.url), await login(before.url)],
      [200, 200, 200],
    );
    await before.stop();

    const restarted = await startChild(store);
    assert.deepEqual(
      [await login(restarted.url), await login(restarted.url), await login(restarted.url)],
      [200, 200, 429],
    );
    await restarted.stop();
  });

  test('Redis: same prefix after restart', async () => {
    const keyPrefix = uniqueRedisPrefix();
    prefixes.push(keyPrefix);
    const store = { redis: REDIS_URL, keyPrefix };

    const before = await startChild(store);
    assert.deepEqual(
      [await login(before.url), await login(before.url), await login(before.url)],
      [200, 200, 200],
    );
    await before.stop();

    const restarted = await startChild(store);
    assert.deepEqual(
      [await login(restarted.url), await login(restarted.url), await login(restarted.url)],
      [200, 200, 429],
    );
    await restarted.stop();
  });
});

describe('memory store bounds', () => {
  test('flood of rotating IPv6 /64s stays bounded', () => {
    const table = new MemoryCounterTable(1000);
    const limiter = new SyncLimiter({ points: 10, duration: 60, keyPrefix: 'rl:default:60' }, table);
    for (let index = 0; index < 50_000; index++) {
      const address = `2001:db8:${(index >> 16).toString(16)}:${(index & 0xffff).toString(16)}::1`;
      limiter.hit(clientKeyFromIp(address));
    }
    assert.equal(table.size, 1000);
  });

  test('addresses inside one /64 take one entry', () => {
    const table = new MemoryCounterTable(1000);
    const limiter = new SyncLimiter({ points: 10, duration: 60, keyPrefix: 'rl:default:60' }, table);
    for (let index = 0; index < 5000; index++)
      limiter.hit(clientKeyFromIp(`2001:db8:1:2::${index.toString(16)}`));
    assert.equal(table.size, 1);
  });

  test('eviction forgets the oldest window first', () => {
    const table = new MemoryCounterTable(1000);
    const limiter = new SyncLimiter({ points: 3, duration: 60, keyPrefix: 'rl:default:60' }, table);
    for (let index = 0; index < 1000; index++) limiter.hit(`key-${index}`);
    limiter.hit('key-999');
    limiter.hit('newcomer');
    assert.equal(table.size, 1000);
    assert.equal(table.get('key-0', Date.now()), undefined);
    assert.equal(table.get('key-999', Date.now())?.points, 2);
    assert.equal(table.get('newcomer', Date.now())?.points, 1);
  });

  test('a new window moves the key to the back of the eviction order', () => {
    const table = new MemoryCounterTable(1000);
    const now = Date.now();
    table.upsert('early', 1, 1, false, now - 10);
    for (let index = 0; index < 998; index++) table.upsert(`key-${index}`, 1, 60_000, false, now);
    // The window of 'early' has ended, so this hit starts a new one and re-inserts it.
    table.upsert('early', 1, 60_000, false, now);
    table.upsert('next', 1, 60_000, false, now);
    table.upsert('overflow', 1, 60_000, false, now);
    assert.equal(table.size, 1000);
    assert.equal(table.get('early', now)?.points, 1);
    assert.equal(table.get('key-0', now), undefined);
  });
});

describe('every store counts without falling back', () => {
  const stores: ReadonlyArray<[string, () => StoreOptions]> = [
    ['memory', () => ({ memory: true })],
    [
      'SQLite',
      () => {
        const dir = mkdtempSync(join(tmpdir(), 'harden-rl-'));
        tempDirs.push(dir);
        return { sqlite: join(dir, 'harden.sqlite') };
      },
    ],
    [
      'Redis',
      () => {
        const keyPrefix = uniqueRedisPrefix();
        prefixes.push(keyPrefix);
        return { redis: REDIS_URL, keyPrefix };
      },
    ],
  ];

  for (const [name, storeOptions] of stores) {
    test(`${name}: limits and the login guard`, async () => {
      const started = await startApp({
        store: storeOptions(),
        trustProxy: '127.0.0.1',
        rateLimit: {
          default: '3/minute',
          bruteForce: { login: { perAccount: '2/hour', perClient: '5/hour' } },
        },
        routes: (app) => {
          app.get('/', async () => 'ok');
          app.post<{ Body: { password: string } }>(
            '/login',
            { config: { harden: { rateLimit: 'exempt' } } },
            async (request, reply) => {
              const attempt = await app.harden.bruteForce.login.check(request, 'ann@example.com');
              if (!attempt.allowed) return attempt.reject(reply);
              if (request.body.password !== 'right') {
                attempt.recordFailure();
                return reply.code(401).send();
              }
              await attempt.recordSuccess();
              return 'signed in';
            },
          );
        },
      });
      try {
        const codes: number[] = [];
        for (let index = 0; index < 4; index++) codes.push((await send(started.url)).status);
        assert.deepEqual(codes, [200, 200, 200, 429]);

        const login = (password: string, address: string) =>
          send(`${started.url}/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
            body: JSON.stringify({ password }),
          }).then((reply) => reply.status);
        // The success refunds its point on the account, so two failures are still allowed after it.
        assert.deepEqual(
          [
            await login('right', '192.0.2.1'),
            await login('wrong', '192.0.2.2'),
            await login('wrong', '192.0.2.3'),
            await login('right', '192.0.2.1'),
          ],
          [200, 401, 401, 429],
        );
        assert.equal(started.events('rate_limit.store_unavailable').length, 0);
      } finally {
        await started.app.close();
      }
    });
  }
});
