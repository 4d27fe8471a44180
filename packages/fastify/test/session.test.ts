// Session behaviour over a listening server, written once and run against SQLite and against Redis.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  login,
  makeSecret,
  rawRequest,
  type SessionApp,
  STORE_CASES,
  type StoreBackend,
  sessionCookieFrom,
  sessionIdOf,
  sleep,
  startSessionApp,
  waitFor,
  whoAmI,
} from './session-fixtures.js';

function signWith(secret: string, sessionId: string): string {
  const signature = createHmac('sha256', secret).update(sessionId).digest('base64').replace(/=+$/, '');
  return `${sessionId}.${signature}`;
}

for (const storeCase of STORE_CASES) {
  describe(`sessions on ${storeCase.name}`, () => {
    let backend: StoreBackend;
    let server: SessionApp;

    before(async () => {
      backend = await storeCase.open();
      server = await startSessionApp(backend.options);
    });
    after(async () => {
      await server.close();
      await backend.cleanup();
    });

    test('session cookie has exact secure attributes', async () => {
      const response = await rawRequest(server.port, 'POST', '/login');
      assert.equal(response.status, 200);
      const line = response.setCookies.find((cookie) => cookie.startsWith('__Host-sid='));
      assert.ok(line, 'a __Host-sid cookie is set');
      const attributes = line
        .split(';')
        .slice(1)
        .map((part) => part.trim());
      const names = attributes.map((attribute) => attribute.split('=')[0]?.toLowerCase()).sort();
      assert.deepEqual(names, ['expires', 'httponly', 'path', 'samesite', 'secure']);
      assert.ok(attributes.includes('Path=/'));
      assert.ok(attributes.includes('HttpOnly'));
      assert.ok(attributes.includes('Secure'));
      assert.ok(attributes.includes('SameSite=Lax'));
      const expires = attributes.find((attribute) => attribute.startsWith('Expires='));
      const lifetime = Date.parse(expires?.slice('Expires='.length) ?? '') - Date.now();
      assert.ok(
        lifetime > 29 * 60 * 1000 && lifetime <= 30 * 60 * 1000,
        `Expires is about 30 minutes ahead (${lifetime} ms)`,
      );
    });

    test('request without cookie stores nothing', async () => {
      const before = await backend.count();
      for (const path of ['/public', '/me']) {
        const response = await rawRequest(server.port, 'GET', path);
        assert.equal(response.status, 200);
        assert.deepEqual(response.setCookies, [], `${path} sets no cookie`);
      }
      assert.equal(await backend.count(), before);
    });

    test('login changes session id and old id stops working', async () => {
      const visit = await rawRequest(server.port, 'POST', '/visit');
      const anonymous = sessionCookieFrom(visit.setCookies);
      assert.ok(anonymous, 'a session that holds data gets a cookie');
      const anonymousId = sessionIdOf(anonymous);
      assert.ok(await backend.has(anonymousId), 'the anonymous session is stored');

      const signedIn = await login(server.port, anonymous);
      const signedInId = sessionIdOf(signedIn);
      assert.notEqual(signedInId, anonymousId);
      assert.equal(await backend.has(anonymousId), false, 'regenerate deleted the old record');
      assert.ok(await backend.has(signedInId));
      assert.equal(await whoAmI(server.port, signedIn), 'user-1');
      assert.equal(await whoAmI(server.port, anonymous), null, 'the pre-login cookie does not authenticate');
    });

    test('logout deletes record and clears cookie', async () => {
      const cookie = await login(server.port);
      const sessionId = sessionIdOf(cookie);
      assert.ok(await backend.has(sessionId));

      const response = await rawRequest(server.port, 'POST', '/logout', { cookie });
      assert.equal(response.status, 200);
      assert.equal(await backend.has(sessionId), false, 'the server-side record is gone');
      const clearing = response.setCookies.find((line) => line.startsWith('__Host-sid=;'));
      assert.ok(clearing, 'the cookie is cleared');
      assert.match(clearing, /Max-Age=0/);
      assert.match(clearing, /; Secure/, 'a __Host- cookie is only replaced by a Secure one');
      assert.match(clearing, /; Path=\//);
      assert.equal(await whoAmI(server.port, cookie), null, 'the old cookie no longer authenticates');
    });

    test('concurrent request does not undo logout', async () => {
      const cookie = await login(server.port);
      const sessionId = sessionIdOf(cookie);
      // The slow request loads the session before the logout deletes it and saves it after.
      const slow = rawRequest(server.port, 'GET', '/slow', { cookie });
      await sleep(50);
      const logout = await rawRequest(server.port, 'POST', '/logout', { cookie });
      assert.equal(logout.status, 200);
      assert.equal((await slow).status, 200);
      assert.equal(await backend.has(sessionId), false, 'the rolling save did not write the record back');
      assert.equal(await whoAmI(server.port, cookie), null);
    });

    test('concurrent request does not revive pre-login session', async () => {
      const visit = await rawRequest(server.port, 'POST', '/visit');
      const anonymous = sessionCookieFrom(visit.setCookies);
      assert.ok(anonymous);
      const slow = rawRequest(server.port, 'GET', '/slow', { cookie: anonymous });
      await sleep(50);
      await login(server.port, anonymous);
      await slow;
      assert.equal(await backend.has(sessionIdOf(anonymous)), false);
    });

    test('attacker-chosen session ids are not adopted', async () => {
      const plantedId = 'attacker-chosen-session-id-0001';
      const planted = [
        ['signed with another secret', `__Host-sid=${signWith(makeSecret(), plantedId)}`],
        ['unsigned', `__Host-sid=${plantedId}`],
        ['valid-looking but never issued', `__Host-sid=${signWith(server.secret, plantedId)}`],
      ] as const;
      for (const [description, cookie] of planted) {
        const me = await rawRequest(server.port, 'GET', '/me', { cookie });
        assert.equal(me.status, 200, description);
        assert.notEqual((JSON.parse(me.body) as { sessionId: string }).sessionId, plantedId, description);

        const signedIn = await login(server.port, cookie);
        assert.notEqual(sessionIdOf(signedIn), plantedId, `${description}: login issues a fresh id`);
        assert.equal(
          await backend.has(plantedId),
          false,
          `${description}: nothing stored under the planted id`,
        );
      }
    });

    test('forged signature gets fresh session', async () => {
      const cookie = await login(server.port);
      const sessionId = sessionIdOf(cookie);
      const forged = `__Host-sid=${sessionId}.${'A'.repeat(43)}`;
      const response = await rawRequest(server.port, 'GET', '/me', { cookie: forged });
      assert.equal(response.status, 200);
      const body = JSON.parse(response.body) as { userId: string | null; sessionId: string };
      assert.equal(body.userId, null);
      assert.notEqual(body.sessionId, sessionId);
    });

    test('rotated secret still verifies and new secret signs', async () => {
      const oldSecret = server.secret;
      const oldCookie = await login(server.port);
      const newSecret = makeSecret();
      const rotated = await startSessionApp(backend.options, { secret: [newSecret, oldSecret] });
      try {
        assert.equal(
          await whoAmI(rotated.port, oldCookie),
          'user-1',
          'a cookie signed with the old secret verifies',
        );
        const reissued = await rawRequest(rotated.port, 'GET', '/me', { cookie: oldCookie });
        const resigned = sessionCookieFrom(reissued.setCookies);
        assert.ok(resigned, 'the rolling cookie is sent again');
        assert.equal(
          resigned.slice(resigned.indexOf('=') + 1),
          signWith(newSecret, sessionIdOf(oldCookie)),
          'the same session id comes back signed with the new secret',
        );

        const fresh = await login(rotated.port);
        const value = decodeURIComponent(fresh.slice(fresh.indexOf('=') + 1));
        assert.equal(
          value,
          signWith(newSecret, sessionIdOf(fresh)),
          'new cookies are signed with the first secret',
        );
      } finally {
        await rotated.close();
      }
    });

    test('corrupt stored record reads as no session', async () => {
      const cookie = await login(server.port);
      const sessionId = sessionIdOf(cookie);
      for (const text of [
        '{not json',
        '[]',
        '"text"',
        '{"cookie":{}}',
        '{"__proto__":{"userId":"admin"},"cookie":{},"createdAt":1}',
      ]) {
        await backend.writeRaw(sessionId, text, 60_000);
        const response = await rawRequest(server.port, 'GET', '/me', { cookie });
        assert.equal(response.status, 200, text);
        assert.equal((JSON.parse(response.body) as { userId: string | null }).userId, null, text);
      }
    });

    test('idle session expires and its id is not reused', async () => {
      const short = await startSessionApp(backend.options, { idleTimeout: 400, absoluteTimeout: 60_000 });
      try {
        const cookie = await login(short.port);
        const sessionId = sessionIdOf(cookie);
        // Each request restarts the idle window, so this one keeps the session past its first 400 ms.
        await sleep(250);
        assert.equal(await whoAmI(short.port, cookie), 'user-1');
        await sleep(250);
        assert.equal(await whoAmI(short.port, cookie), 'user-1', 'activity rolls the idle window forward');

        await sleep(900);
        const response = await rawRequest(short.port, 'POST', '/visit', { cookie });
        assert.equal(response.status, 200);
        const body = JSON.parse(response.body) as { visits: number; sessionId: string };
        assert.equal(body.visits, 1, 'the idle session is gone');
        assert.notEqual(body.sessionId, sessionId, 'the expired id is not reused');
        const replacement = sessionCookieFrom(response.setCookies);
        assert.ok(replacement);
        assert.notEqual(sessionIdOf(replacement), sessionId);
      } finally {
        await short.close();
      }
    });

    test('idle window rolls at most once per tenth', async () => {
      const rolling = await startSessionApp(backend.options, {
        idleTimeout: 10_000,
        absoluteTimeout: 60_000,
      });
      try {
        const cookie = await login(rolling.port);
        const soon = await rawRequest(rolling.port, 'GET', '/me', { cookie });
        assert.equal(soon.status, 200);
        assert.deepEqual(soon.setCookies, [], 'a request right after a save writes nothing');

        await sleep(1_200);
        const later = await rawRequest(rolling.port, 'GET', '/me', { cookie });
        const renewed = later.setCookies.find((line) => line.startsWith('__Host-sid='));
        assert.ok(
          renewed,
          'after a tenth of the idle timeout the session is saved and the cookie sent again',
        );
        assert.equal(sessionCookieFrom(later.setCookies), cookie, 'the session id stays the same');
        const expires = Date.parse(/Expires=([^;]+)/.exec(renewed)?.[1] ?? '');
        assert.ok(expires - Date.now() > 9_000, 'the new expiry is a full idle timeout ahead');
      } finally {
        await rolling.close();
      }
    });

    test('stored expiry is capped by lifetime', async () => {
      const short = await startSessionApp(backend.options, { idleTimeout: 20_000, absoluteTimeout: 21_000 });
      try {
        const cookie = await login(short.port);
        const sessionId = sessionIdOf(cookie);
        const fresh = await backend.ttl(sessionId);
        assert.ok(fresh > 18_000 && fresh <= 20_000, `a new record lives one idle timeout (${fresh} ms)`);

        // Past a tenth of the idle timeout the next request saves again. Now + 20 s idle would outlive
        // the 21 s lifetime, so the record must end with the lifetime instead.
        await sleep(2_200);
        assert.equal(await whoAmI(short.port, cookie), 'user-1');
        const capped = await backend.ttl(sessionId);
        assert.ok(capped <= 19_000, `the record ends with the absolute lifetime (${capped} ms left)`);
        assert.ok(capped > 10_000, `and not long before it (${capped} ms left)`);
      } finally {
        await short.close();
      }
    });

    test('absolute lifetime ends an active session', async () => {
      const short = await startSessionApp(backend.options, { idleTimeout: 600, absoluteTimeout: 1_200 });
      try {
        const cookie = await login(short.port);
        const createdAt = Date.now();
        // Requests every 200 ms keep the session from idling out; only the absolute lifetime can end it.
        while (Date.now() - createdAt < 900) {
          assert.equal(await whoAmI(short.port, cookie), 'user-1', 'active and within the lifetime');
          await sleep(200);
        }
        await waitFor('the absolute lifetime to pass', async () => {
          await sleep(200);
          return (await whoAmI(short.port, cookie)) === null;
        });
        assert.ok(Date.now() - createdAt >= 1_200, 'not ended before its absolute lifetime');
      } finally {
        await short.close();
      }
    });
  });
}
