import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { redactTokenPath } from '../src/app.js';
import { ROUTER_ERROR_HEADERS } from '../src/router-errors.js';
import { type Client, type RunningApp, registeredClient, startApp } from './helpers.js';

/** A raw response of node:http, which sends the request target byte for byte. */
interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Sends GET with the target exactly as given (undici would percent-encode `<` and `>`). */
function rawGet(origin: string, target: string, accept?: string): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: hostname, port, path: target, method: 'GET', headers: accept ? { accept } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const BAD_URL = '/%E0%A4%A<script>alert(1)</script>';
const LONG_PARAM_TOKEN = 'T'.repeat(300);
const LONG_PARAM = `/password-reset/${LONG_PARAM_TOKEN}`;

describe('router errors', () => {
  let running: RunningApp;

  before(async () => {
    running = await startApp();
  });

  after(async () => {
    await running.close();
  });

  for (const [name, target, status, message] of [
    ['undecodable URL /%E0%A4%A<script>', BAD_URL, 400, 'The address of this request is not valid.'],
    ['path parameter over maxParamLength', LONG_PARAM, 414, 'The address of this request is too long.'],
  ] as const) {
    test(`${name} gets an HTML page with the security headers and no echo`, async () => {
      const response = await rawGet(running.origin, target, 'text/html,application/xhtml+xml');
      assert.equal(response.status, status);
      assert.match(String(response.headers['content-type']), /^text\/html; charset=utf-8/);
      assert.match(response.text, new RegExp(`<p>${message.replaceAll('.', '\\.')}</p>`));
      for (const [header, value] of Object.entries(ROUTER_ERROR_HEADERS)) {
        assert.equal(response.headers[header], value, header);
      }
      assert.doesNotMatch(response.text, /script|%E0|TTTT|FST_ERR/i, 'the URL is not echoed');
    });

    test(`${name} gets a JSON problem for an API client`, async () => {
      for (const accept of [undefined, 'application/json', '*/*']) {
        const response = await rawGet(running.origin, target, accept);
        assert.equal(response.status, status, String(accept));
        assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
        assert.equal(response.headers['x-content-type-options'], 'nosniff');
        assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
        const body = JSON.parse(response.text) as Record<string, unknown>;
        assert.deepEqual(body, {
          type: 'about:blank',
          title: status === 400 ? 'Bad Request' : 'URI Too Long',
          status,
          detail: message,
        });
      }
    });
  }

  test('router errors carry every header of the plugin 404', async () => {
    const notFound = await rawGet(running.origin, '/no-such-page', 'text/html');
    assert.equal(notFound.status, 404);
    const routerError = await rawGet(running.origin, BAD_URL, 'text/html');
    const ignored = new Set(['date', 'connection', 'keep-alive', 'content-length', 'content-type']);
    const missing = Object.keys(notFound.headers).filter(
      (name) =>
        !ignored.has(name) && !name.startsWith('ratelimit') && routerError.headers[name] === undefined,
    );
    assert.deepEqual(missing, [], 'headers of the 404 that the router error lacks');
  });

  test('the too-long reset token is not logged', async () => {
    await rawGet(running.origin, LONG_PARAM);
    const logged = JSON.stringify(running.logs);
    assert.ok(logged.includes('FST_ERR_MAX_PARAM_LENGTH'), 'the refusal is logged');
    assert.ok(!logged.includes(LONG_PARAM_TOKEN), 'the token never appears in the log');
  });
});

describe('reset token in the request log', () => {
  let running: RunningApp;

  before(async () => {
    running = await startApp();
  });

  after(async () => {
    await running.close();
  });

  test('/%70assword-reset/<token> is redacted like /password-reset/<token>', async () => {
    const token = 'SecretResetToken0123456789abcdef';
    for (const target of [
      `/password-reset/${token}`,
      `/%70assword-reset/${token}`,
      `/%70%61%73%73word-reset/${token}?x=1`,
      `/password%2Dreset/${token}`,
      `/password-reset/%${token.slice(0, 2)}${token.slice(2)}`,
    ]) {
      const response = await rawGet(running.origin, target, 'text/html');
      assert.ok(response.status < 500, `${target}: ${response.status}`);
    }
    const logged = JSON.stringify(running.logs);
    assert.ok(logged.includes('/password-reset/[redacted]'));
    assert.ok(!logged.includes(token.slice(4)), 'no spelling of the path logs the token');
  });

  test('redactTokenPath keeps other paths and the query', () => {
    assert.equal(redactTokenPath('/password-reset'), '/password-reset');
    assert.equal(redactTokenPath('/password-reset/'), '/password-reset/');
    assert.equal(redactTokenPath('/notes?x=1'), '/notes?x=1');
    assert.equal(redactTokenPath('/%70assword-reset/abc?next=1'), '/password-reset/[redacted]?next=1');
    assert.equal(redactTokenPath('/%E0%A4%A/password-reset/abc'), '/%E0%A4%A/password-reset/abc');
  });
});

describe('client error titles', () => {
  let running: RunningApp;
  let user: Client;

  before(async () => {
    running = await startApp();
    user = await registeredClient(running.origin, 'titles@example.com', 'correct horse battery');
  });

  after(async () => {
    await running.close();
  });

  test('an oversized JSON note gets a 413 problem titled Payload Too Large, not Bad Request', async () => {
    const me = await user.send('GET', '/api/me', { headers: { accept: 'application/json' } });
    const { csrfToken } = JSON.parse(me.text) as { csrfToken: string };
    const response = await user.send('POST', '/api/notes', {
      json: { body: 'x'.repeat(300 * 1024) },
      headers: { accept: 'application/json', 'x-csrf-token': csrfToken },
    });
    assert.equal(response.status, 413);
    const problem = JSON.parse(response.text) as { title: string; status: number };
    assert.equal(problem.status, 413);
    assert.equal(problem.title, 'Payload Too Large');
  });

  test('invalid UTF-8 in a JSON note gets 400, not U+FFFD stored', async () => {
    const me = await user.send('GET', '/api/me', { headers: { accept: 'application/json' } });
    const { csrfToken } = JSON.parse(me.text) as { csrfToken: string };
    for (const bytes of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80]]) {
      const response = await user.send('POST', '/api/notes', {
        rawBody: Buffer.concat([Buffer.from('{"body":"a'), Buffer.from(bytes), Buffer.from('b"}')]),
        contentType: 'application/json',
        headers: { accept: 'application/json', 'x-csrf-token': csrfToken },
      });
      assert.equal(response.status, 400, String(bytes));
      assert.match(response.text, /not valid UTF-8/);
    }
    const valid = await user.send('POST', '/api/notes', {
      json: { body: 'caf\u00e9 \u{1F600}' },
      headers: { accept: 'application/json', 'x-csrf-token': csrfToken },
    });
    assert.equal(valid.status, 201);
    const list = await user.send('GET', '/notes');
    assert.ok(list.text.includes('caf\u00e9 \u{1F600}'));
    assert.ok(!list.text.includes('\uFFFD'), 'no replacement character was stored');
  });
});
