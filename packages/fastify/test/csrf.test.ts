import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { HardenContext } from '../src/context.js';
import { resolveCorsOptions } from '../src/cors.js';
import { type CsrfRegistration, registerCsrf, resolveCsrfOptions } from '../src/csrf.js';
import { captureLogs, cookiePair, type RawResponse, send } from './csrf-helpers.js';

const SESSION_SECRET = 'q8Zr2mVx7KpL4wNc9TfB3hJd6YsG1aQe5uXo0iRk';
const FRONT_END = 'https://front.example';

interface TestApp {
  app: FastifyInstance;
  port: number;
  own: string;
  logs: ReturnType<typeof captureLogs>;
  handled: string[];
  registration: CsrfRegistration;
}

async function startApp(): Promise<TestApp> {
  const logs = captureLogs();
  const handled: string[] = [];
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } });
  app.addHttpMethod('PROPFIND', { hasBody: true });
  app.addHttpMethod('PURGE');

  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: SESSION_SECRET,
    cookieName: 'sid',
    cookie: { secure: false, httpOnly: true, sameSite: 'lax', path: '/' },
    saveUninitialized: false,
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      const fields: Record<string, string | string[]> = {};
      for (const [name, value] of new URLSearchParams(body as string)) {
        const previous = fields[name];
        fields[name] = previous === undefined ? value : [previous, value].flat();
      }
      done(null, fields);
    },
  );

  const cors = resolveCorsOptions({ origins: [FRONT_END] });
  const resolved = resolveCsrfOptions(undefined, { cors, publicOrigin: undefined, sessionCookieName: 'sid' });
  const context: HardenContext = {
    store: { kind: 'memory' },
    publicOrigin: undefined,
    onRejection: undefined,
    production: false,
  };
  let registration: CsrfRegistration = { disabledRoutes: [] };
  await app.register(
    fp(async (instance) => {
      registration = await registerCsrf(instance, resolved, context);
    }),
  );

  app.get('/form', async (_request, reply) => ({ token: await reply.generateCsrf() }));
  app.post('/login', async (request, reply) => {
    await request.session.regenerate();
    return { token: await reply.generateCsrf() };
  });
  const record = async (request: { method: string }) => {
    handled.push(request.method);
    return { done: true };
  };
  app.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'PURGE'],
    url: '/action',
    handler: record,
  });
  app.get('/action', record);
  app.post('/webhook', { config: { harden: { csrf: { dangerouslyDisable: true } } } }, record);

  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, port, own: `http://127.0.0.1:${port}`, logs, handled, registration };
}

/** Opens the form page in a fresh session and returns its cookie and token. */
async function openSession(port: number): Promise<{ cookie: string; token: string }> {
  const response = await send(port, 'GET', '/form');
  const cookie = cookiePair(response, 'sid');
  assert.ok(cookie, 'the form page sets the session cookie');
  return { cookie, token: JSON.parse(response.body).token };
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

function lastRejection(logs: TestApp['logs']): Record<string, unknown> | undefined {
  return logs.lines.filter((line) => line.event === 'csrf.rejected').at(-1);
}

describe('csrf', () => {
  let t: TestApp;

  before(async () => {
    t = await startApp();
  });
  after(() => t.app.close());

  async function expectRejected(response: RawResponse, reason: string) {
    assert.equal(response.status, 403);
    assert.equal(JSON.parse(response.body).reason, reason);
    assert.equal(lastRejection(t.logs)?.reason, reason);
  }

  async function handledDuring(
    action: () => Promise<RawResponse>,
  ): Promise<{ response: RawResponse; ran: boolean }> {
    const before = t.handled.length;
    const response = await action();
    return { response, ran: t.handled.length > before };
  }

  describe('allowed requests', () => {
    test('same-origin form post with token', async () => {
      const { cookie, token } = await openSession(t.port);
      const response = await send(
        t.port,
        'POST',
        '/action',
        [
          ['cookie', cookie],
          ['origin', t.own],
          ['sec-fetch-site', 'same-origin'],
          ['content-type', 'application/x-www-form-urlencoded'],
        ],
        form({ title: 'x', _csrf: token }),
      );
      assert.equal(response.status, 200);
    });

    test('same-origin fetch with token header', async () => {
      const { cookie, token } = await openSession(t.port);
      const response = await send(
        t.port,
        'POST',
        '/action',
        [
          ['cookie', cookie],
          ['origin', t.own],
          ['content-type', 'application/json'],
          ['x-csrf-token', token],
        ],
        '{"title":"x"}',
      );
      assert.equal(response.status, 200);
    });

    test('bearer client without session cookie', async () => {
      const response = await send(
        t.port,
        'POST',
        '/action',
        [
          ['authorization', 'Bearer api-key'],
          ['content-type', 'application/json'],
        ],
        '{"title":"x"}',
      );
      assert.equal(response.status, 200);
    });

    test('trusted cors origin with token', async () => {
      const { cookie, token } = await openSession(t.port);
      const response = await send(t.port, 'DELETE', '/action', [
        ['cookie', cookie],
        ['origin', FRONT_END],
        ['sec-fetch-site', 'cross-site'],
        ['x-csrf-token', token],
      ]);
      assert.equal(response.status, 200);
    });

    test('safe methods need nothing', async () => {
      const response = await send(t.port, 'GET', '/action', [
        ['origin', 'https://evil.test'],
        ['sec-fetch-site', 'cross-site'],
      ]);
      assert.equal(response.status, 200);
    });

    test('opted-out route skips both layers', async () => {
      const { cookie } = await openSession(t.port);
      const response = await send(t.port, 'POST', '/webhook', [
        ['cookie', cookie],
        ['origin', 'https://evil.test'],
        ['sec-fetch-site', 'cross-site'],
      ]);
      assert.equal(response.status, 200);
      assert.deepEqual(t.registration.disabledRoutes, ['POST /webhook']);
    });
  });

  describe('cross-origin attacks', () => {
    test('cross-site form post with session and no token', async () => {
      const { cookie } = await openSession(t.port);
      const { response, ran } = await handledDuring(() =>
        send(
          t.port,
          'POST',
          '/action',
          [
            ['cookie', cookie],
            ['origin', 'https://evil.test'],
            ['sec-fetch-site', 'cross-site'],
            ['content-type', 'application/x-www-form-urlencoded'],
          ],
          form({ title: 'pwned' }),
        ),
      );
      await expectRejected(response, 'cross-site');
      assert.equal(ran, false);
    });

    test('cross-site post from browser without sec-fetch-site', async () => {
      const { cookie } = await openSession(t.port);
      const response = await send(
        t.port,
        'POST',
        '/action',
        [
          ['cookie', cookie],
          ['origin', 'https://evil.test'],
          ['content-type', 'application/x-www-form-urlencoded'],
        ],
        form({ title: 'pwned' }),
      );
      await expectRejected(response, 'origin-mismatch');
    });

    test('cross-site post with token stolen from another session', async () => {
      const victim = await openSession(t.port);
      const attacker = await openSession(t.port);
      const response = await send(
        t.port,
        'POST',
        '/action',
        [
          ['cookie', victim.cookie],
          ['origin', 'https://evil.test'],
          ['sec-fetch-site', 'cross-site'],
          ['content-type', 'application/x-www-form-urlencoded'],
        ],
        form({ _csrf: attacker.token }),
      );
      await expectRejected(response, 'cross-site');
    });

    test('same-site sibling subdomain post', async () => {
      const { cookie, token } = await openSession(t.port);
      const response = await send(t.port, 'POST', '/action', [
        ['host', 'notes.example'],
        ['cookie', cookie],
        ['origin', 'http://evil.notes.example'],
        ['sec-fetch-site', 'same-site'],
        ['x-csrf-token', token],
      ]);
      await expectRejected(response, 'cross-site');
    });

    test('sibling subdomain post without sec-fetch-site', async () => {
      const { cookie, token } = await openSession(t.port);
      const response = await send(t.port, 'POST', '/action', [
        ['host', 'notes.example'],
        ['cookie', cookie],
        ['origin', 'http://evil.notes.example'],
        ['x-csrf-token', token],
      ]);
      await expectRejected(response, 'origin-mismatch');
    });

    test('null origin post', async () => {
      const { cookie, token } = await openSession(t.port);
      const response = await send(t.port, 'POST', '/action', [
        ['cookie', cookie],
        ['origin', 'null'],
        ['x-csrf-token', token],
      ]);
      await expectRejected(response, 'origin-null');
    });

    test('null origin with cross-site fetch metadata', async () => {
      const response = await send(t.port, 'POST', '/action', [
        ['origin', 'null'],
        ['sec-fetch-site', 'cross-site'],
      ]);
      await expectRejected(response, 'cross-site');
    });

    test('other port of own host', async () => {
      const response = await send(t.port, 'POST', '/action', [['origin', `http://127.0.0.1:${t.port + 1}`]]);
      await expectRejected(response, 'origin-mismatch');
    });

    test('own origin over other scheme', async () => {
      const response = await send(t.port, 'POST', '/action', [['origin', `https://127.0.0.1:${t.port}`]]);
      await expectRejected(response, 'origin-mismatch');
    });

    test('bearer client still gets cross-origin check', async () => {
      const response = await send(t.port, 'POST', '/action', [
        ['authorization', 'Bearer api-key'],
        ['origin', 'https://evil.test'],
        ['sec-fetch-site', 'cross-site'],
      ]);
      await expectRejected(response, 'cross-site');
    });

    test('unknown route still checked', async () => {
      const response = await send(t.port, 'POST', '/no-such-route', [
        ['origin', 'https://evil.test'],
        ['sec-fetch-site', 'cross-site'],
      ]);
      await expectRejected(response, 'cross-site');
    });

    for (const method of ['PUT', 'PATCH', 'DELETE', 'PROPFIND', 'PURGE']) {
      test(`cross-site ${method} rejected`, async () => {
        const { cookie } = await openSession(t.port);
        const { response, ran } = await handledDuring(() =>
          send(t.port, method, '/action', [
            ['cookie', cookie],
            ['origin', 'https://evil.test'],
            ['sec-fetch-site', 'cross-site'],
          ]),
        );
        await expectRejected(response, 'cross-site');
        assert.equal(ran, false);
      });
    }
  });

  describe('token attacks', () => {
    test('no origin and no fetch metadata without token', async () => {
      const { cookie } = await openSession(t.port);
      const { response, ran } = await handledDuring(() =>
        send(
          t.port,
          'POST',
          '/action',
          [
            ['cookie', cookie],
            ['content-type', 'application/x-www-form-urlencoded'],
          ],
          form({ title: 'x' }),
        ),
      );
      await expectRejected(response, 'token-missing');
      assert.equal(ran, false);
    });

    test('token of session a replayed in session b', async () => {
      const sessionA = await openSession(t.port);
      const sessionB = await openSession(t.port);
      const response = await send(
        t.port,
        'POST',
        '/action',
        [
          ['cookie', sessionB.cookie],
          ['sec-fetch-site', 'same-origin'],
          ['content-type', 'application/x-www-form-urlencoded'],
        ],
        form({ _csrf: sessionA.token }),
      );
      await expectRejected(response, 'token-invalid');
    });

    test('token in query string', async () => {
      const { cookie, token } = await openSession(t.port);
      const response = await send(t.port, 'POST', `/action?_csrf=${encodeURIComponent(token)}`, [
        ['cookie', cookie],
        ['sec-fetch-site', 'same-origin'],
      ]);
      await expectRejected(response, 'token-missing');
    });

    test('token in query string under header names', async () => {
      const { cookie, token } = await openSession(t.port);
      const query = new URLSearchParams({ 'x-csrf-token': token, csrf: token, _csrf: token }).toString();
      const response = await send(t.port, 'POST', `/action?${query}`, [['cookie', cookie]]);
      await expectRejected(response, 'token-missing');
    });

    test('token in a cookie only', async () => {
      const { cookie, token } = await openSession(t.port);
      const response = await send(t.port, 'POST', '/action', [
        ['cookie', `${cookie}; _csrf=${token}; x-csrf-token=${token}`],
        ['sec-fetch-site', 'same-origin'],
      ]);
      await expectRejected(response, 'token-missing');
    });

    for (const header of ['csrf-token', 'xsrf-token', 'x-xsrf-token']) {
      test(`token in ${header} header ignored`, async () => {
        const { cookie, token } = await openSession(t.port);
        const response = await send(t.port, 'POST', '/action', [
          ['cookie', cookie],
          [header, token],
        ]);
        await expectRejected(response, 'token-missing');
      });
    }

    test('forged token', async () => {
      const { cookie } = await openSession(t.port);
      const response = await send(t.port, 'POST', '/action', [
        ['cookie', cookie],
        ['x-csrf-token', 'aaaaaaaa-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'],
      ]);
      await expectRejected(response, 'token-invalid');
    });

    test('two token headers', async () => {
      const { cookie, token } = await openSession(t.port);
      const response = await send(t.port, 'POST', '/action', [
        ['cookie', cookie],
        ['x-csrf-token', token],
        ['x-csrf-token', token],
      ]);
      await expectRejected(response, 'token-invalid');
    });

    test('duplicated token field', async () => {
      const { cookie, token } = await openSession(t.port);
      const response = await send(
        t.port,
        'POST',
        '/action',
        [
          ['cookie', cookie],
          ['content-type', 'application/x-www-form-urlencoded'],
        ],
        `_csrf=${encodeURIComponent(token)}&_csrf=${encodeURIComponent(token)}`,
      );
      await expectRejected(response, 'token-missing');
    });

    test('stale session cookie with old token', async () => {
      const { token } = await openSession(t.port);
      const response = await send(t.port, 'POST', '/action', [
        ['cookie', 'sid=unknown-session-id.forged-signature'],
        ['x-csrf-token', token],
      ]);
      await expectRejected(response, 'token-invalid');
    });

    test('token rotates at login', async () => {
      const { cookie, token } = await openSession(t.port);
      const login = await send(t.port, 'POST', '/login', [
        ['cookie', cookie],
        ['x-csrf-token', token],
      ]);
      assert.equal(login.status, 200);
      const newCookie = cookiePair(login, 'sid');
      assert.ok(newCookie);
      assert.notEqual(newCookie, cookie);
      const newToken: string = JSON.parse(login.body).token;

      const oldTokenResponse = await send(t.port, 'POST', '/action', [
        ['cookie', newCookie],
        ['x-csrf-token', token],
      ]);
      await expectRejected(oldTokenResponse, 'token-invalid');

      const newTokenResponse = await send(t.port, 'POST', '/action', [
        ['cookie', newCookie],
        ['x-csrf-token', newToken],
      ]);
      assert.equal(newTokenResponse.status, 200);
    });

    for (const method of ['PUT', 'PATCH', 'DELETE', 'PROPFIND', 'PURGE']) {
      test(`${method} without token rejected`, async () => {
        const { cookie } = await openSession(t.port);
        const { response, ran } = await handledDuring(() =>
          send(t.port, method, '/action', [['cookie', cookie]]),
        );
        await expectRejected(response, 'token-missing');
        assert.equal(ran, false);
      });
    }

    test('rejection log never contains the token', async () => {
      const { cookie, token } = await openSession(t.port);
      const other = await openSession(t.port);
      await send(t.port, 'POST', '/action', [
        ['cookie', cookie],
        ['x-csrf-token', other.token],
      ]);
      const logged = JSON.stringify(t.logs.lines);
      assert.equal(logged.includes(token), false);
      assert.equal(logged.includes(other.token), false);
      assert.equal(logged.includes(cookie), false);
    });
  });

  describe('method override tricks', () => {
    const overrideHeaders = ['x-http-method-override', 'x-http-method', 'x-method-override'];
    for (const header of overrideHeaders) {
      test(`${header} GET does not skip token`, async () => {
        const { cookie } = await openSession(t.port);
        const { response, ran } = await handledDuring(() =>
          send(t.port, 'POST', '/action', [
            ['cookie', cookie],
            [header, 'GET'],
          ]),
        );
        await expectRejected(response, 'token-missing');
        assert.equal(ran, false);
      });

      test(`${header} GET does not skip origin check`, async () => {
        const response = await send(t.port, 'POST', '/action', [
          ['origin', 'https://evil.test'],
          ['sec-fetch-site', 'cross-site'],
          [header, 'GET'],
        ]);
        await expectRejected(response, 'cross-site');
      });
    }

    test('_method field does not skip token', async () => {
      const { cookie } = await openSession(t.port);
      const { response, ran } = await handledDuring(() =>
        send(
          t.port,
          'POST',
          '/action?_method=GET',
          [
            ['cookie', cookie],
            ['content-type', 'application/x-www-form-urlencoded'],
          ],
          form({ _method: 'GET' }),
        ),
      );
      await expectRejected(response, 'token-missing');
      assert.equal(ran, false);
    });

    test('_method field does not skip origin check', async () => {
      const response = await send(
        t.port,
        'POST',
        '/action?_method=HEAD',
        [
          ['origin', 'https://evil.test'],
          ['sec-fetch-site', 'cross-site'],
          ['content-type', 'application/x-www-form-urlencoded'],
        ],
        form({ _method: 'OPTIONS' }),
      );
      await expectRejected(response, 'cross-site');
    });
  });

  describe('content type tricks', () => {
    const contentTypes: Array<[string, string | undefined, string]> = [
      ['text/plain', 'text/plain', 'title=x'],
      ['no content type', undefined, 'title=x'],
      ['upper-case form type', 'Application/X-WWW-Form-Urlencoded', 'title=x'],
      ['json with charset', 'application/json; charset=utf-8', '{"title":"x"}'],
      ['form type with parameter', 'application/x-www-form-urlencoded; boundary=x', 'title=x'],
      ['form type with trailing garbage', 'application/x-www-form-urlencodedxyz', 'title=x'],
      [
        'multipart',
        'multipart/form-data; boundary=b',
        '--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nx\r\n--b--\r\n',
      ],
      ['text/plain carrying token text', 'text/plain', '_csrf=whatever'],
    ];

    for (const [name, contentType, body] of contentTypes) {
      test(`${name} with session and no token never runs`, async () => {
        const { cookie } = await openSession(t.port);
        const headers: Array<[string, string]> = [['cookie', cookie]];
        if (contentType !== undefined) headers.push(['content-type', contentType]);
        const { response, ran } = await handledDuring(() => send(t.port, 'POST', '/action', headers, body));
        assert.equal(ran, false);
        // A type the app cannot parse stops at 415 before the token check; every other type at 403.
        assert.ok([403, 415].includes(response.status), `status ${response.status}`);
      });

      test(`${name} cross-site rejected before parsing`, async () => {
        const headers: Array<[string, string]> = [
          ['origin', 'https://evil.test'],
          ['sec-fetch-site', 'cross-site'],
        ];
        if (contentType !== undefined) headers.push(['content-type', contentType]);
        const { response, ran } = await handledDuring(() => send(t.port, 'POST', '/action', headers, body));
        assert.equal(ran, false);
        await expectRejected(response, 'cross-site');
      });
    }

    test('text/plain body with valid token text still rejected', async () => {
      const { cookie, token } = await openSession(t.port);
      const { response, ran } = await handledDuring(() =>
        send(
          t.port,
          'POST',
          '/action',
          [
            ['cookie', cookie],
            ['content-type', 'text/plain'],
          ],
          `_csrf=${token}`,
        ),
      );
      assert.equal(ran, false);
      await expectRejected(response, 'token-missing');
    });
  });
});

describe('csrf route config', () => {
  test('unknown route option rejected', async () => {
    const app = Fastify();
    const cors = resolveCorsOptions(undefined);
    const resolved = resolveCsrfOptions(undefined, {
      cors,
      publicOrigin: undefined,
      sessionCookieName: undefined,
    });
    const context: HardenContext = {
      store: { kind: 'memory' },
      publicOrigin: undefined,
      onRejection: undefined,
      production: false,
    };
    await app.register(fp(async (instance) => void (await registerCsrf(instance, resolved, context))));
    assert.throws(
      () => app.post('/x', { config: { harden: { csrf: { disable: true } as never } } }, async () => 'x'),
      {
        name: 'HardenConfigError',
        message:
          /^Invalid option config\.harden\.csrf of POST \/x\.disable = true: it is not a route CSRF option/,
      },
    );
    await app.close();
  });

  test('session cookie without session plugin', async () => {
    const app = Fastify();
    const cors = resolveCorsOptions(undefined);
    const resolved = resolveCsrfOptions(undefined, {
      cors,
      publicOrigin: undefined,
      sessionCookieName: 'sid',
    });
    const context: HardenContext = {
      store: { kind: 'memory' },
      publicOrigin: undefined,
      onRejection: undefined,
      production: false,
    };
    app.register(fp(async (instance) => void (await registerCsrf(instance, resolved, context))));
    await assert.rejects(async () => void (await app.ready()), {
      message: 'registerCsrf: @fastify/session must be registered before CSRF tokens can be checked',
    });
    await app.close();
  });

  test('unknown csrf option rejected', () => {
    const cors = resolveCorsOptions(undefined);
    assert.throws(
      () =>
        resolveCsrfOptions({ ignoreMethods: ['POST'] } as never, {
          cors,
          publicOrigin: undefined,
          sessionCookieName: 'sid',
        }),
      {
        message:
          'Invalid option csrf.ignoreMethods = ["POST"]: it is not a CSRF option. Fix: use trustedOrigins, or config.harden.csrf on a route',
      },
    );
  });

  test('wildcard subdomain in a trusted origin rejected', () => {
    const cors = resolveCorsOptions(undefined);
    assert.throws(
      () =>
        resolveCsrfOptions(
          { trustedOrigins: ['https://*.forms.example'] },
          { cors, publicOrigin: undefined, sessionCookieName: 'sid' },
        ),
      {
        message:
          'Invalid option csrf.trustedOrigins[0] = "https://*.forms.example": a * in an origin is not a wildcard: the origin would match only a request whose Origin header contains the * itself, so it trusts no real site. Fix: list each origin exactly, such as \'https://a.app.example\', or give a RegExp for the subdomains in cors.dangerouslyAllowOriginPattern',
      },
    );
  });

  test('wildcard in the public origin rejected', () => {
    const cors = resolveCorsOptions(undefined);
    assert.throws(
      () =>
        resolveCsrfOptions(undefined, {
          cors,
          publicOrigin: 'https://*.notes.example',
          sessionCookieName: 'sid',
        }),
      {
        message:
          /^Invalid option origin = "https:\/\/\*\.notes\.example": a \* in an origin is not a wildcard/,
      },
    );
  });

  test('public origin normalized', () => {
    const cors = resolveCorsOptions(undefined);
    const resolved = resolveCsrfOptions(undefined, {
      cors,
      publicOrigin: 'HTTPS://Notes.Example:443',
      sessionCookieName: 'sid',
    });
    assert.equal(resolved.publicOrigin, 'https://notes.example');
  });

  test('trusted origins merge with cors', () => {
    const cors = resolveCorsOptions({ origins: [FRONT_END] });
    const resolved = resolveCsrfOptions(
      { trustedOrigins: ['https://forms.example'] },
      { cors, publicOrigin: undefined, sessionCookieName: 'sid' },
    );
    assert.deepEqual([...resolved.trustedOrigins.origins], [FRONT_END, 'https://forms.example']);
  });
});
