// Where the Secure session cookie may travel: HTTPS (as trustProxy decides), loopback HTTP (a secure
// context for browsers), and nowhere else unless the insecure option allows it. Checked over HTTP and in
// headless Chromium.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import {
  rawRequest,
  type SessionApp,
  STORE_CASES,
  type StoreBackend,
  sessionCookieFrom,
  startSessionApp,
  whoAmI,
} from './session-fixtures.js';

const sqlite = STORE_CASES.find((storeCase) => storeCase.name === 'sqlite');
if (sqlite === undefined) throw new Error('the sqlite store case is missing');

function sessionLine(setCookies: readonly string[], name = '__Host-sid'): string | undefined {
  return setCookies.find((line) => line.startsWith(`${name}=`));
}

describe('session cookie transport', () => {
  let backend: StoreBackend;
  let plain: SessionApp;
  let proxied: SessionApp;

  before(async () => {
    backend = await sqlite.open();
    plain = await startSessionApp(backend.options);
    proxied = await startSessionApp(backend.options, {}, { trustProxy: '127.0.0.1' });
  });
  after(async () => {
    await plain.close();
    await proxied.close();
    await backend.cleanup();
  });

  test('loopback host gets secure cookie over http', async () => {
    for (const host of [
      `127.0.0.1:${plain.port}`,
      `localhost:${plain.port}`,
      `app.localhost:${plain.port}`,
      '127.0.0.1',
    ]) {
      const response = await rawRequest(plain.port, 'POST', '/login', { host });
      const line = sessionLine(response.setCookies);
      assert.ok(line, `${host}: cookie set`);
      assert.match(line, /; Secure/, `${host}: cookie is Secure`);
    }
  });

  test('non-loopback host over http gets no cookie', async () => {
    for (const host of [
      'notes.example',
      `192.168.1.20:${plain.port}`,
      '10.0.0.1',
      '127.0.0.1.evil.example',
    ]) {
      const response = await rawRequest(plain.port, 'POST', '/login', { host });
      assert.equal(response.status, 200);
      assert.equal(
        sessionLine(response.setCookies),
        undefined,
        `${host}: a Secure cookie never travels over plain HTTP`,
      );
    }
    const warnings = plain.logs.filter((line) => line.event === 'session.cookie_withheld');
    assert.equal(warnings.length, 1, 'the misconfiguration is logged once, not per request');
  });

  test('untrusted x-forwarded-proto gets no cookie', async () => {
    const response = await rawRequest(plain.port, 'POST', '/login', {
      host: 'notes.example',
      'x-forwarded-proto': 'https',
    });
    assert.equal(sessionLine(response.setCookies), undefined);
  });

  test('trusted proxy https gets secure cookie', async () => {
    const response = await rawRequest(proxied.port, 'POST', '/login', {
      host: 'notes.example',
      'x-forwarded-proto': 'https',
    });
    const line = sessionLine(response.setCookies);
    assert.ok(line);
    assert.match(line, /; Secure/);
    assert.match(line, /; HttpOnly/);
    assert.match(line, /; SameSite=Lax/);
    assert.doesNotMatch(line, /Domain=/i);
  });

  test('trusted proxy plain http gets no cookie', async () => {
    const response = await rawRequest(proxied.port, 'POST', '/login', {
      host: 'notes.example',
      'x-forwarded-proto': 'http',
    });
    assert.equal(sessionLine(response.setCookies), undefined);
  });

  test('insecure option drops secure only off loopback', async () => {
    const insecure = await startSessionApp(backend.options, {
      insecureCookieOverHttp: true,
      cookieName: 'sid',
    });
    try {
      assert.ok(
        insecure.logs.some((line) => line.event === 'session.insecure_cookie'),
        'the weakening is logged at start-up',
      );
      const lan = await rawRequest(insecure.port, 'POST', '/login', { host: '192.168.1.20' });
      const lanLine = sessionLine(lan.setCookies, 'sid');
      assert.ok(lanLine, 'the cookie is sent over LAN HTTP');
      assert.doesNotMatch(lanLine, /; Secure/);
      assert.match(lanLine, /; HttpOnly/);

      const loopback = await rawRequest(insecure.port, 'POST', '/login');
      const loopbackLine = sessionLine(loopback.setCookies, 'sid');
      assert.ok(loopbackLine);
      assert.match(loopbackLine, /; Secure/, 'loopback keeps Secure');

      const cookie = sessionCookieFrom(lan.setCookies, 'sid');
      assert.ok(cookie);
      const me = await rawRequest(insecure.port, 'GET', '/me', { cookie, host: '192.168.1.20' });
      assert.equal((JSON.parse(me.body) as { userId: string | null }).userId, 'user-1');
    } finally {
      await insecure.close();
    }
  });

  for (const sameSite of ['strict', 'none'] as const) {
    test(`sameSite ${sameSite} reaches the cookie`, async () => {
      const app = await startSessionApp(backend.options, {
        sameSite,
        ...(sameSite === 'none' ? { dangerouslyAllowSameSiteNone: true } : {}),
      });
      try {
        const response = await rawRequest(app.port, 'POST', '/login');
        const line = sessionLine(response.setCookies);
        assert.ok(line);
        assert.match(line, new RegExp(`; SameSite=${sameSite === 'strict' ? 'Strict' : 'None'}$`));
        assert.match(line, /; Secure/);
      } finally {
        await app.close();
      }
    });
  }

  for (const hostname of ['127.0.0.1', 'localhost']) {
    test(`chromium keeps session cookie on http://${hostname}`, async () => {
      const browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      try {
        const page = await browser.newPage();
        const origin = `http://${hostname}:${plain.port}`;
        await page.goto(`${origin}/public`);
        const status = await page.evaluate(async () => (await fetch('/login', { method: 'POST' })).status);
        assert.equal(status, 200);

        const cookies = await page.context().cookies(origin);
        const session = cookies.find((cookie) => cookie.name === '__Host-sid');
        assert.ok(session, 'the browser stored the __Host-sid cookie');
        assert.equal(session.secure, true);
        assert.equal(session.httpOnly, true);
        assert.equal(session.sameSite, 'Lax');
        assert.equal(session.path, '/');

        await page.goto(`${origin}/me`);
        const me = JSON.parse((await page.textContent('body')) ?? '{}') as { userId: string | null };
        assert.equal(me.userId, 'user-1', 'the browser sends the cookie back');

        const logout = await page.evaluate(async () => (await fetch('/logout', { method: 'POST' })).status);
        assert.equal(logout, 200);
        const after = await page.context().cookies(origin);
        assert.equal(
          after.find((cookie) => cookie.name === '__Host-sid'),
          undefined,
          'logout removes the cookie from the browser',
        );
        const cookie = `__Host-sid=${session.value}`;
        assert.equal(await whoAmI(plain.port, cookie), null, 'the logged-out cookie no longer authenticates');
      } finally {
        await browser.close();
      }
    });
  }
});
