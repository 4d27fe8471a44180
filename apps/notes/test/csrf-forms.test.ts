import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, type RunningApp, readOutbox, registeredClient, startApp } from './helpers.js';

// Every GET page of the app, visited signed out and signed in: each POST form on it must carry a
// non-empty `_csrf` field whose token the app accepts for that session.

/** GET routes that return JSON or plain text, not pages with forms. */
const NOT_PAGES = new Set(['/api/me', '/api/notes', '/healthz']);

/** Lists the app's GET routes from Fastify's route tree (`printRoutes` with `commonPrefix: false`). */
function getRoutes(tree: string): string[] {
  const paths: string[] = [];
  const stack: Array<{ depth: number; path: string }> = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ├└─]*)(\S+) \(([^)]*)\)/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length;
    const segment = match[2] ?? '';
    while (stack.length > 0 && (stack.at(-1)?.depth ?? 0) >= depth) stack.pop();
    const parent = stack.at(-1)?.path ?? '';
    const path =
      parent === ''
        ? segment
        : parent.endsWith('/') || segment.startsWith('/')
          ? parent + segment
          : `${parent}/${segment}`;
    stack.push({ depth, path });
    if (
      (match[3] ?? '')
        .split(',')
        .map((method) => method.trim())
        .includes('GET')
    )
      paths.push(path);
  }
  return paths;
}

/** Each `<form>` on a page, with its method, action and `_csrf` value (undefined when the field is missing). */
function formsOf(page: string): Array<{ method: string; action: string; token: string | undefined }> {
  return [...page.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map((match) => {
    const attributes = match[1] ?? '';
    const body = match[2] ?? '';
    const method = /\bmethod="([^"]*)"/i.exec(attributes)?.[1]?.toLowerCase() ?? 'get';
    const action = /\baction="([^"]*)"/i.exec(attributes)?.[1] ?? '';
    const hidden = /<input\b[^>]*\bname="_csrf"[^>]*>/i.exec(body)?.[0];
    const token = hidden === undefined ? undefined : (/\bvalue="([^"]*)"/.exec(hidden)?.[1] ?? '');
    return { method, action, token };
  });
}

describe('every post form carries the csrf token', () => {
  let running: RunningApp;
  let resetPath: string;

  before(async () => {
    running = await startApp();
    await registeredClient(running.origin, 'forms@example.com');
    const anonymous = new Client(running.origin);
    await anonymous.submit('/password-reset', '/password-reset', { email: 'forms@example.com' });
    const [mail = ''] = await readOutbox(running.dataDir, 1);
    const link = /\/password-reset\/[A-Za-z0-9_-]+/.exec(mail)?.[0];
    assert.ok(link, 'the reset mail contains a link');
    resetPath = link;
  });

  after(async () => {
    await running.close();
  });

  test('route list covers the known pages', () => {
    const routes = getRoutes(running.app.printRoutes({ commonPrefix: false, method: 'GET' }));
    for (const page of ['/', '/login', '/register', '/password-reset', '/password-reset/:token', '/notes']) {
      assert.ok(routes.includes(page), `${page} in ${routes.join(', ')}`);
    }
  });

  for (const signedIn of [false, true]) {
    test(`every page ${signedIn ? 'signed in' : 'signed out'}`, async () => {
      const client = signedIn
        ? await registeredClient(running.origin, `forms-${Date.now()}@example.com`)
        : new Client(running.origin);
      if (signedIn)
        await client.submit('/notes', '/notes', { body: 'a note, so the page has a delete form' });

      const pages = getRoutes(running.app.printRoutes({ commonPrefix: false, method: 'GET' }))
        .filter((path) => !NOT_PAGES.has(path))
        .map((path) => path.replace('/:token', resetPath.slice('/password-reset'.length)));

      let postForms = 0;
      for (const path of pages) {
        assert.ok(!path.includes('/:'), `no example value for the parameter of ${path}`);
        const page = await client.send('GET', path);
        if (page.status >= 300 && page.status < 400) continue;
        assert.equal(page.status, 200, `${path}: ${page.text.slice(0, 200)}`);

        for (const form of formsOf(page.text).filter((candidate) => candidate.method === 'post')) {
          postForms += 1;
          const where = `form to ${form.action} on ${path}`;
          assert.ok(form.token !== undefined, `${where} has no _csrf field`);
          assert.ok((form.token ?? '').length >= 20, `${where} has an empty or short token`);

          // The token must be valid for this session: the JSON API checks it before anything else.
          const check = await client.send('POST', '/api/notes', {
            json: { body: 'token check' },
            headers: { 'x-csrf-token': form.token ?? '' },
          });
          assert.notEqual(check.status, 403, `${where}: the app rejects its token (${check.text})`);
        }
      }
      console.error('DEBUG', signedIn, postForms, pages);
      assert.ok(postForms >= (signedIn ? 3 : 3), `found only ${postForms} POST forms`);
    });
  }
});
