import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { type RunningApp, SESSION_COOKIE, startApp } from './helpers.js';

/** Debian's Chromium, launched headless with the flags that keep it from calling home. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('notes app in headless Chromium', () => {
  let running: RunningApp;
  let browser: Browser;

  before(async () => {
    running = await startApp();
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
    });
  });

  after(async () => {
    await browser?.close();
    await running?.close();
  });

  test('register, add a note, sign out, sign in, with no CSP violation', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const consoleMessages: string[] = [];
    page.on('console', (message) => consoleMessages.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => consoleMessages.push(`pageerror: ${error.message}`));
    // Each page records CSP violations in a list the test reads back at the end.
    await context.addInitScript(() => {
      const violations: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = violations;
      document.addEventListener('securitypolicyviolation', (event) => {
        violations.push(`${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    const violations: string[] = [];
    const collectViolations = async () => {
      violations.push(
        ...(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)),
      );
    };

    await page.goto(`${running.origin}/register`);
    await page.fill('#email', 'browser@example.com');
    await page.fill('#password', 'correct horse battery');
    await collectViolations();
    await Promise.all([page.waitForURL('**/notes'), page.click('button[type=submit]')]);

    await page.fill('#body', 'A note typed in Chromium <b>not bold</b>');
    assert.equal(await page.textContent('#body-count'), '40 / 10000', "the nonce'd script runs");
    await collectViolations();
    await Promise.all([page.waitForURL('**/notes'), page.click('text=Save note')]);
    assert.equal(await page.textContent('article.note div'), 'A note typed in Chromium <b>not bold</b>');

    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === SESSION_COOKIE);
    assert.ok(
      session,
      `the browser stored ${SESSION_COOKIE}; it has ${cookies.map((cookie) => cookie.name).join(', ')}`,
    );
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.path, '/');
    const signedInId = session.value;

    await collectViolations();
    await Promise.all([page.waitForURL('**/login'), page.click('text=Sign out')]);
    await page.fill('#email', 'browser@example.com');
    await page.fill('#password', 'correct horse battery');
    await collectViolations();
    await Promise.all([page.waitForURL('**/notes'), page.click('button[type=submit]')]);
    assert.match((await page.textContent('article.note div')) ?? '', /A note typed in Chromium/);
    const afterLogin = (await context.cookies()).find((cookie) => cookie.name === SESSION_COOKIE);
    assert.ok(afterLogin);
    assert.notEqual(afterLogin.value, signedInId, 'signing in again gives a new session id');

    await collectViolations();
    assert.deepEqual(violations, [], 'no securitypolicyviolation event');
    assert.deepEqual(consoleMessages, [], 'no console message');
    await context.close();
  });

  test('injected inline script is blocked by the CSP', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    await page.exposeFunction('reportViolation', (text: string) => violations.push(text));
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        (window as unknown as { reportViolation: (text: string) => void }).reportViolation(
          event.violatedDirective,
        );
      });
    });
    await page.goto(`${running.origin}/login`);
    const ran = await page.evaluate(async () => {
      const script = document.createElement('script');
      script.textContent = 'window.injected = true;';
      document.body.append(script);
      await new Promise((resolve) => setTimeout(resolve, 50));
      return (window as unknown as { injected?: boolean }).injected === true;
    });
    assert.equal(ran, false, 'a script without the nonce does not run');
    assert.ok(
      violations.some((directive) => directive.startsWith('script-src')),
      `violations: ${violations.join(', ')}`,
    );
    await context.close();
  });
});
