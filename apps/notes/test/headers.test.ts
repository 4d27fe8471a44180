import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { listenHttpRedirect } from '../src/server.js';
import { Client, csrfTokenOf, type RunningApp, registeredClient, startApp } from './helpers.js';

const PASSWORD = 'correct horse battery';

/** Reads a single-valued response header. */
function header(
  response: { headers: Record<string, string | string[] | undefined> },
  name: string,
): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

describe('security headers over HTTP', () => {
  let running: RunningApp;

  before(async () => {
    running = await startApp();
  });

  after(async () => {
    await running.close();
  });

  test('login page carries every security header', async () => {
    const response = await new Client(running.origin).send('GET', '/login');
    assert.equal(response.status, 200);
    const csp = header(response, 'content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self' 'nonce-[A-Za-z0-9+/=]+'/);
    assert.match(csp, /style-src 'self' 'nonce-[A-Za-z0-9+/=]+'/);
    assert.match(csp, /object-src 'none'/);
    assert.match(csp, /base-uri 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /form-action 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(header(response, 'x-frame-options'), 'DENY');
    assert.equal(header(response, 'x-content-type-options'), 'nosniff');
    assert.equal(header(response, 'referrer-policy'), 'strict-origin-when-cross-origin');
    assert.match(
      header(response, 'permissions-policy') ?? '',
      /camera=\(\).*microphone=\(\)|microphone=\(\).*camera=\(\)/,
    );
    assert.match(header(response, 'permissions-policy') ?? '', /geolocation=\(\)/);
    assert.equal(header(response, 'cross-origin-opener-policy'), 'same-origin');
    assert.equal(header(response, 'cross-origin-resource-policy'), 'same-origin');
    assert.equal(header(response, 'x-powered-by'), undefined);
    assert.equal(header(response, 'server'), undefined);
    assert.equal(header(response, 'cache-control'), 'no-store');
  });

  test('no HSTS over plain HTTP', async () => {
    const response = await new Client(running.origin).send('GET', '/login');
    assert.equal(header(response, 'strict-transport-security'), undefined);
  });

  test('no HSTS when an untrusted client claims HTTPS', async () => {
    const response = await new Client(running.origin).send('GET', '/login', {
      headers: { 'x-forwarded-proto': 'https' },
    });
    assert.equal(header(response, 'strict-transport-security'), undefined);
  });

  test('page nonce matches the CSP and changes per response', async () => {
    const nonces: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await new Client(running.origin).send('GET', '/login');
      const fromCsp = /script-src 'self' 'nonce-([^']+)'/.exec(
        header(response, 'content-security-policy') ?? '',
      )?.[1];
      assert.ok(fromCsp);
      assert.match(response.text, new RegExp(`<style nonce="${fromCsp.replaceAll('+', '\\+')}">`));
      assert.match(response.text, new RegExp(`<script nonce="${fromCsp.replaceAll('+', '\\+')}">`));
      assert.doesNotMatch(
        response.text,
        /\son[a-z]+=|\sstyle=/i,
        'no inline event handler or style attribute',
      );
      nonces.push(fromCsp);
    }
    assert.equal(new Set(nonces).size, 3);
  });

  test('session cookie has the __Host- attributes', async () => {
    const response = await new Client(running.origin).send('GET', '/login');
    const cookie = response.setCookies.find((line) => line.startsWith('__Host-sid='));
    assert.ok(cookie, 'the login form starts a session for its CSRF secret');
    assert.match(cookie, /;\s*Secure/i);
    assert.match(cookie, /;\s*HttpOnly/i);
    assert.match(cookie, /;\s*SameSite=Lax/i);
    assert.match(cookie, /;\s*Path=\//i);
    assert.doesNotMatch(cookie, /Domain=/i);
  });

  test('stale CSRF token shows the form again with the email', async () => {
    const client = new Client(running.origin);
    await client.send('GET', '/login');
    const response = await client.send('POST', '/login', {
      form: { _csrf: 'stale-token', email: 'typed@example.com', password: 'secret password' },
    });
    assert.equal(response.status, 403);
    assert.match(response.text, /<form method="post" action="\/login">/);
    assert.match(response.text, /value="typed@example.com"/);
    assert.doesNotMatch(response.text, /secret password/);
    assert.notEqual(csrfTokenOf(response.text), '', 'a fresh token comes with the form');

    const retry = await client.send('POST', '/login', {
      form: { _csrf: csrfTokenOf(response.text), email: 'typed@example.com', password: 'secret password' },
    });
    assert.equal(retry.status, 401, 'the fresh token is accepted');
  });

  test('stale CSRF token keeps the typed note', async () => {
    const client = await registeredClient(running.origin, 'stale-note@example.com', PASSWORD);
    const response = await client.send('POST', '/notes', {
      form: { _csrf: 'stale-token', body: 'draft I typed' },
    });
    assert.equal(response.status, 403);
    assert.match(response.text, />draft I typed<\/textarea>/);
  });

  test('cross-site form post is rejected', async () => {
    const client = await registeredClient(running.origin, 'cross-site@example.com', PASSWORD);
    const token = csrfTokenOf((await client.send('GET', '/notes')).text);
    const response = await client.send('POST', '/notes', {
      form: { _csrf: token, body: 'forged' },
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(response.status, 403);
    assert.doesNotMatch((await client.send('GET', '/notes')).text, /forged/);
  });
});

describe('CORS for the API', () => {
  let running: RunningApp;
  const frontEnd = 'http://127.0.0.1:5173';

  before(async () => {
    running = await startApp({ CORS_ORIGINS: frontEnd });
  });

  after(async () => {
    await running.close();
  });

  test('configured front end gets credentialed CORS', async () => {
    const client = await registeredClient(running.origin, 'cors@example.com', PASSWORD);
    const response = await client.send('GET', '/api/me', {
      headers: { origin: frontEnd, accept: 'application/json' },
    });
    assert.equal(response.status, 200);
    assert.equal(header(response, 'access-control-allow-origin'), frontEnd);
    assert.equal(header(response, 'access-control-allow-credentials'), 'true');
  });

  test('other origin gets no CORS header', async () => {
    const client = await registeredClient(running.origin, 'cors-other@example.com', PASSWORD);
    const response = await client.send('GET', '/api/me', {
      headers: { origin: 'https://evil.example', accept: 'application/json' },
    });
    assert.equal(header(response, 'access-control-allow-origin'), undefined);
  });
});

describe('HSTS behind a trusted proxy', () => {
  let running: RunningApp;

  before(async () => {
    running = await startApp({ TRUST_PROXY: '127.0.0.1' });
  });

  after(async () => {
    await running.close();
  });

  test('HSTS present when the trusted proxy forwards HTTPS', async () => {
    const response = await new Client(running.origin).send('GET', '/login', {
      headers: { 'x-forwarded-proto': 'https' },
    });
    assert.match(header(response, 'strict-transport-security') ?? '', /max-age=\d{8,}; includeSubDomains/);
  });

  test('no HSTS when the trusted proxy forwards HTTP', async () => {
    const response = await new Client(running.origin).send('GET', '/login', {
      headers: { 'x-forwarded-proto': 'http' },
    });
    assert.equal(header(response, 'strict-transport-security'), undefined);
  });
});

describe('served with TLS_CERT and TLS_KEY', () => {
  let running: RunningApp;
  let certDir: string;
  let agent: Agent;
  let redirect: Server;
  let redirectOrigin: string;

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'notes-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(certDir, 'key.pem'),
        '-out',
        join(certDir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    running = await startApp({ TLS_CERT: join(certDir, 'cert.pem'), TLS_KEY: join(certDir, 'key.pem') });
    agent = new Agent({ connect: { ca: readFileSync(join(certDir, 'cert.pem')) } });
    redirect = await listenHttpRedirect(running.app, '127.0.0.1', 0);
    const address = redirect.address();
    assert.ok(typeof address === 'object' && address !== null);
    redirectOrigin = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    await new Promise((resolve) => redirect.close(resolve));
    await agent.close();
    await running.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('start-up log names PUBLIC_ORIGIN, not plugin options', () => {
    const warning = running.logs.find((line) => line.event === 'app.public_origin_unset');
    assert.ok(warning, 'the missing PUBLIC_ORIGIN is reported');
    assert.match(
      String(warning.msg),
      /PUBLIC_ORIGIN is not set, .+ Fix: set PUBLIC_ORIGIN to the address users open/,
    );
    const text = JSON.stringify(
      running.logs.filter((line) => line.level !== undefined && Number(line.level) >= 40),
    );
    assert.doesNotMatch(text, /redirectHosts|set origin/, 'no warning asks for plugin options');
  });

  test('router error over HTTPS carries HSTS', async () => {
    const response = await new Client(running.origin, agent).send(
      'GET',
      `/password-reset/${'x'.repeat(300)}`,
    );
    assert.equal(response.status, 414);
    assert.match(header(response, 'strict-transport-security') ?? '', /max-age=\d{8,}; includeSubDomains/);
    assert.equal(header(response, 'x-content-type-options'), 'nosniff');
  });

  test('HSTS present over HTTPS', async () => {
    assert.match(running.origin, /^https:/);
    const response = await new Client(running.origin, agent).send('GET', '/login');
    assert.equal(response.status, 200);
    assert.match(header(response, 'strict-transport-security') ?? '', /max-age=\d{8,}; includeSubDomains/);
    assert.doesNotMatch(header(response, 'strict-transport-security') ?? '', /preload/);
  });

  test('plain HTTP listener redirects to HTTPS', async () => {
    const get = await request(`${redirectOrigin}/login?next=1`, { method: 'GET' });
    await get.body.dump();
    assert.equal(get.statusCode, 301);
    assert.match(String(get.headers.location), /^https:\/\/127\.0\.0\.1(:\d+)?\/login\?next=1$/);
    assert.equal(get.headers['strict-transport-security'], undefined);

    const post = await request(`${redirectOrigin}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'email=a',
    });
    await post.body.dump();
    assert.equal(post.statusCode, 308);
  });

  test('forged Host gets no redirect elsewhere', async () => {
    for (const host of ['evil.test', '127.0.0.1.evil.test', 'EVIL.test', 'evil.test:443']) {
      const response = await request(`${redirectOrigin}/login`, { headers: { host } });
      await response.body.dump();
      assert.equal(response.statusCode, 400, host);
      assert.equal(response.headers.location, undefined, host);
    }
  });

  test('healthz answers over plain HTTP', async () => {
    const response = await request(`${redirectOrigin}/healthz`);
    assert.equal(response.statusCode, 200);
    assert.deepEqual(await response.body.json(), { status: 'ok' });
  });
});
