import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type RunningApp, startApp } from './helpers.js';

const root = new URL('../../../', import.meta.url).pathname;
let running: RunningApp;

before(async () => {
  running = await startApp();
});

after(async () => {
  await running.close();
});

test('demo script shows every refusal', async () => {
  // The app listens in this process, so the script must run without blocking the event loop.
  const result = await promisify(execFile)('sh', [join(root, 'scripts/demo-refusals.sh'), running.origin], {
    encoding: 'utf8',
  });
  assert.doesNotMatch(result.stdout, /^FAIL/m);
  assert.match(result.stdout, /^PASS {2}no HSTS over plain HTTP$/m);
  assert.match(result.stdout, /^PASS {2}untrusted preflight gets 403 and no CORS header$/m);
  assert.match(result.stdout, /^PASS {2}cross-site post is refused$/m);
  assert.match(result.stdout, /^PASS {2}post without a CSRF token is refused$/m);
  assert.match(result.stdout, /^retry-after: \d+\r?$/m);
  assert.match(result.stdout, /^PASS {2}login limit answers 429 with Retry-After$/m);
  assert.doesNotMatch(result.stdout, /__Host-sid=[A-Za-z0-9]/, 'the session id is not printed');
});
