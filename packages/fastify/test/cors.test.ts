import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { HardenContext } from '../src/context.js';
import { type CorsOptions, registerCors, resolveCorsOptions } from '../src/cors.js';
import { captureLogs, corsHeaderNames, type RawResponse, send, variesByOrigin } from './csrf-helpers.js';

const TRUSTED = 'https://trusted.example';

const context: HardenContext = {
  store: { kind: 'memory' },
  publicOrigin: undefined,
  onRejection: undefined,
  production: false,
};

async function startApp(options: CorsOptions) {
  const logs = captureLogs();
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } });
  const resolved = resolveCorsOptions(options);
  await app.register(fp(async (instance) => registerCors(instance, resolved, context)));

  // A stand-in for the rate limiter, which Harden registers after CORS in the same onRequest phase.
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/limited')
      return reply.code(429).header('retry-after', '60').send({ error: 'limited' });
  });
  app.get('/api/me', async () => ({ email: 'user@example.test' }));
  app.post('/api/notes', async () => ({ saved: true }));
  app.get('/boom', async () => {
    throw new Error('handler failed');
  });
  app.get('/limited', async () => 'never');
  app.get('/no-cors', { config: { harden: { cors: { enabled: false } } } }, async () => 'plain');
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, port, logs };
}

describe('cors for a trusted origin', () => {
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    ({ app, port } = await startApp({ origins: [TRUSTED, 'http://127.0.0.1:5173'] }));
  });
  after(() => app.close());

  test('trusted origin gets itself and credentials', async () => {
    const response = await send(port, 'GET', '/api/me', [['origin', TRUSTED]]);
    assert.equal(response.status, 200);
    assert.equal(response.headers['access-control-allow-origin'], TRUSTED);
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
    assert.equal(
      response.headers['access-control-expose-headers'],
      'retry-after, ratelimit, ratelimit-policy',
    );
    assert.ok(variesByOrigin(response));
  });

  test('second trusted origin with port', async () => {
    const response = await send(port, 'GET', '/api/me', [['origin', 'http://127.0.0.1:5173']]);
    assert.equal(response.headers['access-control-allow-origin'], 'http://127.0.0.1:5173');
  });

  test('trusted preflight allowed', async () => {
    const response = await send(port, 'OPTIONS', '/api/notes', [
      ['origin', TRUSTED],
      ['access-control-request-method', 'POST'],
      ['access-control-request-headers', 'content-type, x-csrf-token'],
    ]);
    assert.equal(response.status, 204);
    assert.equal(response.headers['access-control-allow-origin'], TRUSTED);
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
    assert.equal(response.headers['access-control-allow-methods'], 'GET, HEAD, POST, PUT, PATCH, DELETE');
    assert.equal(response.headers['access-control-allow-headers'], 'content-type, x-csrf-token');
    assert.equal(response.headers['access-control-max-age'], '600');
    assert.ok(variesByOrigin(response));
  });

  test('404 to trusted origin carries cors', async () => {
    const response = await send(port, 'GET', '/missing', [['origin', TRUSTED]]);
    assert.equal(response.status, 404);
    assert.equal(response.headers['access-control-allow-origin'], TRUSTED);
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
  });

  test('500 to trusted origin carries cors', async () => {
    const response = await send(port, 'GET', '/boom', [['origin', TRUSTED]]);
    assert.equal(response.status, 500);
    assert.equal(response.headers['access-control-allow-origin'], TRUSTED);
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
  });

  test('429 to trusted origin carries cors', async () => {
    const response = await send(port, 'GET', '/limited', [['origin', TRUSTED]]);
    assert.equal(response.status, 429);
    assert.equal(response.headers['access-control-allow-origin'], TRUSTED);
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
  });

  test('route with cors disabled sends none', async () => {
    const response = await send(port, 'GET', '/no-cors', [['origin', TRUSTED]]);
    assert.equal(response.status, 200);
    assert.deepEqual(corsHeaderNames(response), []);
  });

  test('padding whitespace is not part of origin', async () => {
    // HTTP strips spaces and tabs around a header value before the app sees it, so this is the trusted origin.
    const response = await send(port, 'GET', '/api/me', [['origin', ` ${TRUSTED}\t`]]);
    assert.equal(response.headers['access-control-allow-origin'], TRUSTED);
  });
});

describe('cors for untrusted origins', () => {
  let app: FastifyInstance;
  let port: number;
  let logs: ReturnType<typeof captureLogs>;

  before(async () => {
    ({ app, port, logs } = await startApp({ origins: [TRUSTED] }));
  });
  after(() => app.close());

  const attacks: Array<[string, string]> = [
    ['suffix attack', 'https://trusted.example.evil.test'],
    ['prefix attack', 'https://eviltrusted.example'],
    ['other scheme', 'http://trusted.example'],
    ['other port', 'https://trusted.example:8443'],
    ['null origin', 'null'],
    ['trailing slash', 'https://trusted.example/'],
    ['path', 'https://trusted.example/app'],
    ['upper-case spelling', 'https://TRUSTED.EXAMPLE'],
    ['mixed-case scheme', 'HTTPS://trusted.example'],
    ['explicit default port', 'https://trusted.example:443'],
    ['userinfo', 'https://trusted.example@evil.test'],
    ['cyrillic look-alike', Buffer.from('https://truѕted.example', 'utf8').toString('latin1')],
    ['punycode look-alike', 'https://xn--truted-2of.example'],
    ['fullwidth dot look-alike', Buffer.from('https://trusted。example', 'utf8').toString('latin1')],
    ['trailing dot', 'https://trusted.example.'],
    ['inner whitespace', 'https://trusted .example'],
    ['percent-encoded host', 'https://%74rusted.example'],
    ['two origins in one header', `${TRUSTED}, https://evil.test`],
    ['unrelated origin', 'https://evil.test'],
  ];

  for (const [name, origin] of attacks) {
    test(`${name} gets no cors header`, async () => {
      const response = await send(port, 'GET', '/api/me', [['origin', origin]]);
      assert.equal(response.status, 200);
      assert.deepEqual(corsHeaderNames(response), []);
      assert.ok(variesByOrigin(response));
    });
  }

  test('two origin headers get no cors header', async () => {
    const response = await send(port, 'GET', '/api/me', [
      ['origin', TRUSTED],
      ['origin', TRUSTED],
    ]);
    assert.deepEqual(corsHeaderNames(response), []);
  });

  test('untrusted then trusted origin headers get none', async () => {
    const response = await send(port, 'GET', '/api/me', [
      ['origin', 'https://evil.test'],
      ['origin', TRUSTED],
    ]);
    assert.deepEqual(corsHeaderNames(response), []);
  });

  test('absent origin gets vary only', async () => {
    const response = await send(port, 'GET', '/api/me');
    assert.deepEqual(corsHeaderNames(response), []);
    assert.ok(variesByOrigin(response));
  });

  test('404 and 500 vary by origin', async () => {
    for (const path of ['/missing', '/boom']) {
      const response = await send(port, 'GET', path, [['origin', 'https://evil.test']]);
      assert.deepEqual(corsHeaderNames(response), [], path);
      assert.ok(variesByOrigin(response), path);
    }
  });

  for (const [name, origin] of attacks) {
    test(`${name} preflight refused`, async () => {
      const before = logs.lines.length;
      const response = await send(port, 'OPTIONS', '/api/notes', [
        ['origin', origin],
        ['access-control-request-method', 'POST'],
      ]);
      assert.equal(response.status, 403);
      assert.deepEqual(corsHeaderNames(response), []);
      assert.ok(variesByOrigin(response));
      const refusals = logs.lines.slice(before).filter((line) => line.event === 'cors.origin_refused');
      assert.equal(refusals.length, 1);
      assert.equal(refusals[0]?.reason, 'untrusted-origin');
      assert.equal(refusals[0]?.level, 40);
    });
  }

  test('refused preflight body is a problem', async () => {
    const response = await send(port, 'OPTIONS', '/api/notes', [
      ['origin', 'https://evil.test'],
      ['access-control-request-method', 'DELETE'],
      ['accept', 'application/json'],
    ]);
    assert.equal(response.status, 403);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assert.equal(JSON.parse(response.body).reason, 'untrusted-origin');
  });
});

describe('cors origin pattern', () => {
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    ({ app, port } = await startApp({
      dangerouslyAllowOriginPattern: /https:\/\/[a-z0-9-]+\.trusted\.example/,
    }));
  });
  after(() => app.close());

  test('subdomain matching pattern trusted', async () => {
    const response = await send(port, 'GET', '/api/me', [['origin', 'https://app.trusted.example']]);
    assert.equal(response.headers['access-control-allow-origin'], 'https://app.trusted.example');
  });

  for (const origin of [
    'https://app.trusted.example.evil.test',
    'https://evil.test/https://app.trusted.example',
    'https://app.trusted.example:8443',
    'https://APP.trusted.example',
    'https://trusted.example',
  ]) {
    test(`pattern rejects ${origin}`, async () => {
      const response = await send(port, 'GET', '/api/me', [['origin', origin]]);
      assert.deepEqual(corsHeaderNames(response), []);
    });
  }
});

describe('cors without credentials', () => {
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    ({ app, port } = await startApp({
      origins: [TRUSTED],
      credentials: false,
      exposedHeaders: ['RateLimit'],
    }));
  });
  after(() => app.close());

  test('no credentials header', async () => {
    const response: RawResponse = await send(port, 'GET', '/api/me', [['origin', TRUSTED]]);
    assert.equal(response.headers['access-control-allow-origin'], TRUSTED);
    assert.equal(response.headers['access-control-allow-credentials'], undefined);
    assert.equal(response.headers['access-control-expose-headers'], 'RateLimit');
  });
});

describe('cors registration errors', () => {
  const cases: Array<[string, unknown, string]> = [
    [
      'wildcard with credentials',
      { origins: ['*'] },
      'Invalid option cors.origins[0] = "*": a wildcard trusts every site on the web. Fix: list each origin exactly, such as \'https://app.example\'',
    ],
    [
      'wildcard subdomain in an origin',
      { origins: ['https://*.example'] },
      'Invalid option cors.origins[0] = "https://*.example": a * in an origin is not a wildcard: the origin would match only a request whose Origin header contains the * itself, so it trusts no real site. Fix: list each origin exactly, such as \'https://a.app.example\', or give a RegExp for the subdomains in cors.dangerouslyAllowOriginPattern',
    ],
    [
      'wildcard port in an origin',
      { origins: ['https://ok.example', 'https://app.example:*'] },
      'Invalid option cors.origins[1] = "https://app.example:*": a * in an origin is not a wildcard: the origin would match only a request whose Origin header contains the * itself, so it trusts no real site. Fix: list each origin exactly, such as \'https://a.app.example\', or give a RegExp for the subdomains in cors.dangerouslyAllowOriginPattern',
    ],
    [
      'wildcard host without scheme',
      { origins: ['*.example'] },
      'Invalid option cors.origins[0] = "*.example": a * in an origin is not a wildcard: the origin would match only a request whose Origin header contains the * itself, so it trusts no real site. Fix: list each origin exactly, such as \'https://a.app.example\', or give a RegExp for the subdomains in cors.dangerouslyAllowOriginPattern',
    ],
    [
      'null in list',
      { origins: ['null'] },
      "Invalid option cors.origins[0] = \"null\": the 'null' origin is shared by sandboxed iframes, data: URLs and local files, so any site can send it. Fix: remove 'null' and list the real origins of the front end",
    ],
    [
      'reflect any origin',
      { origins: true },
      "Invalid option cors.origins = true: it trusts every origin, and with credentials any website could read responses made with the user's cookies. Fix: list the exact origins, such as ['https://app.example']",
    ],
    [
      'wildcard string with credentials',
      { origins: '*' },
      "Invalid option cors.origins = \"*\": it trusts every origin, and with credentials any website could read responses made with the user's cookies. Fix: list the exact origins, such as ['https://app.example']",
    ],
    [
      'trailing slash',
      { origins: ['https://trusted.example/'] },
      'Invalid option cors.origins[0] = "https://trusted.example/": an origin is only scheme, host and port, with no path, query, fragment or trailing slash. Fix: write it as \'https://trusted.example\'',
    ],
    [
      'path',
      { origins: ['https://ok.example', 'https://trusted.example/app'] },
      'Invalid option cors.origins[1] = "https://trusted.example/app": an origin is only scheme, host and port, with no path, query, fragment or trailing slash. Fix: write it as \'https://trusted.example\'',
    ],
    [
      'query',
      { origins: ['https://trusted.example?a=1'] },
      'Invalid option cors.origins[0] = "https://trusted.example?a=1": an origin is only scheme, host and port, with no path, query, fragment or trailing slash. Fix: write it as \'https://trusted.example\'',
    ],
    [
      'userinfo',
      { origins: ['https://trusted.example@evil.test'] },
      'Invalid option cors.origins[0] = "https://trusted.example@evil.test": the origin contains userinfo (user@), which browsers never send and which hides the real host. Fix: remove the part before @',
    ],
    [
      'non-http scheme',
      { origins: ['chrome-extension://abcdef'] },
      'Invalid option cors.origins[0] = "chrome-extension://abcdef": the scheme chrome-extension: is not http: or https:. Fix: use an http or https origin',
    ],
    [
      'regexp as origins',
      { origins: /trusted/ },
      'Invalid option cors.origins = /trusted/: a pattern is not a list of origins. Fix: list exact origins, or pass the pattern as cors.dangerouslyAllowOriginPattern',
    ],
    [
      'singular origin key',
      { origin: TRUSTED },
      'Invalid option cors.origin = "https://trusted.example": it is not a CORS option. Fix: write the list as \'origins\'',
    ],
    [
      'allowed headers without csrf header',
      { origins: [TRUSTED], allowedHeaders: ['content-type'] },
      'Invalid option cors.allowedHeaders = ["content-type"]: it lacks x-csrf-token, which front ends need to send JSON and the CSRF token. Fix: add \'x-csrf-token\' to the list',
    ],
    [
      'wildcard allowed header',
      { origins: [TRUSTED], allowedHeaders: ['*'] },
      'Invalid option cors.allowedHeaders[0] = "*": it is not a single method or header name (wildcards are not allowed). Fix: remove "*" or write the exact name',
    ],
    [
      'global pattern flag',
      { dangerouslyAllowOriginPattern: /https:\/\/a\.example/g },
      'Invalid option cors.dangerouslyAllowOriginPattern = /https:\\/\\/a\\.example/g: the g and y flags make test() remember where the last match ended, so the same origin can pass once and fail next time. Fix: remove the g and y flags',
    ],
    [
      'negative max age',
      { origins: [TRUSTED], maxAge: -1 },
      'Invalid option cors.maxAge = -1: it must be a whole number of seconds, 0 or more. Fix: pass a number of seconds such as 600',
    ],
  ];

  for (const [name, options, message] of cases) {
    test(`rejects ${name}`, () => {
      assert.throws(() => resolveCorsOptions(options as CorsOptions), { name: 'HardenConfigError', message });
    });
  }

  test('rejects unknown route option', async () => {
    const app = Fastify();
    const resolved = resolveCorsOptions({ origins: [TRUSTED] });
    await app.register(fp(async (instance) => registerCors(instance, resolved, context)));
    assert.throws(
      () => app.get('/x', { config: { harden: { cors: { origins: ['*'] } as never } } }, async () => 'x'),
      {
        name: 'HardenConfigError',
        message:
          'Invalid option config.harden.cors of GET /x.origins = ["*"]: it is not a route CORS option. Fix: use enabled',
      },
    );
    await app.close();
  });

  test('normalizes configured spellings', () => {
    const resolved = resolveCorsOptions({
      origins: ['HTTPS://Trusted.Example:443', 'https://bücher.example'],
    });
    assert.deepEqual(
      [...resolved.allowlist.origins],
      ['https://trusted.example', 'https://xn--bcher-kva.example'],
    );
  });

  test('defaults', () => {
    const resolved = resolveCorsOptions(undefined);
    assert.equal(resolved.allowlist.origins.size, 0);
    assert.equal(resolved.credentials, true);
    assert.equal(resolved.maxAgeSeconds, 600);
    assert.deepEqual(resolved.allowedHeaders, ['content-type', 'x-csrf-token']);
    assert.deepEqual(resolved.exposedHeaders, ['retry-after', 'ratelimit', 'ratelimit-policy']);
  });
});
