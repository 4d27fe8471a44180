import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { startServer } from './headers-helpers.js';

const SECRET_MESSAGE = 'connect ECONNREFUSED 10.0.0.7:5432 user=app password=hunter2';

interface LogLine {
  level: number;
  event?: string;
  msg?: string;
  err?: { message?: string; stack?: string };
  status?: number;
}

describe('plugin-wide error handler', () => {
  let app: FastifyInstance;
  let url: string;
  const logLines: string[] = [];

  before(async () => {
    ({ app, url } = await startServer({
      bodyLimit: 1024,
      logLines,
      routes: (server) => {
        server.post('/echo', async (request) => ({ received: request.body }));
        server.post(
          '/validated',
          {
            schema: {
              body: {
                type: 'object',
                required: ['email'],
                properties: { email: { type: 'string', maxLength: 5 } },
              },
            },
          },
          async () => ({ ok: true }),
        );
        server.get('/throws', async () => {
          throw new Error(SECRET_MESSAGE);
        });
        server.get('/throws-string', async () => {
          throw SECRET_MESSAGE;
        });
        server.get('/throws-4xx', async () => {
          throw Object.assign(new Error(SECRET_MESSAGE), { statusCode: 409 });
        });
        server.get('/throws-exposed', async () => {
          throw Object.assign(new Error('That note was deleted.'), { statusCode: 410, expose: true });
        });
        server.get('/throws-html', async () => {
          throw Object.assign(new Error('<script>alert(1)</script>'), { statusCode: 400, expose: true });
        });
      },
    }));
  });

  after(async () => {
    await app.close();
  });

  function assertNoLeak(body: string): void {
    assert.ok(!body.includes('hunter2'), body);
    assert.ok(!body.includes('ECONNREFUSED'), body);
    assert.ok(!/\bat .*\.(ts|js):\d+/.test(body), body);
    assert.ok(!body.includes('node_modules'), body);
  }

  async function post(path: string, contentType: string, body: string, accept = 'application/json') {
    const response = await request(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': contentType, accept },
      body,
    });
    return {
      status: response.statusCode,
      type: String(response.headers['content-type']),
      body: await response.body.text(),
    };
  }

  test('malformed JSON body gets 400 without the parser message', async () => {
    const response = await post('/echo', 'application/json', '{"name": <img src=x onerror=alert(1)>');
    assert.equal(response.status, 400);
    assert.match(response.type, /^application\/problem\+json/);
    assert.deepEqual(JSON.parse(response.body), {
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'The request body is not valid JSON.',
    });
  });

  test('empty JSON body gets 400', async () => {
    const response = await post('/echo', 'application/json', '');
    assert.equal(response.status, 400);
    assert.equal(JSON.parse(response.body).detail, 'The request body is empty but its content type is JSON.');
  });

  test('too large body gets 413', async () => {
    const response = await post('/echo', 'application/json', JSON.stringify({ text: 'x'.repeat(4096) }));
    assert.equal(response.status, 413);
    assert.equal(JSON.parse(response.body).detail, 'The request body is too large.');
  });

  test('unsupported content type gets 415', async () => {
    const response = await post('/echo', 'application/x-evil', 'a=1');
    assert.equal(response.status, 415);
    assert.equal(JSON.parse(response.body).detail, 'The request content type is not supported.');
    assert.ok(!response.body.includes('x-evil'));
  });

  test('schema validation keeps its field message', async () => {
    const response = await post('/validated', 'application/json', JSON.stringify({ email: 'toolong' }));
    assert.equal(response.status, 400);
    assert.equal(JSON.parse(response.body).detail, 'body/email must NOT have more than 5 characters');
  });

  test('throwing route gets a generic 500', async () => {
    const response = await request(`${url}/throws`, { headers: { accept: 'application/json' } });
    const body = await response.body.text();
    assert.equal(response.statusCode, 500);
    assertNoLeak(body);
    assert.deepEqual(JSON.parse(body), {
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Something went wrong on our side. Try again later.',
    });
  });

  test('throwing route gets a generic HTML 500', async () => {
    const response = await request(`${url}/throws`, {
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    const body = await response.body.text();
    assert.equal(response.statusCode, 500);
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assertNoLeak(body);
    assert.ok(body.includes('<h1>500 Internal Server Error</h1>'));
  });

  test('thrown string gets a generic 500', async () => {
    const response = await request(`${url}/throws-string`);
    const body = await response.body.text();
    assert.equal(response.statusCode, 500);
    assertNoLeak(body);
  });

  test('4xx error keeps status but not its internal message', async () => {
    const response = await request(`${url}/throws-4xx`);
    const body = await response.body.text();
    assert.equal(response.statusCode, 409);
    assertNoLeak(body);
    assert.equal(JSON.parse(body).detail, 'Conflict.');
  });

  test('exposed 4xx error keeps its message', async () => {
    const response = await request(`${url}/throws-exposed`);
    assert.equal(response.statusCode, 410);
    assert.equal(JSON.parse(await response.body.text()).detail, 'That note was deleted.');
  });

  test('exposed message escaped in HTML', async () => {
    const response = await request(`${url}/throws-html`, { headers: { accept: 'text/html' } });
    const body = await response.body.text();
    assert.ok(!body.includes('<script>'));
    assert.ok(body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  });

  test('not found has the same shape', async () => {
    const response = await request(`${url}/nothing/<script>`);
    const body = await response.body.text();
    assert.equal(response.statusCode, 404);
    assert.deepEqual(JSON.parse(body), {
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'There is nothing at this address.',
    });
  });

  test('5xx logged at error level with the error', async () => {
    logLines.length = 0;
    const response = await request(`${url}/throws`);
    await response.body.text();
    const lines = logLines.map((line) => JSON.parse(line) as LogLine);
    const failure = lines.find((line) => line.event === 'request.failed');
    assert.ok(failure, JSON.stringify(lines));
    assert.equal(failure.level, 50);
    assert.equal(failure.err?.message, SECRET_MESSAGE);
  });

  test('4xx logged at info level without the body', async () => {
    logLines.length = 0;
    const response = await post('/echo', 'application/json', '{"password": "hunter2"');
    assert.equal(response.status, 400);
    const lines = logLines.map((line) => JSON.parse(line) as LogLine);
    const rejected = lines.find((line) => line.event === 'request.invalid');
    assert.ok(rejected, JSON.stringify(lines));
    assert.equal(rejected.level, 30);
    assert.equal(rejected.status, 400);
    assert.ok(!logLines.join('\n').includes('hunter2'));
  });
});
