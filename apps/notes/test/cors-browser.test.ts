import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { type RunningApp, startApp } from './helpers.js';

// CORS as Chromium enforces it. A front end on a second local port listed in CORS_ORIGINS reads the
// signed-in user's /api/me with credentials. The same page served from a port not listed cannot.

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Serves one empty HTML page on a free port of 127.0.0.1, standing in for a front end. */
async function startFrontEnd(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><html><head><title>front end</title></head><body></body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** What a page's script saw when it fetched a URL with credentials. */
type FetchOutcome = { ok: true; status: number; body: string } | { ok: false; error: string };

async function fetchFrom(
  context: BrowserContext,
  pageOrigin: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<FetchOutcome> {
  const page = await context.newPage();
  try {
    await page.goto(`${pageOrigin}/`);
    return await page.evaluate(
      async ({ url, init }) => {
        try {
          const response = await fetch(url, { ...init, credentials: 'include' });
          return { ok: true as const, status: response.status, body: await response.text() };
        } catch (error) {
          return { ok: false as const, error: String(error) };
        }
      },
      { url, init },
    );
  } finally {
    await page.close();
  }
}

describe('cors in headless Chromium', () => {
  let listed: { server: Server; origin: string };
  let unlisted: { server: Server; origin: string };
  let running: RunningApp;
  let browser: Browser;
  let context: BrowserContext;

  before(async () => {
    listed = await startFrontEnd();
    unlisted = await startFrontEnd();
    running = await startApp({ CORS_ORIGINS: listed.origin });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
    });
    context = await browser.newContext();

    // Sign up through the app's own form, so the browser keeps the session cookie for 127.0.0.1.
    const page = await context.newPage();
    await page.goto(`${running.origin}/register`);
    await page.fill('#email', 'cors-browser@example.com');
    await page.fill('#password', 'correct horse battery');
    await Promise.all([page.waitForURL('**/notes'), page.click('button[type=submit]')]);
    await page.close();
  });

  after(async () => {
    await browser?.close();
    await running?.close();
    listed?.server.close();
    unlisted?.server.close();
  });

  test('listed front end reads /api/me', async () => {
    const outcome = await fetchFrom(context, listed.origin, `${running.origin}/api/me`);
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    assert.equal(outcome.ok && outcome.status, 200);
    const body = outcome.ok ? JSON.parse(outcome.body) : {};
    assert.equal(body.email, 'cors-browser@example.com');
  });

  test('listed front end posts a note with the token', async () => {
    const me = await fetchFrom(context, listed.origin, `${running.origin}/api/me`);
    assert.ok(me.ok);
    const { csrfToken } = JSON.parse(me.body);
    const outcome = await fetchFrom(context, listed.origin, `${running.origin}/api/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
      body: JSON.stringify({ body: 'from the front end' }),
    });
    assert.equal(outcome.ok && outcome.status, 201, JSON.stringify(outcome));
  });

  test('listed front end without token is refused', async () => {
    const outcome = await fetchFrom(context, listed.origin, `${running.origin}/api/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ body: 'no token' }),
    });
    assert.equal(outcome.ok && outcome.status, 403, JSON.stringify(outcome));
    assert.equal(outcome.ok && JSON.parse(outcome.body).reason, 'token-missing');
  });

  test('unlisted port cannot read /api/me', async () => {
    const outcome = await fetchFrom(context, unlisted.origin, `${running.origin}/api/me`);
    assert.equal(outcome.ok, false, JSON.stringify(outcome));
  });

  test('unlisted port cannot post', async () => {
    const outcome = await fetchFrom(context, unlisted.origin, `${running.origin}/api/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ body: 'from an unlisted origin' }),
    });
    assert.equal(outcome.ok, false, JSON.stringify(outcome));
    const refused = running.logs.filter((line) => line.event === 'cors.origin_refused');
    assert.ok(
      refused.some((line) => line.origin === unlisted.origin),
      'the preflight from the unlisted origin is refused and logged',
    );
  });
});
