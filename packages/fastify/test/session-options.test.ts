// Session option validation: every bad value throws at registration with the option, the value (never
// a secret) and the fix, pinned exactly.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HardenConfigError } from '@harden/core';
import Fastify from 'fastify';
import { registerSession, resolveSessionOptions, type SessionOptions } from '../src/sessions.js';
import { openStore } from '../src/store.js';
import { login, rawRequest, SECRET, startSessionApp, whoAmI } from './session-fixtures.js';

const SECRET_FIX = 'Fix: use a random secret of 32 bytes or more, for example from `openssl rand -base64 32`';

function messageOf(options: unknown): string {
  try {
    resolveSessionOptions(options as SessionOptions);
  } catch (error) {
    assert.ok(error instanceof HardenConfigError, 'a HardenConfigError');
    return error.message;
  }
  return 'no error';
}

describe('session option validation', () => {
  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    [
      'missing options',
      undefined,
      'Invalid option session = undefined: it is missing. Fix: pass { secret } with a random secret of at least 32 bytes, or session: false for an app without cookie login',
    ],
    [
      'missing secret',
      {},
      'Invalid option session.secret = undefined: it is missing. Fix: give a random secret of 32 bytes or more, for example from `openssl rand -base64 32`',
    ],
    [
      'short secret',
      { secret: 'correct horse battery' },
      `Invalid option session.secret = "<redacted>": it is 21 bytes long, shorter than the minimum of 32 bytes. ${SECRET_FIX}`,
    ],
    [
      'low-entropy secret',
      { secret: 'abcabcabcabcabcabcabcabcabcabcabcabc' },
      `Invalid option session.secret = "<redacted>": it has only 3 distinct characters, fewer than the minimum of 10, so it looks like a placeholder rather than random bytes. ${SECRET_FIX}`,
    ],
    [
      'single repeated character secret',
      { secret: 'x'.repeat(64) },
      `Invalid option session.secret = "<redacted>": it has only 1 distinct character, fewer than the minimum of 10, so it looks like a placeholder rather than random bytes. ${SECRET_FIX}`,
    ],
    [
      'short secret in rotation list',
      { secret: [SECRET, 'old-and-short'] },
      `Invalid option session.secret[1] = "<redacted>": it is 13 bytes long, shorter than the minimum of 32 bytes. ${SECRET_FIX}`,
    ],
    [
      'empty rotation list',
      { secret: [] },
      'Invalid option session.secret = []: the list of secrets is empty. Fix: give at least one random secret of 32 bytes or more, for example from `openssl rand -base64 32`',
    ],
    [
      'secret that is not a string',
      { secret: 12345 },
      'Invalid option session.secret = "<number>": it is not a string. Fix: give a random secret of 32 bytes or more, for example from `openssl rand -base64 32`',
    ],
    [
      'idle timeout longer than absolute',
      { secret: SECRET, idleTimeout: 2 * 60 * 60 * 1000, absoluteTimeout: 60 * 60 * 1000 },
      'Invalid option session.idleTimeout = 7200000: it is longer than session.absoluteTimeout (3600000 ms), so the idle timeout could never end a session. Fix: make idleTimeout at most absoluteTimeout',
    ],
    [
      'idle timeout longer than default absolute',
      { secret: SECRET, idleTimeout: 13 * 60 * 60 * 1000 },
      'Invalid option session.idleTimeout = 46800000: it is longer than session.absoluteTimeout (43200000 ms), so the idle timeout could never end a session. Fix: make idleTimeout at most absoluteTimeout',
    ],
    [
      'zero idle timeout',
      { secret: SECRET, idleTimeout: 0 },
      'Invalid option session.idleTimeout = 0: it is not a positive whole number of milliseconds. Fix: give a whole number of milliseconds, such as 1800000',
    ],
    [
      'negative absolute timeout',
      { secret: SECRET, absoluteTimeout: -1 },
      'Invalid option session.absoluteTimeout = -1: it is not a positive whole number of milliseconds. Fix: give a whole number of milliseconds, such as 43200000',
    ],
    [
      'duration given as text',
      { secret: SECRET, idleTimeout: '30m' },
      'Invalid option session.idleTimeout = "30m": it is not a positive whole number of milliseconds. Fix: give a whole number of milliseconds, such as 1800000',
    ],
    [
      'fractional duration',
      { secret: SECRET, purgeInterval: 0.5 },
      'Invalid option session.purgeInterval = 0.5: it is not a positive whole number of milliseconds. Fix: give a whole number of milliseconds, such as 300000',
    ],
    [
      'cookie name with a space',
      { secret: SECRET, cookieName: 'my sid' },
      `Invalid option session.cookieName = "my sid": a cookie name must be a non-empty token: letters, digits and !#$%&'*+-.^_\`|~, without spaces, "=", ";" or ",". Fix: use a name of letters, digits, '-' and '_', such as '__Host-sid'`,
    ],
    [
      'insecure cookie with __Host- name',
      { secret: SECRET, insecureCookieOverHttp: true },
      `Invalid option session.cookieName = "__Host-sid": browsers reject a cookie with this prefix unless it is Secure, and insecureCookieOverHttp sends it without Secure over plain HTTP. Fix: set cookieName to a name without the __Host- or __Secure- prefix, such as 'sid', or turn insecureCookieOverHttp off`,
    ],
    [
      'insecure cookie with __Secure- name',
      { secret: SECRET, insecureCookieOverHttp: true, cookieName: '__Secure-sid' },
      `Invalid option session.cookieName = "__Secure-sid": browsers reject a cookie with this prefix unless it is Secure, and insecureCookieOverHttp sends it without Secure over plain HTTP. Fix: set cookieName to a name without the __Host- or __Secure- prefix, such as 'sid', or turn insecureCookieOverHttp off`,
    ],
    [
      'SameSite=None without Secure',
      {
        secret: SECRET,
        insecureCookieOverHttp: true,
        cookieName: 'sid',
        sameSite: 'none',
        dangerouslyAllowSameSiteNone: true,
      },
      `Invalid option session.sameSite = "none": a SameSite=None cookie must be Secure. Fix: use 'lax' or 'strict', or turn insecureCookieOverHttp off`,
    ],
    [
      'SameSite=None without its dangerous option',
      { secret: SECRET, sameSite: 'none' },
      `Invalid option session.sameSite = "none": SameSite=None sends the session cookie with requests that other sites start, so only the Origin check and the CSRF token are left against cross-site request forgery. Fix: use 'lax' (the default) or 'strict'; if a front end on another site really needs the cookie, also set session.dangerouslyAllowSameSiteNone: true`,
    ],
    [
      'SameSite=None with the dangerous option set to a string',
      { secret: SECRET, sameSite: 'none', dangerouslyAllowSameSiteNone: 'yes' },
      'Invalid option session.dangerouslyAllowSameSiteNone = "yes": it is not a boolean. Fix: use true or false',
    ],
    [
      'SameSite in wrong case',
      { secret: SECRET, sameSite: 'Lax' },
      `Invalid option session.sameSite = "Lax": it is not a SameSite value. Fix: use 'lax', 'strict' or 'none'`,
    ],
    [
      'misspelled option',
      { secret: SECRET, idleTimout: 1000 },
      'Invalid option session.idleTimout = "<set>": it is not a session option. Fix: use only secret, idleTimeout, absoluteTimeout, cookieName, sameSite, purgeInterval, insecureCookieOverHttp, dangerouslyAllowMemoryStore, dangerouslyAllowSameSiteNone',
    ],
    [
      'insecure flag given as text',
      { secret: SECRET, insecureCookieOverHttp: 'yes' },
      'Invalid option session.insecureCookieOverHttp = "yes": it is not a boolean. Fix: use true or false',
    ],
  ];

  for (const [description, options, expected] of cases) {
    test(`${description} is rejected`, () => {
      assert.equal(messageOf(options), expected);
    });
  }

  test('error never quotes a secret', () => {
    const secrets = ['correct horse battery', 'abcabcabcabcabcabcabcabcabcabcabcabc', 'x'.repeat(64)];
    for (const secret of secrets) {
      assert.ok(!messageOf({ secret }).includes(secret));
      assert.ok(!messageOf({ secret: [SECRET, secret] }).includes(secret));
    }
  });

  test('defaults are 30 min idle and 12 h absolute', () => {
    const resolved = resolveSessionOptions({ secret: SECRET });
    assert.ok(resolved);
    assert.equal(resolved.idleTimeout, 30 * 60 * 1000);
    assert.equal(resolved.absoluteTimeout, 12 * 60 * 60 * 1000);
    assert.equal(resolved.cookieName, '__Host-sid');
    assert.equal(resolved.sameSite, 'lax');
    assert.equal(resolved.insecureCookieOverHttp, false);
  });

  test('multibyte secret counts utf-8 bytes', () => {
    // 16 characters of 3 bytes each: 48 bytes, 16 distinct characters.
    const secret = 'あいうえおかきくけこさしすせそた';
    assert.ok(resolveSessionOptions({ secret }));
  });

  test('sessions off with false', () => {
    assert.equal(resolveSessionOptions(false), undefined);
  });
});

describe('session store choice', () => {
  test('memory store is rejected for sessions', async () => {
    const app = Fastify();
    const { store } = await openStore({ memory: true }, app.log);
    await assert.rejects(
      registerSession(app, resolveSessionOptions({ secret: SECRET }), {
        store,
        publicOrigin: undefined,
        onRejection: undefined,
        production: false,
      }),
      {
        message:
          'Invalid option store = {"memory":true}: sessions need a store that keeps them on the server across restarts and instances. Fix: use { sqlite: path } or { redis: url }, or set session.dangerouslyAllowMemoryStore for tests',
      },
    );
    await app.close();
  });

  test('second session plugin is rejected', async () => {
    const app = Fastify();
    const { default: fastifyCookie } = await import('@fastify/cookie');
    const { default: fastifySession } = await import('@fastify/session');
    await app.register(fastifyCookie);
    await app.register(fastifySession, { secret: SECRET });
    const { store } = await openStore({ memory: true }, app.log);
    await assert.rejects(
      registerSession(app, resolveSessionOptions({ secret: SECRET, dangerouslyAllowMemoryStore: true }), {
        store,
        publicOrigin: undefined,
        onRejection: undefined,
        production: false,
      }),
      {
        message:
          'Invalid option session = "<set>": @fastify/session is already registered, and the plugin registers it itself. Fix: remove your own registration of @fastify/session, or pass session: false to keep yours',
      },
    );
    await app.close();
  });

  test('memory store works when dangerously allowed', async () => {
    const server = await startSessionApp({ memory: true }, { dangerouslyAllowMemoryStore: true });
    try {
      const cookie = await login(server.port);
      assert.equal(await whoAmI(server.port, cookie), 'user-1');
      assert.ok(
        server.logs.some((line) => line.event === 'session.memory_store'),
        'the weakening is logged',
      );
      const anonymous = await rawRequest(server.port, 'GET', '/me');
      assert.deepEqual(anonymous.setCookies, []);
    } finally {
      await server.close();
    }
  });
});
