import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HardenConfigError } from '@harden/core';
import type { FastifyInstance } from 'fastify';
import { Agent, request } from 'undici';
import { type HttpsOptions, resolveHttpsOptions } from '../src/https.js';
import { makeCertificate, startServer } from './headers-helpers.js';

const DEFAULT_HSTS = 'max-age=63072000; includeSubDomains';

async function hstsOf(
  url: string,
  headers: Record<string, string> = {},
  dispatcher?: Agent,
): Promise<string | undefined> {
  const response = await request(url, { headers, ...(dispatcher && { dispatcher }) });
  await response.body.text();
  const value = response.headers['strict-transport-security'];
  return value === undefined ? undefined : String(value);
}

describe('HSTS over TLS', () => {
  let app: FastifyInstance;
  let url: string;
  let agent: Agent;

  before(async () => {
    const tls = makeCertificate();
    ({ app, url } = await startServer({ tls, routes: (server) => server.get('/', async () => 'ok') }));
    agent = new Agent({ connect: { ca: tls.cert } });
  });

  after(async () => {
    await agent.close();
    await app.close();
  });

  test('HSTS present over HTTPS', async () => {
    assert.ok(url.startsWith('https://'));
    assert.equal(await hstsOf(url, {}, agent), DEFAULT_HSTS);
  });

  test('HSTS present on HTTPS 404', async () => {
    assert.equal(await hstsOf(`${url}/missing`, {}, agent), DEFAULT_HSTS);
  });

  test('HSTS present over HTTPS despite X-Forwarded-Proto http', async () => {
    assert.equal(await hstsOf(url, { 'x-forwarded-proto': 'http' }, agent), DEFAULT_HSTS);
  });
});

describe('HSTS over plain HTTP, no trusted proxy', () => {
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    ({ app, url } = await startServer({
      trustProxy: false,
      routes: (server) => server.get('/', async () => 'ok'),
    }));
  });

  after(async () => {
    await app.close();
  });

  test('HSTS absent over HTTP', async () => {
    assert.equal(await hstsOf(url), undefined);
  });

  // Every header an untrusted client could send to claim that the request came over HTTPS.
  const spoofs: Record<string, string>[] = [
    { 'x-forwarded-proto': 'https' },
    { 'x-forwarded-proto': 'HTTPS' },
    { 'x-forwarded-proto': 'https, http' },
    { 'x-forwarded-proto': 'http, https' },
    { forwarded: 'proto=https' },
    { forwarded: 'for=127.0.0.1;proto=https;host=app.test' },
    { 'x-forwarded-ssl': 'on' },
    { 'front-end-https': 'on' },
    { 'x-forwarded-scheme': 'https' },
    { 'x-url-scheme': 'https' },
    { 'x-forwarded-port': '443' },
  ];
  for (const headers of spoofs) {
    test(`HSTS absent for untrusted ${JSON.stringify(headers)}`, async () => {
      assert.equal(await hstsOf(url, headers), undefined);
    });
  }
});

describe('HSTS behind a trusted proxy', () => {
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    ({ app, url } = await startServer({
      trustProxy: '127.0.0.1',
      routes: (server) => server.get('/', async () => 'ok'),
    }));
  });

  after(async () => {
    await app.close();
  });

  test('HSTS present for trusted X-Forwarded-Proto https', async () => {
    assert.equal(await hstsOf(url, { 'x-forwarded-proto': 'https' }), DEFAULT_HSTS);
  });

  test('HSTS present for trusted X-Forwarded-Proto HTTPS', async () => {
    assert.equal(await hstsOf(url, { 'x-forwarded-proto': 'HTTPS' }), DEFAULT_HSTS);
  });

  test('HSTS absent when the nearest proxy says http', async () => {
    assert.equal(await hstsOf(url, { 'x-forwarded-proto': 'https, http' }), undefined);
  });

  test('HSTS absent without X-Forwarded-Proto', async () => {
    assert.equal(await hstsOf(url), undefined);
  });

  // Fastify reads only X-Forwarded-Proto, so the other spellings do not count even from a trusted proxy.
  const otherHeaders: Record<string, string>[] = [
    { forwarded: 'proto=https' },
    { 'x-forwarded-ssl': 'on' },
    { 'front-end-https': 'on' },
  ];
  for (const headers of otherHeaders) {
    test(`HSTS absent for trusted ${JSON.stringify(headers)}`, async () => {
      assert.equal(await hstsOf(url, headers), undefined);
    });
  }
});

describe('HSTS options', () => {
  async function hstsWith(https: HttpsOptions): Promise<string | undefined> {
    const { app, url } = await startServer({
      https,
      trustProxy: true,
      routes: (server) => server.get('/', async () => 'ok'),
    });
    try {
      return await hstsOf(url, { 'x-forwarded-proto': 'https' });
    } finally {
      await app.close();
    }
  }

  function errorOf(https: unknown): string {
    try {
      resolveHttpsOptions(https as HttpsOptions);
    } catch (error) {
      assert.ok(error instanceof HardenConfigError, String(error));
      return error.message;
    }
    assert.fail('expected a HardenConfigError');
  }

  test('preload only when asked', async () => {
    assert.equal(await hstsWith({ hsts: { preload: true } }), 'max-age=63072000; includeSubDomains; preload');
  });

  test('one-year max-age accepted', async () => {
    assert.equal(await hstsWith({ hsts: { maxAge: 31536000 } }), 'max-age=31536000; includeSubDomains');
  });

  test('short max-age through the dangerous option', async () => {
    assert.equal(
      await hstsWith({ hsts: { maxAge: 300, dangerouslyAllowShortMaxAge: true } }),
      'max-age=300; includeSubDomains',
    );
  });

  test('subdomains excluded through the dangerous option', async () => {
    assert.equal(await hstsWith({ hsts: { dangerouslyExcludeSubDomains: true } }), 'max-age=63072000');
  });

  test('HSTS turned off', async () => {
    assert.equal(await hstsWith({ dangerouslyDisableHsts: true }), undefined);
  });

  const cases: [string, unknown, string][] = [
    [
      'max-age below one year',
      { hsts: { maxAge: 86400 } },
      'Invalid option https.hsts.maxAge = 86400: it is less than one year, so browsers forget to insist on HTTPS between visits. Fix: give at least 31536000 (one year), or set dangerouslyAllowShortMaxAge: true for a trial',
    ],
    [
      'max-age not a whole number',
      { hsts: { maxAge: '1y' } },
      'Invalid option https.hsts.maxAge = "1y": it is not a whole number of seconds. Fix: give seconds, such as 63072000 for two years',
    ],
    [
      'preload without includeSubDomains',
      { hsts: { preload: true, dangerouslyExcludeSubDomains: true } },
      "Invalid option https.hsts.preload = true: the browsers' preload lists accept only a policy with includeSubDomains and a max-age of at least one year. Fix: remove dangerouslyExcludeSubDomains and dangerouslyAllowShortMaxAge, or leave preload off",
    ],
    [
      'preload with a short max-age',
      { hsts: { preload: true, maxAge: 600, dangerouslyAllowShortMaxAge: true } },
      "Invalid option https.hsts.preload = true: the browsers' preload lists accept only a policy with includeSubDomains and a max-age of at least one year. Fix: remove dangerouslyExcludeSubDomains and dangerouslyAllowShortMaxAge, or leave preload off",
    ],
    [
      'misspelled includeSubdomains',
      { hsts: { includeSubdomains: false } },
      'Invalid option https.hsts.includeSubdomains = false: it is not an option of https.hsts. Fix: use one of maxAge, preload, dangerouslyExcludeSubDomains, dangerouslyAllowShortMaxAge',
    ],
    [
      'unknown https option',
      { redirect: true },
      'Invalid option https.redirect = true: it is not an option of https. Fix: use one of hsts, dangerouslyDisableHsts, forceHttps, httpsPort, redirectHosts, exemptPaths',
    ],
    [
      'exempt path with a query',
      { exemptPaths: ['/healthz?full=1'] },
      `Invalid option https.exemptPaths[0] = "/healthz?full=1": it is not a path. Fix: write a path that starts with '/' and has no query, such as '/healthz'`,
    ],
    [
      'redirect host with a port',
      { redirectHosts: ['notes.example:8443'] },
      `Invalid option https.redirectHosts[0] = "notes.example:8443": it is not a host name. Fix: write a name without scheme or port, such as 'notes.example'`,
    ],
    [
      'HTTPS port out of range',
      { httpsPort: 70000 },
      'Invalid option https.httpsPort = 70000: it is not a TCP port. Fix: give an integer from 1 to 65535',
    ],
    [
      'preload as a string',
      { hsts: { preload: 'yes' } },
      'Invalid option https.hsts.preload = "yes": it is not a boolean. Fix: write true or false',
    ],
    [
      'forceHttps as a string',
      { forceHttps: 'true' },
      'Invalid option https.forceHttps = "true": it is not a boolean. Fix: write true or false',
    ],
  ];
  for (const [name, options, message] of cases) {
    test(`rejects ${name}`, () => {
      assert.equal(errorOf(options), message);
    });
  }
});
