import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Client,
  csrfTokenOf,
  type Response,
  type RunningApp,
  registeredClient,
  startApp,
} from './helpers.js';

const PASSWORD = 'correct horse battery';

describe('forms shown again after a rate limit', () => {
  let running: RunningApp;

  before(async () => {
    running = await startApp();
  });

  after(async () => {
    await running.close();
  });

  /** Posts the form with fresh tokens until the app returns 429, at most `limit` times. */
  async function postUntilLimited(
    client: Client,
    path: string,
    fields: Record<string, string>,
    limit: number,
  ): Promise<Response> {
    let response: Response | undefined;
    for (let attempt = 0; attempt < limit; attempt++) {
      const page = await client.send('GET', path);
      response = await client.send('POST', path, { form: { _csrf: csrfTokenOf(page.text), ...fields } });
      if (response.status === 429) return response;
    }
    assert.fail(`no 429 after ${limit} posts to ${path}; last status ${response?.status}`);
  }

  test('login form comes back with the email and the wait', async () => {
    await registeredClient(running.origin, 'limited@example.com', PASSWORD);
    const client = new Client(running.origin);
    const response = await postUntilLimited(
      client,
      '/login',
      { email: 'limited@example.com', password: 'wrong password' },
      30,
    );

    assert.match(response.headers['content-type'] as string, /^text\/html/);
    assert.match(response.text, /<form method="post" action="\/login">/);
    assert.match(response.text, /value="limited@example.com"/, 'the typed email is kept');
    assert.doesNotMatch(response.text, /wrong password/, 'the password is not');
    assert.match(response.text, /Try again in \d+ (second|seconds|minutes)\./);
    assert.match(String(response.headers['retry-after']), /^\d+$/);
    assert.notEqual(csrfTokenOf(response.text), '', 'the form carries a fresh CSRF token');
  });

  test('reset request form comes back with the email and the wait', async () => {
    const client = new Client(running.origin);
    const response = await postUntilLimited(
      client,
      '/password-reset',
      { email: 'reset-limited@example.com' },
      30,
    );

    assert.match(response.text, /<form method="post" action="\/password-reset">/);
    assert.match(response.text, /value="reset-limited@example.com"/);
    assert.match(response.text, /Try again in \d+ (second|seconds|minutes)\./);
  });

  test('account probing through register is limited', async () => {
    await registeredClient(running.origin, 'probed@example.com', PASSWORD);
    const client = new Client(running.origin);
    const response = await postUntilLimited(
      client,
      '/register',
      { email: 'probed@example.com', password: 'another long password' },
      25,
    );

    assert.equal(response.status, 429);
    assert.match(response.text, /<form method="post" action="\/register">/);
    assert.match(response.text, /value="probed@example.com"/);
    assert.doesNotMatch(response.text, /another long password/);
  });
});
