import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { noteIdsOf, type RunningApp, startApp } from './helpers.js';

// A forged form post as Chromium sends it. The attacker's page lives on another port of 127.0.0.1, which
// is the same site, so the Lax session cookie goes along and only the CSRF check stands in the way.

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Serves a page whose form posts a note to `target` as soon as it loads. */
async function startAttackerPage(target: () => string): Promise<{ server: Server; origin: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><html><body>
<form id="forged" method="post" action="${target()}/notes"><input name="body" value="planted by another site"></form>
<script>document.getElementById('forged').submit();</script>
</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('csrf in headless Chromium', () => {
  let running: RunningApp;
  let attacker: { server: Server; origin: string };
  let browser: Browser;
  let context: BrowserContext;

  before(async () => {
    running = await startApp();
    attacker = await startAttackerPage(() => running.origin);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
    });
    context = await browser.newContext();

    const page = await context.newPage();
    await page.goto(`${running.origin}/register`);
    await page.fill('#email', 'csrf-browser@example.com');
    await page.fill('#password', 'correct horse battery');
    await Promise.all([page.waitForURL('**/notes'), page.click('button[type=submit]')]);
    await page.close();
  });

  after(async () => {
    await browser?.close();
    await running?.close();
    attacker?.server.close();
  });

  test('forged form post from another port refused', async () => {
    const page = await context.newPage();
    const [response] = await Promise.all([
      page.waitForResponse(
        (candidate) =>
          candidate.url() === `${running.origin}/notes` && candidate.request().method() === 'POST',
      ),
      page.goto(`${attacker.origin}/`),
    ]);
    assert.equal(response.status(), 403);
    const headers = await response.request().allHeaders();
    assert.equal(headers['sec-fetch-site'], 'same-site');
    await page.close();

    const rejection = running.logs.filter((line) => line.event === 'csrf.rejected').at(-1);
    assert.equal(rejection?.reason, 'cross-site');
    assert.equal(rejection?.origin, attacker.origin);

    const notesPage = await context.newPage();
    await notesPage.goto(`${running.origin}/notes`);
    assert.deepEqual(noteIdsOf(await notesPage.content()), []);
    await notesPage.close();
  });

  test('own form post accepted', async () => {
    const page = await context.newPage();
    await page.goto(`${running.origin}/notes`);
    await page.fill('#body', 'written on the notes page');
    await Promise.all([page.waitForURL('**/notes'), page.click('form[action="/notes"] button[type=submit]')]);
    assert.equal(noteIdsOf(await page.content()).length, 1);
    await page.close();
  });
});
