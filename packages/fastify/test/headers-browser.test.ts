import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { startServer } from './headers-helpers.js';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Renders the app's own nonce'd script and style beside markup an attacker injected without the nonce. */
function page(nonce: string): string {
  return `<!doctype html><html><head>
<style nonce="${nonce}">#styled { color: rgb(0, 128, 0); }</style>
<style>#injected-style { color: rgb(255, 0, 0); }</style>
</head><body>
<p id="styled">styled</p><p id="injected-style">injected</p>
<script nonce="${nonce}">window.ownScriptRan = true;</script>
<script>window.injectedScriptRan = true;</script>
<script nonce="${'A'.repeat(22)}==">window.guessedNonceRan = true;</script>
<img src="x" onerror="window.injectedHandlerRan = true">
</body></html>`;
}

describe('CSP nonce in Chromium', () => {
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;

  before(async () => {
    ({ app, url } = await startServer({
      routes: (server) => {
        server.get('/page', async (_request, reply) =>
          reply.type('text/html; charset=utf-8').send(page(reply.cspNonce)),
        );
      },
    }));
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
    });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
  });

  test('browser runs nonce scripts and blocks injected ones', async () => {
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      const violations: string[] = [];
      const warnings: string[] = [];
      tab.on('console', (message) => {
        if (message.type() === 'error') violations.push(message.text());
        // Chromium reports an unrecognized Permissions-Policy feature as a console warning.
        if (message.type() === 'warning') warnings.push(message.text());
      });
      await tab.goto(`${url}/page`);
      const state = await tab.evaluate(() => {
        const scope = window as unknown as Record<string, unknown>;
        return {
          own: scope.ownScriptRan === true,
          injected: scope.injectedScriptRan === true,
          guessed: scope.guessedNonceRan === true,
          handler: scope.injectedHandlerRan === true,
          styled: getComputedStyle(document.getElementById('styled') as Element).color,
          injectedStyle: getComputedStyle(document.getElementById('injected-style') as Element).color,
        };
      });
      assert.equal(state.own, true);
      assert.equal(state.injected, false);
      assert.equal(state.guessed, false);
      assert.equal(state.handler, false);
      assert.equal(state.styled, 'rgb(0, 128, 0)');
      assert.notEqual(state.injectedStyle, 'rgb(255, 0, 0)');
      assert.ok(
        violations.some((text) => text.includes('Content Security Policy')),
        violations.join('\n'),
      );
      assert.deepEqual(
        warnings.filter((text) => text.includes('Permissions-Policy')),
        [],
      );
    } finally {
      await context.close();
    }
  });
});
