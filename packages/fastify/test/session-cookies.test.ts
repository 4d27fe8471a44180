// Malformed, oversized, forged and duplicated session cookies: each gets a fresh session or a clear
// 400, never a 500 or a stack trace. Run against SQLite and Redis.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  login,
  type RawResponse,
  rawRequest,
  type SessionApp,
  STORE_CASES,
  type StoreBackend,
  sessionIdOf,
  startSessionApp,
} from './session-fixtures.js';

/** Asserts a response carries no stack trace or internal error text. */
function assertNoLeak(response: RawResponse, description: string): void {
  assert.doesNotMatch(
    response.body,
    /\n\s+at |node_modules|TypeError|SyntaxError/,
    `${description}: no stack trace`,
  );
}

/** Sends bytes over a raw socket, for header values node:http refuses to send. Returns the status. */
function rawSocketStatus(port: number, head: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(Buffer.from(head, 'latin1')));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(text.slice(9, 12)), text });
    });
    socket.on('error', reject);
  });
}

for (const storeCase of STORE_CASES) {
  describe(`bad session cookies on ${storeCase.name}`, () => {
    let backend: StoreBackend;
    let server: SessionApp;
    let validCookie: string;

    before(async () => {
      backend = await storeCase.open();
      server = await startSessionApp(backend.options);
      validCookie = await login(server.port);
    });
    after(async () => {
      await server.close();
      await backend.cleanup();
    });

    const freshSessionCases: ReadonlyArray<readonly [string, () => string]> = [
      ['empty header', () => ''],
      ['only separators', () => ';;; ;'],
      ['name without value', () => '__Host-sid'],
      ['empty value', () => '__Host-sid='],
      ['value without name', () => '=abc.def'],
      ['quoted value', () => '__Host-sid="abc.def"'],
      ['html in value', () => '__Host-sid=<script>alert(1)</script>'],
      ['space inside value', () => '__Host-sid=abc def.ghi'],
      ['lone percent', () => '__Host-sid=%'],
      ['invalid percent-encoding', () => '__Host-sid=%zz%E0%A4%A.%G1'],
      ['percent-encoded NUL', () => '__Host-sid=%00abc.def'],
      ['percent-encoded garbage', () => '__Host-sid=%41%42%43.%44'],
      ['latin-1 bytes', () => '__Host-sid=\u00ff\u00fe\u00e9.\u00e0'],
      ['only a dot', () => '__Host-sid=.'],
      ['trailing dot', () => '__Host-sid=abc.'],
      ['oversized value', () => `__Host-sid=${'A'.repeat(4000)}.${'B'.repeat(43)}`],
      ['forged signature', () => `__Host-sid=${sessionIdOf(validCookie)}.${'A'.repeat(43)}`],
      ['signature of another cookie', () => `__Host-sid=${'x'.repeat(32)}.${validCookie.split('.').pop()}`],
      [
        'case-variant name is another cookie',
        () => `__HOST-SID=${validCookie.slice(validCookie.indexOf('=') + 1)}`,
      ],
      ['prefix-less name is another cookie', () => `sid=${validCookie.slice(validCookie.indexOf('=') + 1)}`],
    ];

    for (const [description, header] of freshSessionCases) {
      test(`${description} gets fresh session`, async () => {
        const before = await backend.count();
        const response = await rawRequest(server.port, 'GET', '/me', { cookie: header() });
        assert.equal(response.status, 200, description);
        assertNoLeak(response, description);
        const body = JSON.parse(response.body) as { userId: string | null; sessionId: string };
        assert.equal(body.userId, null, 'nobody is signed in');
        assert.notEqual(body.sessionId, sessionIdOf(validCookie));
        assert.equal(await backend.count(), before, 'nothing is stored for an unmodified fresh session');
      });
    }

    test('login with malformed cookie issues new id', async () => {
      const response = await rawRequest(server.port, 'POST', '/login', { cookie: '__Host-sid=%zz;;=' });
      assert.equal(response.status, 200);
      assert.ok(
        response.setCookies.some(
          (line) => line.startsWith('__Host-sid=') && !line.startsWith('__Host-sid=;'),
        ),
      );
    });

    test('duplicate session cookie in one header is rejected', async () => {
      const value = validCookie.slice(validCookie.indexOf('=') + 1);
      const headers = [
        `__Host-sid=${value}; __Host-sid=${value}`,
        `__Host-sid=attacker.value; __Host-sid=${value}`,
        `__Host-sid=${value}; other=1; __Host-sid=`,
      ];
      for (const cookie of headers) {
        const response = await rawRequest(server.port, 'GET', '/me', { cookie, accept: 'application/json' });
        assert.equal(response.status, 400, cookie);
        assertNoLeak(response, cookie);
        const body = JSON.parse(response.body) as { reason: string };
        assert.equal(body.reason, 'duplicate-cookie');
      }
      const logged = server.logs.filter((line) => line.event === 'session.cookie_rejected');
      assert.ok(logged.length >= headers.length);
      for (const line of logged)
        assert.doesNotMatch(JSON.stringify(line), new RegExp(value.slice(0, 20)), 'no cookie is logged');
    });

    test('duplicate session cookie in two headers is rejected', async () => {
      const value = validCookie.slice(validCookie.indexOf('=') + 1);
      // node:http joins repeated Cookie headers with "; ", so the app sees one header with two pairs.
      const response = await rawRequest(server.port, 'GET', '/me', {
        cookie: [`__Host-sid=${value}`, '__Host-sid=attacker.value'],
      });
      assert.equal(response.status, 400);
      assertNoLeak(response, 'two Cookie headers');
    });

    test('duplicate session cookie page is html for browsers', async () => {
      const value = validCookie.slice(validCookie.indexOf('=') + 1);
      const response = await rawRequest(server.port, 'GET', '/me', {
        cookie: `__Host-sid=${value}; __Host-sid=${value}`,
        accept: 'text/html,application/xhtml+xml',
      });
      assert.equal(response.status, 400);
      assert.match(String(response.headers['content-type']), /^text\/html/);
      assert.match(response.body, /session cookie more than once/);
    });

    test('header past size limit gets 431', async () => {
      const response = await rawRequest(server.port, 'GET', '/me', {
        cookie: `__Host-sid=${'A'.repeat(20_000)}`,
      });
      assert.equal(response.status, 431);
      assertNoLeak(response, 'oversized header');
    });

    test('control character in cookie gets 400', async () => {
      const result = await rawSocketStatus(
        server.port,
        `GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: __Host-sid=abc\u0001def.ghi\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(result.status, 400);
      assert.doesNotMatch(result.text, /\n\s+at /);
    });

    test('absolute-form request target keeps session', async () => {
      const response = await rawRequest(server.port, 'GET', `http://127.0.0.1:${server.port}/me`, {
        cookie: validCookie,
      });
      assert.equal(response.status, 200);
      assert.equal((JSON.parse(response.body) as { userId: string | null }).userId, 'user-1');
    });

    test('no log line contains a session cookie', () => {
      const signature = validCookie.slice(validCookie.lastIndexOf('.') + 1);
      const sessionId = sessionIdOf(validCookie);
      for (const line of server.logs) {
        const text = JSON.stringify(line);
        assert.ok(!text.includes(signature), `log line without the cookie signature: ${String(line.msg)}`);
        assert.ok(!text.includes(sessionId), `log line without the session id: ${String(line.msg)}`);
      }
    });

    test('valid cookie still works after bad ones', async () => {
      const response = await rawRequest(server.port, 'GET', '/me', { cookie: validCookie });
      assert.equal(response.status, 200);
      assert.equal((JSON.parse(response.body) as { userId: string | null }).userId, 'user-1');
    });
  });
}
