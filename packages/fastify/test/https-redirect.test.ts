import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import type { HttpsOptions } from '../src/https.js';
import { rawRequest, startServer } from './headers-helpers.js';

function routes(server: FastifyInstance): void {
  const ok = async () => 'ok';
  server.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/notes', handler: ok });
  server.get('/healthz', { config: { harden: { https: { exempt: true } } } }, ok);
  server.get('/status', ok);
}

async function start(https: HttpsOptions, extra: { origin?: string; trustProxy?: string | boolean } = {}) {
  return startServer({ https: { forceHttps: true, ...https }, routes, ...extra });
}

async function send(url: string, method: string, headers: Record<string, string> = {}) {
  const response = await request(url, {
    method,
    headers,
    ...(method !== 'GET' && method !== 'HEAD' && { body: 'a=1' }),
  });
  const body = await response.body.text();
  return {
    status: response.statusCode,
    location: response.headers.location,
    hsts: response.headers['strict-transport-security'],
    body,
  };
}

describe('forceHttps with a public origin', () => {
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    ({ app, url } = await start({ exemptPaths: ['/status'] }, { origin: 'https://app.test' }));
  });

  after(async () => {
    await app.close();
  });

  for (const method of ['GET', 'HEAD']) {
    test(`${method} over HTTP gets 301`, async () => {
      const response = await send(`${url}/notes?page=2&q=a%20b`, method);
      assert.equal(response.status, 301);
      assert.equal(response.location, 'https://app.test/notes?page=2&q=a%20b');
      assert.equal(response.hsts, undefined);
    });
  }

  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    test(`${method} over HTTP gets 308`, async () => {
      const response = await send(`${url}/notes`, method, {
        'content-type': 'application/x-www-form-urlencoded',
      });
      assert.equal(response.status, 308);
      assert.equal(response.location, 'https://app.test/notes');
    });
  }

  test('unknown path is redirected too', async () => {
    const response = await send(`${url}/missing`, 'GET');
    assert.equal(response.status, 301);
    assert.equal(response.location, 'https://app.test/missing');
  });

  test('exempt route served over HTTP', async () => {
    const response = await send(`${url}/healthz`, 'GET');
    assert.equal(response.status, 200);
    assert.equal(response.body, 'ok');
  });

  test('exempt path served over HTTP', async () => {
    assert.equal((await send(`${url}/status`, 'GET')).status, 200);
    assert.equal((await send(`${url}/status?verbose=1`, 'GET')).status, 200);
  });

  test('exempt path match is exact', async () => {
    assert.equal((await send(`${url}/status/`, 'GET')).status, 301);
    assert.equal((await send(`${url}/STATUS`, 'GET')).status, 301);
  });

  test('untrusted X-Forwarded-Proto does not suppress the redirect', async () => {
    const spoofs: Record<string, string>[] = [
      { 'x-forwarded-proto': 'https' },
      { forwarded: 'proto=https' },
      { 'x-forwarded-ssl': 'on' },
    ];
    for (const headers of spoofs) {
      const response = await send(`${url}/notes`, 'GET', headers);
      assert.equal(response.status, 301, JSON.stringify(headers));
    }
  });

  // The redirect target comes from the configured origin, whatever Host the client sends.
  const hosts = ['evil.test', 'a@evil.test', 'evil.test/path', 'evil.test:443', `${'a'.repeat(300)}.test`];
  for (const host of hosts) {
    test(`Host ${host.slice(0, 40)} does not choose the target`, async () => {
      const response = await send(`${url}/notes`, 'GET', { host });
      assert.equal(response.status, 301);
      assert.equal(response.location, 'https://app.test/notes');
    });
  }

  test('absolute-form request target is not redirected to its host', async () => {
    const response = await rawRequest(
      url,
      'GET http://evil.test/notes HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n',
    );
    assert.notEqual(response.status, 301);
    assert.equal(response.headers.location, undefined);
  });
});

describe('forceHttps behind a trusted proxy', () => {
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    ({ app, url } = await start({}, { origin: 'https://app.test', trustProxy: '127.0.0.1' }));
  });

  after(async () => {
    await app.close();
  });

  test('no redirect loop behind a TLS proxy', async () => {
    const response = await send(`${url}/notes`, 'GET', { 'x-forwarded-proto': 'https' });
    assert.equal(response.status, 200);
    assert.equal(response.hsts, 'max-age=63072000; includeSubDomains');
  });

  test('proxy reporting plain HTTP gets the redirect', async () => {
    const response = await send(`${url}/notes`, 'POST', { 'x-forwarded-proto': 'http' });
    assert.equal(response.status, 308);
  });
});

describe('forceHttps without a public origin', () => {
  let app: FastifyInstance;
  let url: string;
  let port: string;

  before(async () => {
    ({ app, url } = await start({ httpsPort: 8443 }));
    port = new URL(url).port;
  });

  after(async () => {
    await app.close();
  });

  test('redirect keeps the Host name with the HTTPS port', async () => {
    const response = await send(`${url}/notes?x=1`, 'GET');
    assert.equal(response.status, 301);
    assert.equal(response.location, 'https://127.0.0.1:8443/notes?x=1');
  });

  test('IPv6 Host literal kept', async () => {
    const response = await send(`${url}/notes`, 'GET', { host: '[::1]:80' });
    assert.equal(response.location, 'https://[::1]:8443/notes');
  });

  // Host values that would put user info, a path, a second header or garbage into the Location header.
  const malformed = [
    'a@evil.test',
    'evil.test/path',
    'evil.test\\path',
    'evil.test?x',
    'evil.test#x',
    'evil .test',
    'evil.test:99999999',
    `${'a'.repeat(300)}.test`,
    '-evil.test',
    '',
  ];
  for (const host of malformed) {
    test(`malformed Host ${JSON.stringify(host.slice(0, 40))} gets 400`, async () => {
      const response = await rawRequest(
        url,
        `GET /notes HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(response.status, 400);
      assert.equal(response.headers.location, undefined);
    });
  }

  test('Host with a CRLF gets 400 and no header', async () => {
    const response = await rawRequest(
      url,
      `GET /notes HTTP/1.1\r\nHost: evil.test\r\nSet-Cookie: a=1\r\nX: ${port}\r\nHost: x\rLocation: https://evil.test\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(response.status, 400);
    assert.equal(response.headers.location, undefined);
    assert.equal(response.headers['set-cookie'], undefined);
  });

  test('duplicate Host gets 400', async () => {
    const response = await rawRequest(
      url,
      'GET /notes HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n',
    );
    assert.equal(response.status, 400);
    assert.equal(response.headers.location, undefined);
  });

  test('rejection is a JSON problem', async () => {
    const response = await rawRequest(
      url,
      'GET /notes HTTP/1.1\r\nHost: a@evil.test\r\nAccept: application/json\r\nConnection: close\r\n\r\n',
    );
    assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.equal(JSON.parse(response.body).reason, 'invalid-host');
  });
});

describe('forceHttps with redirect hosts', () => {
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    ({ app, url } = await start({ redirectHosts: ['app.test'] }));
  });

  after(async () => {
    await app.close();
  });

  test('listed Host redirected', async () => {
    const response = await send(`${url}/notes`, 'GET', { host: 'APP.test:8080' });
    assert.equal(response.location, 'https://app.test/notes');
  });

  test('unlisted Host gets 400', async () => {
    for (const host of ['evil.test', 'app.test.evil.test', 'evilapp.test']) {
      const response = await send(`${url}/notes`, 'GET', { host });
      assert.equal(response.status, 400, host);
      assert.equal(response.location, undefined);
    }
  });
});

describe('route https config validation', () => {
  async function errorOf(https: unknown): Promise<string> {
    try {
      const { app } = await startServer({
        routes: (server) => {
          server.get(
            '/route',
            { config: { harden: { https: https as { exempt: boolean } } } },
            async () => 'ok',
          );
        },
      });
      await app.close();
    } catch (error) {
      return (error as Error).message;
    }
    assert.fail('expected the route to be rejected');
  }

  test('unknown route https option at route add', async () => {
    assert.equal(
      await errorOf({ exempted: true }),
      'Invalid option [GET /route] config.harden.https.exempted = true: it is not a route https option. Fix: use exempt',
    );
  });

  test('non-boolean exempt at route add', async () => {
    assert.equal(
      await errorOf({ exempt: 'yes' }),
      'Invalid option [GET /route] config.harden.https.exempt = "yes": it is not a boolean. Fix: write true or false',
    );
  });
});

test('redirect host from request warned at start', async () => {
  const logLines: string[] = [];
  const { app } = await startServer({ https: { forceHttps: true }, logLines });
  await app.close();
  const events = logLines.map((line) => JSON.parse(line) as { event?: string; level: number });
  const warning = events.find((line) => line.event === 'https.redirect_host_from_request');
  assert.ok(warning, logLines.join('\n'));
  assert.equal(warning.level, 40);
});

test('no warning with a public origin', async () => {
  const logLines: string[] = [];
  const { app } = await startServer({ https: { forceHttps: true }, origin: 'https://app.test', logLines });
  await app.close();
  assert.ok(!logLines.some((line) => line.includes('https.redirect_host_from_request')));
});
