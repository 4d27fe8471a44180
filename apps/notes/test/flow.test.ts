import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, noteIdsOf, type RunningApp, registeredClient, SESSION_COOKIE, startApp } from './helpers.js';

const PASSWORD = 'correct horse battery';

describe('notes app over HTTP', () => {
  let running: RunningApp;

  before(async () => {
    running = await startApp();
  });

  after(async () => {
    await running.close();
  });

  test('register, login, create, list, delete, logout', async () => {
    const registering = await registeredClient(running.origin, 'flow@example.com', PASSWORD);
    assert.ok(registering.sessionId, 'registration signs the account in');

    const client = new Client(running.origin);
    const loginPage = await client.send('GET', '/login');
    assert.equal(loginPage.status, 200);
    assert.match(loginPage.headers['content-type'] as string, /^text\/html; charset=utf-8/);

    const login = await client.submit('/login', '/login', { email: 'Flow@Example.com ', password: PASSWORD });
    assert.equal(login.status, 303, login.text);
    assert.equal(login.location, '/notes');

    const created = await client.submit('/notes', '/notes', { body: 'Buy <milk> & "bread"' });
    assert.equal(created.status, 303);

    const list = await client.send('GET', '/notes');
    assert.equal(list.status, 200);
    assert.match(list.text, /Buy &lt;milk&gt; &amp; &quot;bread&quot;/, 'the note is shown, escaped');
    const [noteId] = noteIdsOf(list.text);
    assert.ok(noteId);

    const deleted = await client.submit('/notes', `/notes/${noteId}/delete`, {});
    assert.equal(deleted.status, 303);
    assert.deepEqual(noteIdsOf((await client.send('GET', '/notes')).text), []);

    const logout = await client.submit('/notes', '/logout', {});
    assert.equal(logout.status, 303);
    assert.equal(logout.location, '/login');
    const afterLogout = await client.send('GET', '/notes');
    assert.equal(afterLogout.status, 303);
    assert.equal(afterLogout.location, '/login');
  });

  test('login changes the session id', async () => {
    await registeredClient(running.origin, 'rotate@example.com', PASSWORD);
    const client = new Client(running.origin);
    const page = await client.send('GET', '/login');
    const before = client.sessionId;
    assert.ok(before, 'the login form starts a session that holds its CSRF secret');
    const login = await client.send('POST', '/login', {
      form: {
        _csrf: /name="_csrf" value="([^"]*)"/.exec(page.text)?.[1] ?? '',
        email: 'rotate@example.com',
        password: PASSWORD,
      },
    });
    assert.equal(login.status, 303, login.text);
    assert.ok(client.sessionId);
    assert.notEqual(client.sessionId, before);
  });

  test('old session id no longer authenticates after login', async () => {
    await registeredClient(running.origin, 'old-id@example.com', PASSWORD);
    const client = new Client(running.origin);
    await client.send('GET', '/login');
    const preLoginCookie = client.sessionId;
    assert.ok(preLoginCookie, 'the login form starts a session that holds its CSRF secret');
    await client.submit('/login', '/login', { email: 'old-id@example.com', password: PASSWORD });
    assert.equal((await client.send('GET', '/notes')).status, 200);

    // An attacker who planted or saw the pre-login cookie gets nothing with it.
    const attacker = new Client(running.origin);
    attacker.cookies.set(SESSION_COOKIE, preLoginCookie);
    const response = await attacker.send('GET', '/notes');
    assert.equal(response.status, 303);
    assert.equal(response.location, '/login');
  });

  test('logged-out session cookie no longer authenticates', async () => {
    const client = await registeredClient(running.origin, 'replay@example.com', PASSWORD);
    const signedIn = client.sessionId;
    assert.ok(signedIn);
    await client.submit('/notes', '/logout', {});

    const replay = new Client(running.origin);
    replay.cookies.set(SESSION_COOKIE, signedIn);
    assert.equal((await replay.send('GET', '/notes')).location, '/login');
    assert.equal(
      (await replay.send('GET', '/api/me', { headers: { accept: 'application/json' } })).status,
      401,
    );
  });

  test('wrong password and unknown email get the same answer', async () => {
    await registeredClient(running.origin, 'same@example.com', PASSWORD);
    const wrongPassword = await new Client(running.origin).submit('/login', '/login', {
      email: 'same@example.com',
      password: 'not the password',
    });
    const unknownEmail = await new Client(running.origin).submit('/login', '/login', {
      email: 'nobody@example.com',
      password: 'not the password',
    });
    assert.equal(wrongPassword.status, 401);
    assert.equal(unknownEmail.status, 401);
    assert.match(wrongPassword.text, /Email or password is incorrect\./);
    assert.match(unknownEmail.text, /Email or password is incorrect\./);
    assert.match(wrongPassword.text, /value="same@example.com"/, 'the typed email is kept');
    assert.doesNotMatch(wrongPassword.text, /not the password/, 'the password is never shown again');
  });

  test('duplicate registration is refused with the form', async () => {
    await registeredClient(running.origin, 'twice@example.com', PASSWORD);
    const again = await new Client(running.origin).submit('/register', '/register', {
      email: 'TWICE@example.com',
      password: PASSWORD,
    });
    assert.equal(again.status, 409);
    assert.match(again.text, /already has an account/);
  });

  test('email is matched after Unicode normalisation', async () => {
    // "é" as e + combining acute (NFD) and as one code point (NFC) is the same address.
    await registeredClient(running.origin, 'jose\u0301@example.com', PASSWORD);
    const again = await new Client(running.origin).submit('/register', '/register', {
      email: 'JOS\u00c9@example.com',
      password: PASSWORD,
    });
    assert.equal(again.status, 409);
    const login = await new Client(running.origin).submit('/login', '/login', {
      email: 'jos\u00e9@example.com',
      password: PASSWORD,
    });
    assert.equal(login.status, 303);
  });

  test('logout only by POST', async () => {
    const client = await registeredClient(running.origin, 'get-logout@example.com', PASSWORD);
    const viaGet = await client.send('GET', '/logout');
    assert.equal(viaGet.status, 404, 'a link or image cannot sign the user out');
    assert.equal((await client.send('GET', '/notes')).status, 200);
  });

  test('passwords are stored as argon2id hashes', async () => {
    await registeredClient(running.origin, 'hash@example.com', PASSWORD);
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(`${running.dataDir}/notes.sqlite`, { readonly: true });
    try {
      const row = db.prepare('SELECT password_hash FROM users WHERE email = ?').get('hash@example.com') as {
        password_hash: string;
      };
      assert.match(row.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    } finally {
      db.close();
    }
  });

  test('another user cannot read or delete a note by HTML routes', async () => {
    const owner = await registeredClient(running.origin, 'owner-html@example.com', PASSWORD);
    const intruder = await registeredClient(running.origin, 'intruder-html@example.com', PASSWORD);
    await owner.submit('/notes', '/notes', { body: 'owner secret' });
    const [noteId] = noteIdsOf((await owner.send('GET', '/notes')).text);
    assert.ok(noteId);

    const list = await intruder.send('GET', '/notes');
    assert.doesNotMatch(list.text, /owner secret/);
    const deletion = await intruder.submit('/notes', `/notes/${noteId}/delete`, {});
    assert.equal(deletion.status, 404);
    assert.deepEqual(
      noteIdsOf((await owner.send('GET', '/notes')).text),
      [noteId],
      'the note is still there',
    );
  });

  test('another user cannot read or delete a note by the API', async () => {
    const owner = await registeredClient(running.origin, 'owner-api@example.com', PASSWORD);
    const intruder = await registeredClient(running.origin, 'intruder-api@example.com', PASSWORD);
    const ownerToken = (
      JSON.parse((await owner.send('GET', '/api/me', { headers: { accept: 'application/json' } })).text) as {
        csrfToken: string;
      }
    ).csrfToken;
    const created = await owner.send('POST', '/api/notes', {
      json: { body: 'api secret' },
      headers: { 'x-csrf-token': ownerToken },
    });
    assert.equal(created.status, 201, created.text);
    const noteId = (JSON.parse(created.text) as { id: number }).id;

    const intruderList = await intruder.send('GET', '/api/notes', {
      headers: { accept: 'application/json' },
    });
    assert.equal(intruderList.status, 200);
    assert.deepEqual(JSON.parse(intruderList.text), { notes: [] });

    const intruderToken = (
      JSON.parse(
        (await intruder.send('GET', '/api/me', { headers: { accept: 'application/json' } })).text,
      ) as { csrfToken: string }
    ).csrfToken;
    const deletion = await intruder.send('DELETE', `/api/notes/${noteId}`, {
      headers: { accept: 'application/json', 'x-csrf-token': intruderToken },
    });
    assert.equal(deletion.status, 404);

    const ownerList = JSON.parse(
      (await owner.send('GET', '/api/notes', { headers: { accept: 'application/json' } })).text,
    ) as { notes: { id: number; body: string }[] };
    assert.deepEqual(
      ownerList.notes.map((note) => note.body),
      ['api secret'],
    );

    const ownDeletion = await owner.send('DELETE', `/api/notes/${noteId}`, {
      headers: { accept: 'application/json', 'x-csrf-token': ownerToken },
    });
    assert.equal(ownDeletion.status, 204);
  });

  test('API without a session answers 401 JSON', async () => {
    const anonymous = new Client(running.origin);
    for (const [method, path] of [
      ['GET', '/api/me'],
      ['GET', '/api/notes'],
    ] as const) {
      const response = await anonymous.send(method, path, { headers: { accept: 'application/json' } });
      assert.equal(response.status, 401, `${method} ${path}`);
      assert.match(response.headers['content-type'] as string, /^application\/problem\+json/);
      assert.equal((JSON.parse(response.text) as { status: number }).status, 401);
    }
  });

  test('note body over 10000 characters is refused with the form', async () => {
    const client = await registeredClient(running.origin, 'long-note@example.com', PASSWORD);
    const response = await client.submit('/notes', '/notes', { body: 'x'.repeat(10_001) });
    assert.equal(response.status, 400);
    assert.match(response.text, /at most 10,000 characters/);
    assert.equal(noteIdsOf((await client.send('GET', '/notes')).text).length, 0);
  });

  test('password over 128 characters is refused before hashing', async () => {
    const response = await new Client(running.origin).submit('/register', '/register', {
      email: 'long-pw@example.com',
      password: 'p'.repeat(129),
    });
    assert.equal(response.status, 400);
    assert.match(response.text, /8 to 128 characters/);
    assert.match(response.text, /value="long-pw@example.com"/);
  });

  test('healthz answers without a session', async () => {
    const response = await new Client(running.origin).send('GET', '/healthz', {
      headers: { accept: 'application/json' },
    });
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.text), { status: 'ok' });
    assert.deepEqual(response.setCookies, [], 'no session cookie for a health check');
  });

  test('healthz is exempt from rate limits', async () => {
    const login = await new Client(running.origin).send('GET', '/login');
    assert.ok(login.headers.ratelimit, 'other routes carry the RateLimit header');
    const health = await new Client(running.origin).send('GET', '/healthz');
    assert.equal(health.headers.ratelimit, undefined);
    assert.equal(health.headers['ratelimit-policy'], undefined);
  });
});
