import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  Client,
  csrfTokenOf,
  outboxCount,
  type RunningApp,
  readOutbox,
  registeredClient,
  startApp,
} from './helpers.js';

const OLD_PASSWORD = 'old password 123';
const NEW_PASSWORD = 'new password 456';

/** Reads the reset link out of a message in the outbox. */
function resetPathOf(mail: string): string {
  const match = /http:\/\/127\.0\.0\.1:\d+(\/password-reset\/[A-Za-z0-9_-]+)/.exec(mail);
  assert.ok(match?.[1], `no reset link in the mail:\n${mail}`);
  return match[1];
}

describe('password reset', () => {
  let running: RunningApp;
  let mailsSent = 0;

  before(async () => {
    running = await startApp();
  });

  after(async () => {
    await running.close();
  });

  /** Requests a reset for the email and returns the link of the mail it produced. */
  async function requestReset(email: string): Promise<string> {
    const response = await new Client(running.origin).submit('/password-reset', '/password-reset', { email });
    assert.equal(response.status, 200);
    mailsSent++;
    const mails = await readOutbox(running.dataDir, mailsSent);
    return resetPathOf(mails.at(-1) ?? '');
  }

  async function setPassword(resetPath: string, password: string) {
    return new Client(running.origin).submit(resetPath, resetPath, { password });
  }

  test('reset flow through the outbox sets a new password', async () => {
    await registeredClient(running.origin, 'reset@example.com', OLD_PASSWORD);
    const resetPath = await requestReset('reset@example.com');

    const form = await new Client(running.origin).send('GET', resetPath);
    assert.equal(form.status, 200);
    assert.match(form.text, /Choose a new password/);

    const changed = await setPassword(resetPath, NEW_PASSWORD);
    assert.equal(changed.status, 200, changed.text);
    assert.match(changed.text, /Your password was changed/);

    const oldLogin = await new Client(running.origin).submit('/login', '/login', {
      email: 'reset@example.com',
      password: OLD_PASSWORD,
    });
    assert.equal(oldLogin.status, 401);
    const newLogin = await new Client(running.origin).submit('/login', '/login', {
      email: 'reset@example.com',
      password: NEW_PASSWORD,
    });
    assert.equal(newLogin.status, 303);
  });

  test('reset token works only once', async () => {
    await registeredClient(running.origin, 'once@example.com', OLD_PASSWORD);
    const resetPath = await requestReset('once@example.com');
    assert.equal((await setPassword(resetPath, NEW_PASSWORD)).status, 200);

    const reused = await setPassword(resetPath, 'attacker password');
    assert.equal(reused.status, 400);
    assert.match(reused.text, /invalid, already used or expired/);
    assert.equal((await new Client(running.origin).send('GET', resetPath)).status, 400);
    const login = await new Client(running.origin).submit('/login', '/login', {
      email: 'once@example.com',
      password: NEW_PASSWORD,
    });
    assert.equal(login.status, 303, 'the second use changed nothing');
  });

  test('expired reset token is refused', async () => {
    await registeredClient(running.origin, 'expired@example.com', OLD_PASSWORD);
    const resetPath = await requestReset('expired@example.com');
    const db = new Database(`${running.dataDir}/notes.sqlite`);
    try {
      db.prepare('UPDATE password_resets SET expires_at = ? WHERE used_at IS NULL').run(Date.now() - 1);
    } finally {
      db.close();
    }

    assert.equal((await new Client(running.origin).send('GET', resetPath)).status, 400);
    const response = await setPassword(resetPath, NEW_PASSWORD);
    assert.equal(response.status, 400);
    assert.match(response.text, /invalid, already used or expired/);
  });

  test('reset token is stored only as its hash', async () => {
    await registeredClient(running.origin, 'hashed@example.com', OLD_PASSWORD);
    const resetPath = await requestReset('hashed@example.com');
    const token = resetPath.split('/').at(-1) ?? '';
    const db = new Database(`${running.dataDir}/notes.sqlite`, { readonly: true });
    try {
      const hashes = db.prepare('SELECT token_hash FROM password_resets').pluck().all() as string[];
      assert.ok(hashes.length > 0);
      assert.ok(hashes.every((hash) => /^[0-9a-f]{64}$/.test(hash)));
      assert.ok(!hashes.includes(token));
    } finally {
      db.close();
    }
  });

  test('unknown email gets the same answer and no mail', async () => {
    await registeredClient(running.origin, 'known@example.com', OLD_PASSWORD);
    const known = await new Client(running.origin).submit('/password-reset', '/password-reset', {
      email: 'known@example.com',
    });
    mailsSent++;
    await readOutbox(running.dataDir, mailsSent);
    const unknown = await new Client(running.origin).submit('/password-reset', '/password-reset', {
      email: 'unknown@example.com',
    });

    assert.equal(known.status, unknown.status);
    const strip = (page: string) =>
      page.replace(/name="_csrf" value="[^"]*"/g, '').replace(/nonce="[^"]*"/g, '');
    assert.equal(strip(known.text), strip(unknown.text));
    // Give a mail that should not exist the time to appear before counting.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(outboxCount(running.dataDir), mailsSent);
  });

  test('reset signs out sessions opened before it', async () => {
    const stolen = await registeredClient(running.origin, 'revoke@example.com', OLD_PASSWORD);
    assert.equal((await stolen.send('GET', '/notes')).status, 200);

    const resetPath = await requestReset('revoke@example.com');
    assert.equal((await setPassword(resetPath, NEW_PASSWORD)).status, 200);

    const afterReset = await stolen.send('GET', '/notes');
    assert.equal(afterReset.status, 303);
    assert.equal(afterReset.location, '/login');
  });

  test('reset token never appears in the log', async () => {
    await registeredClient(running.origin, 'log@example.com', OLD_PASSWORD);
    const resetPath = await requestReset('log@example.com');
    const token = resetPath.split('/').at(-1) ?? '';
    await new Client(running.origin).send('GET', resetPath);
    await setPassword(resetPath, NEW_PASSWORD);

    const logText = running.logs.map((line) => JSON.stringify(line)).join('\n');
    assert.ok(token.length === 43);
    assert.ok(!logText.includes(token), 'the token is not logged');
    assert.ok(!logText.includes(NEW_PASSWORD), 'the password is not logged');
    assert.ok(
      running.logs.some((line) => line.event === 'mail.outbox'),
      'the outbox write is logged',
    );
  });

  test('malformed reset token is refused without a lookup error', async () => {
    for (const token of ['short', 'x'.repeat(43).replace('x', '%'), '..%2F..%2Fetc', 'a'.repeat(150)]) {
      const response = await new Client(running.origin).send('GET', `/password-reset/${token}`);
      assert.equal(response.status, 400, token);
    }
    const page = await new Client(running.origin).send('GET', '/password-reset');
    const post = await new Client(running.origin).send('POST', '/password-reset/short', {
      form: { _csrf: csrfTokenOf(page.text), password: NEW_PASSWORD },
    });
    assert.ok(post.status === 400 || post.status === 403, `status ${post.status}`);
  });
});

// Its own app, because the reset form allows 10 posts a minute per client and the tests above use most.
describe('password reset link origin', () => {
  let running: RunningApp;
  let mailsSent = 0;

  before(async () => {
    running = await startApp();
  });

  after(async () => {
    await running.close();
  });

  test('forged Host header never reaches the reset link', async () => {
    await registeredClient(running.origin, 'host@example.com', OLD_PASSWORD);
    const port = new URL(running.origin).port;
    const forgeries: Record<string, string>[] = [
      { host: `evil.example:${port}`, origin: `http://evil.example:${port}` },
      { 'x-forwarded-host': 'evil.example' },
      { forwarded: 'host=evil.example;proto=https' },
    ];
    for (const headers of forgeries) {
      const client = new Client(running.origin);
      const page = await client.send('GET', '/password-reset', { headers });
      const response = await client.send('POST', '/password-reset', {
        form: { _csrf: csrfTokenOf(page.text), email: 'host@example.com' },
        headers,
      });
      assert.equal(response.status, 200, JSON.stringify(headers));
      mailsSent++;
      const mail = (await readOutbox(running.dataDir, mailsSent)).at(-1) ?? '';
      assert.doesNotMatch(mail, /evil\.example/, JSON.stringify(headers));
      assert.match(mail, new RegExp(`http://127\\.0\\.0\\.1:${port}/password-reset/`));
    }
  });
});
