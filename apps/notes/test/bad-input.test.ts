import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Client,
  csrfTokenOf,
  noteIdsOf,
  type Response,
  type RunningApp,
  registeredClient,
  SESSION_COOKIE,
  startApp,
} from './helpers.js';

const PASSWORD = 'correct horse battery';

/** Asserts a clear client error: the expected status, and no stack trace or file path in the body. */
function assertClientError(response: Response, status: number): void {
  assert.equal(response.status, status, response.text.slice(0, 500));
  assert.doesNotMatch(
    response.text,
    /\bat .+:\d+:\d+|node_modules|\.ts:\d+|Error:/,
    'no stack trace in the body',
  );
}

describe('bad input', () => {
  let running: RunningApp;
  let user: Client;

  before(async () => {
    running = await startApp();
    user = await registeredClient(running.origin, 'bad-input@example.com', PASSWORD);
  });

  after(async () => {
    await running.close();
  });

  /** POSTs a raw form body to /login with a valid CSRF token from a fresh page. */
  async function postLogin(client: Client, rawBody: string | Buffer): Promise<Response> {
    const token = csrfTokenOf((await client.send('GET', '/login')).text);
    const prefix = `_csrf=${encodeURIComponent(token)}&`;
    const body =
      typeof rawBody === 'string' ? prefix + rawBody : Buffer.concat([Buffer.from(prefix), rawBody]);
    return client.send('POST', '/login', { rawBody: body });
  }

  test('invalid UTF-8 bytes in a form field get 400', async () => {
    const client = new Client(running.origin);
    const response = await postLogin(
      client,
      Buffer.concat([
        Buffer.from('email=a'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('@example.com&password=x'),
      ]),
    );
    assertClientError(response, 400);
    assert.match(response.text, /not valid UTF-8/);
    assert.match(response.text, /<form method="post" action="\/login">/, 'the login form is shown again');
  });

  test('percent-encoded invalid UTF-8 gets 400', async () => {
    for (const value of ['%FF', '%C3%28', '%ED%A0%80', '%E2%82']) {
      const response = await postLogin(
        new Client(running.origin),
        `email=a${value}@example.com&password=secret123`,
      );
      assertClientError(response, 400);
    }
  });

  test('malformed percent escape gets 400', async () => {
    for (const value of ['%', '%zz', '%4', '%%41']) {
      const response = await postLogin(new Client(running.origin), `email=${value}&password=secret123`);
      assertClientError(response, 400);
    }
  });

  test('duplicated form field gets 400', async () => {
    const response = await postLogin(
      new Client(running.origin),
      'email=a%40example.com&email=b%40example.com&password=secret123',
    );
    assertClientError(response, 400);
    assert.match(response.text, /sent more than once/);
  });

  test('duplicated CSRF field gets 400 or 403', async () => {
    const client = new Client(running.origin);
    const token = csrfTokenOf((await client.send('GET', '/login')).text);
    const response = await client.send('POST', '/login', {
      rawBody: `_csrf=${token}&_csrf=${token}&email=a%40example.com&password=x`,
    });
    assert.ok(response.status === 400 || response.status === 403, `status ${response.status}`);
    assert.doesNotMatch(response.text, /node_modules|\.ts:\d+/);
  });

  test('1 MB form field gets 413 with a clear message', async () => {
    const response = await postLogin(
      new Client(running.origin),
      `email=${'a'.repeat(1024 * 1024)}&password=secret123`,
    );
    assertClientError(response, 413);
    assert.match(response.text, /too large/);
  });

  test('prototype keys in a form are plain fields', async () => {
    for (const name of ['__proto__', 'constructor', 'hasOwnProperty']) {
      const response = await postLogin(
        new Client(running.origin),
        `${name}=1&email=a%40example.com&password=secret123`,
      );
      assertClientError(response, 401);
    }
    const proto = await postLogin(
      new Client(running.origin),
      '__proto__%5Bemail%5D=x&email=a%40example.com&password=secret123',
    );
    assertClientError(proto, 401);
  });

  test('JSON array in place of a form field never reaches SQL', async () => {
    const client = new Client(running.origin);
    const token = csrfTokenOf((await client.send('GET', '/login')).text);
    const response = await client.send('POST', '/login', {
      json: { _csrf: token, email: ['bad-input@example.com', 'x'], password: [PASSWORD] },
      headers: { accept: 'text/html', 'x-csrf-token': token },
    });
    assertClientError(response, 400);
    assert.match(response.text, /Enter your email address/);
  });

  test('unsupported content type gets 415', async () => {
    const client = new Client(running.origin);
    const response = await client.send('POST', '/login', {
      rawBody: '<email/>',
      contentType: 'application/xml',
      headers: { accept: 'application/json' },
    });
    assertClientError(response, 415);
  });

  test('text/plain body to a form route gets 400', async () => {
    const client = new Client(running.origin);
    const response = await client.send('POST', '/login', {
      rawBody: 'email=a%40example.com&password=x',
      contentType: 'text/plain',
    });
    assertClientError(response, 400);
  });

  test('invalid JSON to the API gets 400 JSON', async () => {
    const me = JSON.parse(
      (await user.send('GET', '/api/me', { headers: { accept: 'application/json' } })).text,
    ) as { csrfToken: string };
    const response = await user.send('POST', '/api/notes', {
      rawBody: '{"body": "unterminated',
      contentType: 'application/json',
      headers: { accept: 'application/json', 'x-csrf-token': me.csrfToken },
    });
    assertClientError(response, 400);
    assert.match(response.headers['content-type'] as string, /^application\/problem\+json/);
  });

  test('API note body of the wrong type gets 400', async () => {
    const me = JSON.parse(
      (await user.send('GET', '/api/me', { headers: { accept: 'application/json' } })).text,
    ) as { csrfToken: string };
    for (const json of [
      { body: ['x'] },
      { body: { toString: 'x' } },
      { body: 42 },
      { body: '' },
      { body: 'y'.repeat(10_001) },
      [],
      'text',
    ]) {
      const response = await user.send('POST', '/api/notes', {
        json,
        headers: { 'x-csrf-token': me.csrfToken },
      });
      assertClientError(response, 400);
    }
  });

  test('non-numeric or huge note ids get 404', async () => {
    const me = JSON.parse(
      (await user.send('GET', '/api/me', { headers: { accept: 'application/json' } })).text,
    ) as { csrfToken: string };
    for (const id of ['abc', '0', '-1', '1e3', '01', '99999999999999999999', '1%20OR%201=1', '%00']) {
      const api = await user.send('DELETE', `/api/notes/${id}`, {
        headers: { accept: 'application/json', 'x-csrf-token': me.csrfToken },
      });
      assertClientError(api, 404);
      const page = await user.submit('/notes', `/notes/${id}/delete`, {});
      assertClientError(page, 404);
    }
  });

  test('malformed session cookie gets a fresh session', async () => {
    for (const value of ['%%%', '"unterminated', 'a.b.c.d', ';;;', '\u00e9\u00e9', 's%3Aabc.def']) {
      const client = new Client(running.origin);
      client.cookies.set(SESSION_COOKIE, value);
      const login = await client.send('GET', '/login');
      assert.equal(login.status, 200, `cookie ${JSON.stringify(value)}`);
      const notes = await client.send('GET', '/notes');
      assert.equal(notes.status, 303);
      assert.equal(notes.location, '/login');
    }
  });

  test('oversized cookie gets 4xx, never 500', async () => {
    const client = new Client(running.origin);
    client.cookies.set(SESSION_COOKIE, 'a'.repeat(8 * 1024));
    const large = await client.send('GET', '/notes');
    assert.equal(large.status, 303, 'an 8 KiB cookie is treated as no session');

    client.cookies.set(SESSION_COOKIE, 'a'.repeat(64 * 1024));
    const huge = await client.send('GET', '/notes');
    assert.ok(huge.status >= 400 && huge.status < 500, `status ${huge.status}`);
  });

  test('forged session signature is not adopted', async () => {
    const signed = user.sessionId;
    assert.ok(signed);
    const separator = signed.lastIndexOf('.');
    assert.ok(separator > 0, 'the session cookie is signed');
    const forgeries = [
      `${signed.slice(0, separator)}.${'A'.repeat(signed.length - separator - 1)}`,
      signed.slice(0, separator),
      `${signed.slice(0, separator)}x${signed.slice(separator)}`,
    ];
    for (const forged of forgeries) {
      const attacker = new Client(running.origin);
      attacker.cookies.set(SESSION_COOKIE, forged);
      const response = await attacker.send('GET', '/notes');
      assert.equal(response.status, 303, forged);
      assert.equal(response.location, '/login');
      assert.notEqual(attacker.sessionId, signed);
    }
  });

  test('deleted session cookie gets a fresh session', async () => {
    const client = await registeredClient(running.origin, 'gone@example.com', PASSWORD);
    const cookie = client.sessionId;
    assert.ok(cookie);
    await client.submit('/notes', '/logout', {});

    const replay = new Client(running.origin);
    replay.cookies.set(SESSION_COOKIE, cookie);
    const page = await replay.send('GET', '/login');
    assert.equal(page.status, 200);
    assert.notEqual(replay.sessionId, cookie, 'the dead id is not adopted');
    assert.equal((await replay.send('GET', '/notes')).location, '/login');
  });

  test('note body with markup is stored and shown escaped', async () => {
    const payload = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const created = await user.submit('/notes', '/notes', { body: payload });
    assert.equal(created.status, 303);
    const page = await user.send('GET', '/notes');
    assert.ok(!page.text.includes(payload));
    assert.match(page.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&lt;img src=x onerror=alert\(2\)&gt;/);
    assert.ok(noteIdsOf(page.text).length > 0);
  });

  test('unknown route gets 404 without a stack', async () => {
    assertClientError(await new Client(running.origin).send('GET', '/nope/../../etc/passwd'), 404);
    assertClientError(
      await new Client(running.origin).send('GET', '/api/nope', { headers: { accept: 'application/json' } }),
      404,
    );
  });
});
