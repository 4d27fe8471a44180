import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  Client,
  csrfTokenOf,
  type Response,
  type RunningApp,
  registeredClient,
  SESSION_COOKIE,
  startApp,
} from './helpers.js';

const PASSWORD = 'correct horse battery';
const RELOAD = /Reload the page before you try again\./;

/** Every form route of the app, with fields as a browser would post them. */
const FORM_ROUTES: Array<{ path: string; form: RegExp; fields: Record<string, string> }> = [
  { path: '/login', form: /<form method="post" action="\/login">/, fields: { email: 'a@example.com' } },
  { path: '/register', form: /<form method="post" action="\/register">/, fields: { email: 'a@example.com' } },
  {
    path: '/password-reset',
    form: /<form method="post" action="\/password-reset">/,
    fields: { email: 'a@example.com' },
  },
  {
    path: '/password-reset/some-token',
    form: /<form method="post" action="\/password-reset\/some-token">/,
    fields: { password: 'a new long password' },
  },
  { path: '/notes', form: /<form method="post" action="\/notes">/, fields: { body: 'typed note' } },
];

/** Log lines at error level or above (pino level 50+), which a refusal must never write. */
function errorLines(running: RunningApp): Record<string, unknown>[] {
  return running.logs.filter((line) => typeof line.level === 'number' && line.level >= 50);
}

function sessionRows(running: RunningApp): number {
  const db = new Database(join(running.dataDir, 'harden.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM harden_sessions').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('form posts past the default rate limit', () => {
  let running: RunningApp;
  let signedIn: Client;

  before(async () => {
    running = await startApp();
    signedIn = await registeredClient(running.origin, 'flood@example.com', PASSWORD);
    // Use up the default limit (300 a minute per client) with GETs of a path that does not exist.
    let last: Response | undefined;
    for (let index = 0; index < 400; index++) {
      last = await signedIn.send('GET', '/no-such-page');
      if (last.status === 429) break;
    }
    assert.equal(last?.status, 429, 'the default limit was reached');
  });

  after(async () => {
    await running.close();
  });

  test('POST /notes with a session cookie gets 429 and the note form', async () => {
    assert.ok(signedIn.sessionId, 'the client is signed in');
    const response = await signedIn.send('POST', '/notes', { form: { _csrf: 'x', body: 'typed note' } });

    assert.equal(response.status, 429);
    assert.match(String(response.headers['retry-after']), /^\d+$/);
    assert.match(response.headers['content-type'] as string, /^text\/html/);
    assert.match(response.text, /<form method="post" action="\/notes">/);
    assert.match(response.text, /Try again in \d+ (second|seconds|minutes)\./);
    assert.match(response.text, RELOAD);
    assert.doesNotMatch(response.text, /name="_csrf"/, 'no session was loaded, so no token');
    assert.doesNotMatch(response.text, /flood@example\.com/, 'no user data before the session is read');
    assert.deepEqual(errorLines(running), []);
  });

  test('every form route gets 429 with its form, no 500', async () => {
    for (const route of FORM_ROUTES) {
      for (const client of [signedIn, new Client(running.origin)]) {
        const response = await client.send('POST', route.path, { form: route.fields });
        const label = `${route.path} ${client === signedIn ? 'with' : 'without'} a session cookie`;
        assert.equal(response.status, 429, label);
        assert.match(response.text, route.form, label);
        assert.doesNotMatch(response.text, /name="_csrf"/, label);
      }
    }
    assert.deepEqual(errorLines(running), []);
  });

  test('without a session cookie the message asks for no reload', async () => {
    const response = await new Client(running.origin).send('POST', '/login', {
      form: { email: 'a@example.com', password: 'x' },
    });
    assert.equal(response.status, 429);
    assert.doesNotMatch(response.text, RELOAD);
  });
});

describe('form posts with a duplicated session cookie', () => {
  let running: RunningApp;
  let signedIn: Client;

  before(async () => {
    running = await startApp();
    signedIn = await registeredClient(running.origin, 'twice@example.com', PASSWORD);
  });

  after(async () => {
    await running.close();
  });

  function twice(client: Client): string {
    return `${SESSION_COOKIE}=${client.sessionId}; ${SESSION_COOKIE}=${client.sessionId}`;
  }

  test('POST /login with the session cookie twice gets 400 and the login form', async () => {
    const response = await signedIn.send('POST', '/login', {
      form: { email: 'twice@example.com', password: PASSWORD },
      headers: { cookie: twice(signedIn) },
    });

    assert.equal(response.status, 400);
    assert.match(response.headers['content-type'] as string, /^text\/html/);
    assert.match(response.text, /<form method="post" action="\/login">/);
    assert.match(response.text, /The request carries the session cookie more than once\./);
    assert.match(response.text, RELOAD);
    assert.doesNotMatch(response.text, /name="_csrf"/);
    assert.deepEqual(errorLines(running), []);
  });

  test('every form route gets 400 with its form, no 500', async () => {
    for (const route of FORM_ROUTES) {
      const response = await signedIn.send('POST', route.path, {
        form: route.fields,
        headers: { cookie: twice(signedIn) },
      });
      assert.equal(response.status, 400, route.path);
      assert.match(response.text, route.form, route.path);
      assert.match(response.text, /more than once/, route.path);
    }
    assert.deepEqual(errorLines(running), []);
  });
});

describe('refused posts with a session cookie that names no stored session', () => {
  let running: RunningApp;

  before(async () => {
    running = await startApp();
  });

  after(async () => {
    await running.close();
  });

  const crossSite = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', accept: 'text/html' };

  test('made-up and wrongly signed cookies store no session', async () => {
    const before = sessionRows(running);
    for (const value of ['made-up-value', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.BBBB']) {
      for (let index = 0; index < 10; index++) {
        const response = await new Client(running.origin).send('POST', '/login', {
          form: { email: 'victim@example.com', password: 'guess' },
          headers: { ...crossSite, cookie: `${SESSION_COOKIE}=${value}` },
        });
        assert.equal(response.status, 403, value);
        assert.match(response.text, /<form method="post" action="\/login">/, value);
        assert.doesNotMatch(response.text, /name="_csrf"/, value);
      }
    }
    assert.equal(sessionRows(running) - before, 0);
  });

  test('a cookie of a stored session still gets a fresh token', async () => {
    const client = new Client(running.origin);
    await client.send('GET', '/login');
    const response = await client.send('POST', '/login', {
      form: { email: 'a@example.com', password: 'x' },
      headers: crossSite,
    });
    assert.equal(response.status, 403);
    assert.notEqual(csrfTokenOf(response.text), '');
    assert.doesNotMatch(response.text, RELOAD);
  });
});
