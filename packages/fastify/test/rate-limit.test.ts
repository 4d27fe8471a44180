import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import Fastify from 'fastify';
import { registerRateLimit, resolveRateLimitOptions } from '../src/rate-limit.js';
import { openStore } from '../src/store.js';
import { send, startApp, statuses, type TestApp } from './rate-limit-helpers.js';

const apps: TestApp[] = [];
after(async () => {
  for (const started of apps) await started.app.close();
});

async function start(options: Parameters<typeof startApp>[0]): Promise<TestApp> {
  const started = await startApp(options);
  apps.push(started);
  return started;
}

/** Adds a login-style route (POST /login, 3 a minute) and an exempt health check. */
function loginRoutes(app: TestApp['app']): void {
  app.post('/login', { config: { harden: { rateLimit: '3/minute' } } }, async () => ({ signedIn: false }));
  app.get('/healthz', { config: { harden: { rateLimit: 'exempt' } } }, async () => 'ok');
  app.get('/', async () => ({ ok: true }));
}

describe('login-style limit exceeded', () => {
  test('fourth login gets 429 with Retry-After', async () => {
    const { url } = await start({ routes: loginRoutes });
    assert.deepEqual(await statuses(3, `${url}/login`, { method: 'POST' }), [200, 200, 200]);

    const refused = await send(`${url}/login`, { method: 'POST', headers: { accept: 'application/json' } });
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter), `Retry-After ${refused.headers['retry-after']} is an integer`);
    assert.ok(retryAfter >= 1);
    assert.ok(retryAfter <= 60);
  });

  test('429 carries RateLimit-Policy and RateLimit', async () => {
    const { url } = await start({ routes: loginRoutes });
    const first = await send(`${url}/login`, { method: 'POST' });
    assert.equal(first.headers['ratelimit-policy'], '"default";q=300;w=60, "route";q=3;w=60');
    assert.match(String(first.headers.ratelimit), /^"default";r=299;t=\d+, "route";r=2;t=\d+$/);

    await statuses(2, `${url}/login`, { method: 'POST' });
    const refused = await send(`${url}/login`, { method: 'POST' });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['ratelimit-policy'], '"default";q=300;w=60, "route";q=3;w=60');
    assert.match(String(refused.headers.ratelimit), /^"default";r=296;t=\d+, "route";r=0;t=\d+$/);
  });

  test('JSON problem for API clients', async () => {
    const { url } = await start({ routes: loginRoutes });
    await statuses(3, `${url}/login`, { method: 'POST' });
    const refused = await send(`${url}/login`, { method: 'POST', headers: { accept: 'application/json' } });
    assert.equal(refused.status, 429);
    assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
    const problem = JSON.parse(refused.body) as Record<string, unknown>;
    assert.equal(problem.status, 429);
    assert.equal(problem.reason, 'rate-limited');
    assert.equal(problem.detail, 'Too many requests.');
  });

  test('HTML page for browsers', async () => {
    const { url } = await start({ routes: loginRoutes });
    await statuses(3, `${url}/login`, { method: 'POST' });
    const refused = await send(`${url}/login`, {
      method: 'POST',
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    assert.equal(refused.status, 429);
    assert.match(String(refused.headers['content-type']), /^text\/html/);
    assert.match(refused.body, /<h1>429 Too Many Requests<\/h1>/);
  });

  test('one exceeded log line per refused request', async () => {
    const started = await start({ routes: loginRoutes });
    await statuses(5, `${started.url}/login`, { method: 'POST' });
    const lines = started.events('rate_limit.exceeded');
    assert.equal(lines.length, 2);
    assert.equal(lines[0]?.route, '/login');
    assert.equal(lines[0]?.limit, 'route');
    assert.equal(lines[0]?.rate, '3/minute');
  });

  test('onRejection re-renders the form with typed input', async () => {
    const { url } = await start({
      routes: (app) => {
        app.addContentTypeParser(
          'application/x-www-form-urlencoded',
          { parseAs: 'string' },
          (_request, body, done) => {
            done(null, Object.fromEntries(new URLSearchParams(String(body))));
          },
        );
        loginRoutes(app);
      },
      onRejection: (rejection, request, reply) => {
        const body = (request.body ?? {}) as { email?: string; password?: string };
        void reply
          .type('text/html')
          .send(
            `<form><input name="email" value="${body.email ?? ''}"><input name="password" value=""></form><p>wait ${rejection.details?.retryAfterSeconds}s</p>`,
          );
        return true;
      },
    });
    const form = {
      method: 'POST' as const,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'email=ann%40example.com&password=hunter2',
    };
    await statuses(3, `${url}/login`, form);
    const refused = await send(`${url}/login`, form);
    assert.equal(refused.status, 429);
    assert.match(refused.body, /value="ann@example.com"/);
    assert.doesNotMatch(refused.body, /hunter2/);
    assert.match(refused.body, /wait \d+s/);
    assert.ok(refused.headers['retry-after']);
  });
});

describe('route limits', () => {
  test('exempt route is never limited and has no headers', async () => {
    const { url } = await start({ rateLimit: { default: '2/minute' }, routes: loginRoutes });
    assert.deepEqual(await statuses(5, `${url}/healthz`), [200, 200, 200, 200, 200]);
    const reply = await send(`${url}/healthz`);
    assert.equal(reply.headers['ratelimit-policy'], undefined);
    assert.equal(reply.headers.ratelimit, undefined);
  });

  test('default limit applies to every other route', async () => {
    const { url } = await start({ rateLimit: { default: '2/minute' }, routes: loginRoutes });
    assert.deepEqual(await statuses(3, `${url}/`), [200, 200, 429]);
  });

  test('unknown paths count against the default', async () => {
    const { url } = await start({ rateLimit: { default: '2/minute' }, routes: loginRoutes });
    assert.deepEqual(await statuses(3, `${url}/no-such-page`), [404, 404, 429]);
  });

  test('several windows all apply', async () => {
    const { url } = await start({
      routes: (app) =>
        app.post('/reset', { config: { harden: { rateLimit: ['5/minute', '2/day'] } } }, async () => 'sent'),
    });
    const first = await send(`${url}/reset`, { method: 'POST' });
    assert.equal(
      first.headers['ratelimit-policy'],
      '"default";q=300;w=60, "route-60s";q=5;w=60, "route-86400s";q=2;w=86400',
    );
    assert.deepEqual(await statuses(2, `${url}/reset`, { method: 'POST' }), [200, 429]);
  });

  test('shared limit counts across routes', async () => {
    const { url } = await start({
      rateLimit: { limits: { auth: '3/minute' } },
      routes: (app) => {
        app.post('/login', { config: { harden: { rateLimit: { shared: 'auth' } } } }, async () => 'login');
        app.post(
          '/password-reset',
          { config: { harden: { rateLimit: { shared: 'auth' } } } },
          async () => 'reset',
        );
      },
    });
    assert.deepEqual(await statuses(2, `${url}/login`, { method: 'POST' }), [200, 200]);
    assert.deepEqual(await statuses(2, `${url}/password-reset`, { method: 'POST' }), [200, 429]);
    const refused = await send(`${url}/login`, { method: 'POST' });
    assert.equal(refused.status, 429);
    assert.match(String(refused.headers['ratelimit-policy']), /"auth";q=3;w=60/);
  });

  test('route limits count per route', async () => {
    const { url } = await start({
      routes: (app) => {
        app.post('/a', { config: { harden: { rateLimit: '1/minute' } } }, async () => 'a');
        app.post('/b', { config: { harden: { rateLimit: '1/minute' } } }, async () => 'b');
      },
    });
    assert.equal((await send(`${url}/a`, { method: 'POST' })).status, 200);
    assert.equal((await send(`${url}/b`, { method: 'POST' })).status, 200);
    assert.equal((await send(`${url}/a`, { method: 'POST' })).status, 429);
  });
});

describe('client key from the connection', () => {
  const spoofHeaders: ReadonlyArray<[string, (index: number) => string]> = [
    ['x-forwarded-for', (index) => `203.0.113.${index}`],
    ['x-real-ip', (index) => `203.0.113.${index}`],
    ['forwarded', (index) => `for=203.0.113.${index}`],
    ['true-client-ip', (index) => `203.0.113.${index}`],
    ['cf-connecting-ip', (index) => `203.0.113.${index}`],
    ['x-client-ip', (index) => `203.0.113.${index}`],
  ];
  for (const [header, value] of spoofHeaders) {
    test(`rotating ${header} without trustProxy: one bucket`, async () => {
      const { url } = await start({ rateLimit: { default: '3/minute' } });
      const codes: number[] = [];
      for (let index = 1; index <= 5; index++)
        codes.push((await send(url, { headers: { [header]: value(index) } })).status);
      assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    });
  }

  test('trusted proxy: the address it saw is the key', async () => {
    const { url } = await start({ rateLimit: { default: '2/minute' }, trustProxy: '127.0.0.1' });
    assert.deepEqual(
      await statuses(3, url, { headers: { 'x-forwarded-for': '198.51.100.7' } }),
      [200, 200, 429],
    );
    assert.equal((await send(url, { headers: { 'x-forwarded-for': '198.51.100.8' } })).status, 200);
  });

  test('trusted proxy: a hop the client prepends picks no new bucket', async () => {
    const { url } = await start({ rateLimit: { default: '2/minute' }, trustProxy: '127.0.0.1' });
    const codes: number[] = [];
    for (let index = 1; index <= 4; index++) {
      // The client sends `X-Forwarded-For: 10.0.0.N`; the proxy appends the address it saw.
      codes.push(
        (await send(url, { headers: { 'x-forwarded-for': `10.0.0.${index}, 198.51.100.7` } })).status,
      );
    }
    assert.deepEqual(codes, [200, 200, 429, 429]);
  });

  // Fastify 5.12.8 maps a numeric trustProxy to "trust no peer" (getTrustProxyFn in lib/request.js), so
  // behind a proxy every client gets the proxy's own address and bucket. The same two clients behind a
  // proxy listed by address get a bucket each.
  test('trustProxy hop count 1: two clients behind the proxy share the proxy bucket', async () => {
    const routes = (app: TestApp['app']) => app.get('/', async (request) => ({ ip: request.ip }));
    const clients = ['198.51.100.1', '198.51.100.2'];
    const hopCount = await start({ rateLimit: { default: '2/minute' }, trustProxy: 1, routes });
    const seen: Array<[number, string]> = [];
    for (const client of [...clients, ...clients]) {
      const reply = await send(hopCount.url, { headers: { 'x-forwarded-for': client } });
      seen.push([reply.status, reply.status === 200 ? (JSON.parse(reply.body) as { ip: string }).ip : '']);
    }
    assert.deepEqual(seen, [
      [200, '127.0.0.1'],
      [200, '127.0.0.1'],
      [429, ''],
      [429, ''],
    ]);

    const listed = await start({ rateLimit: { default: '2/minute' }, trustProxy: '127.0.0.1', routes });
    const codes: number[] = [];
    for (const client of [...clients, ...clients]) {
      codes.push((await send(listed.url, { headers: { 'x-forwarded-for': client } })).status);
    }
    assert.deepEqual(codes, [200, 200, 200, 200]);
  });

  test('rotating addresses inside one IPv6 /64: one bucket', async () => {
    const { url } = await start({ rateLimit: { default: '3/minute' }, trustProxy: '127.0.0.1' });
    const codes: number[] = [];
    for (const address of [
      '2001:db8:5:6::1',
      '2001:db8:5:6::2',
      '2001:db8:5:6:ffff::9',
      '2001:db8:5:6:1:2:3:4',
    ]) {
      codes.push((await send(url, { headers: { 'x-forwarded-for': address } })).status);
    }
    assert.deepEqual(codes, [200, 200, 200, 429]);
  });

  test('another IPv6 /64: a new bucket', async () => {
    const { url } = await start({ rateLimit: { default: '1/minute' }, trustProxy: '127.0.0.1' });
    assert.equal((await send(url, { headers: { 'x-forwarded-for': '2001:db8:5:6::1' } })).status, 200);
    assert.equal((await send(url, { headers: { 'x-forwarded-for': '2001:db8:5:6::2' } })).status, 429);
    assert.equal((await send(url, { headers: { 'x-forwarded-for': '2001:db8:5:7::1' } })).status, 200);
  });

  test('::ffff:, upper-case and expanded spellings: one bucket', async () => {
    const { url } = await start({ rateLimit: { default: '4/minute' }, trustProxy: '127.0.0.1' });
    const spellings = [
      '192.0.2.5',
      '::ffff:192.0.2.5',
      '::FFFF:C000:0205',
      '0:0:0:0:0:ffff:c000:205',
      '[::ffff:192.0.2.5]:1234',
    ];
    const codes: number[] = [];
    for (const address of spellings)
      codes.push((await send(url, { headers: { 'x-forwarded-for': address } })).status);
    assert.deepEqual(codes, [200, 200, 200, 200, 429]);

    const ipv6 = ['2001:DB8:9::1', '2001:0db8:0009:0000:0000:0000:0000:0001', '2001:db8:9:0::abcd'];
    const ipv6Codes: number[] = [];
    for (const address of ipv6)
      ipv6Codes.push((await send(url, { headers: { 'x-forwarded-for': address } })).status);
    assert.deepEqual(ipv6Codes, [200, 200, 200]);
    assert.equal((await send(url, { headers: { 'x-forwarded-for': '2001:db8:9::ffff' } })).status, 200);
    assert.equal((await send(url, { headers: { 'x-forwarded-for': '2001:db8:9:0:1::1' } })).status, 429);
  });

  test('listening on ::1 keys the loopback /64', async (t) => {
    const started = await start({ rateLimit: { default: '2/minute' }, host: '::1' }).catch(
      (error: unknown) => {
        t.skip(`no IPv6 loopback: ${String(error)}`);
        return undefined;
      },
    );
    if (!started) return;
    assert.deepEqual(await statuses(3, started.url), [200, 200, 429]);
  });
});

describe('option validation', () => {
  const cases: ReadonlyArray<[string, unknown, RegExp]> = [
    [
      'bad default rate',
      { default: '5/fortnight' },
      /^Invalid option rateLimit\.default = "5\/fortnight": "fortnight" is not a unit of time/,
    ],
    [
      'unknown option',
      { defualt: '5/minute' },
      /^Invalid option rateLimit\.defualt = "5\/minute": it is not a known option/,
    ],
    [
      'bad shared limit',
      { limits: { auth: ['5/minute', 'x'] } },
      /^Invalid option rateLimit\.limits\.auth\[1\] = "x"/,
    ],
    [
      'reserved limit name',
      { limits: { default: '5/minute' } },
      /^Invalid option rateLimit\.limits\.default = "default"/,
    ],
    [
      'unknown store error choice',
      { onStoreError: 'ignore' },
      /^Invalid option rateLimit\.onStoreError = "ignore": it must be 'memory-fallback' or 'reject'/,
    ],
    ['bad IPv6 prefix', { ipv6PrefixLength: 200 }, /^Invalid option rateLimit\.ipv6PrefixLength = 200/],
    ['tiny memory table', { memoryMaxKeys: 10 }, /^Invalid option rateLimit\.memoryMaxKeys = 10/],
    [
      'bad brute-force rate',
      { bruteForce: { login: { perAccount: '10' } } },
      /^Invalid option rateLimit\.bruteForce\.login\.perAccount = "10"/,
    ],
    [
      'block shorter than window',
      { bruteForce: { login: { maxBlockSeconds: 60 } } },
      /^Invalid option rateLimit\.bruteForce\.login\.maxBlockSeconds = 60/,
    ],
  ];
  for (const [name, options, message] of cases) {
    test(`rejects ${name}`, () => {
      assert.throws(() => resolveRateLimitOptions(options as never), { name: 'HardenConfigError', message });
    });
  }

  async function addRoute(rateLimit: unknown): Promise<void> {
    const app = Fastify();
    const { store } = await openStore({ memory: true }, app.log);
    await registerRateLimit(app, resolveRateLimitOptions({ limits: { auth: '5/minute' } }), {
      store,
      publicOrigin: undefined,
      onRejection: undefined,
      production: false,
    });
    try {
      app.post('/login', { config: { harden: { rateLimit: rateLimit as never } } }, async () => 'x');
      await app.ready();
    } finally {
      await app.close();
    }
  }

  const routeCases: ReadonlyArray<[string, unknown, RegExp]> = [
    [
      'bad route rate',
      '5/moon',
      /^Invalid option route POST \/login config\.harden\.rateLimit = "5\/moon": "moon" is not a unit of time\. Fix: use second, minute, hour or day; or \{ shared: '<name>' \}/,
    ],
    [
      'unknown shared limit',
      { shared: 'signup' },
      /^Invalid option route POST \/login config\.harden\.rateLimit = \{"shared":"signup"\}: no shared limit is named "signup" \(defined: auth\)/,
    ],
    [
      'misspelled exempt',
      'exmept',
      /^Invalid option route POST \/login config\.harden\.rateLimit = "exmept".*or 'exempt' for no limit$/,
    ],
    [
      'object with extra keys',
      { shared: 'auth', points: 5 },
      /an object must be exactly \{ shared: <limit name> \}/,
    ],
    ['number', 5, /^Invalid option route POST \/login config\.harden\.rateLimit = 5/],
  ];
  for (const [name, rateLimit, message] of routeCases) {
    test(`route with ${name} fails when added`, async () => {
      await assert.rejects(addRoute(rateLimit), { name: 'HardenConfigError', message });
    });
  }
});
