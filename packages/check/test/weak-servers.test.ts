// Small deliberately weak servers, one per kind of failure, each checked by harden-check over real HTTP.
// Runs pass --min-grade F where the test isolates one finding: a plain-HTTP server can never reach B
// (no HSTS -20, no redirect -20), and the grade would otherwise decide the exit status.

import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, describe, test } from 'node:test';
import {
  findingIds,
  readBody,
  respond,
  runChildProcess,
  runInProcess,
  runJson,
  startServer,
  type TestServer,
} from './helpers.js';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function serve(...args: Parameters<typeof startServer>): Promise<TestServer> {
  const server = await startServer(...args);
  servers.push(server);
  return server;
}

describe('header findings', () => {
  test('missing CSP fails', async () => {
    const server = await serve((_req, res) => respond(res, { 'content-security-policy': null }));
    const { code, report } = await runJson([server.url, '--min-grade', 'F']);
    assert.ok(findingIds(report).includes('csp.missing'));
    assert.equal(
      report.observatory.tests.find((t) => t.test === 'content-security-policy')?.result,
      'csp-not-implemented',
    );
    assert.equal(code, 1);
  });

  test('unsafe-inline CSP fails', async () => {
    const csp =
      "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
    const server = await serve((_req, res) => respond(res, { 'content-security-policy': csp }));
    const { code, report } = await runJson([server.url, '--min-grade', 'F']);
    assert.ok(findingIds(report).includes('csp.script_unsafe_inline'));
    assert.equal(
      report.observatory.tests.find((t) => t.test === 'content-security-policy')?.result,
      'csp-implemented-with-unsafe-inline',
    );
    assert.equal(code, 1);
  });

  test('second CSP header tightens the first', async () => {
    // Browsers enforce every policy, so the strict second header blocks the inline scripts the first allows.
    const server = await serve((_req, res) =>
      respond(res, {
        'content-security-policy': [
          "default-src 'self'; script-src 'self' 'unsafe-inline'",
          "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ],
      }),
    );
    const { report } = await runJson([server.url, '--min-grade', 'F']);
    assert.ok(!findingIds(report).includes('csp.script_unsafe_inline'));
    // node:http folds the two headers into one line with ", "; the Observatory reads that as one policy,
    // in which "'unsafe-inline'," (with the comma) is no keyword.
    assert.equal(
      report.observatory.tests.find((t) => t.test === 'content-security-policy')?.result,
      'csp-implemented-with-no-unsafe',
    );
  });

  test('good headers pass over HTTP', async () => {
    const server = await serve((_req, res) => respond(res));
    const { code, report } = await runJson([server.url, '--min-grade', 'F']);
    // 100 - 20 (no HSTS without HTTPS) - 20 (no redirect to HTTPS) = 60: bonuses need 90, grade C+.
    assert.equal(report.observatory.score, 60);
    assert.equal(report.observatory.grade, 'C+');
    assert.deepEqual(findingIds(report), ['transport.no_https_redirect']);
    assert.equal(code, 0);
  });

  test('grade below minimum fails', async () => {
    const server = await serve((_req, res) => respond(res));
    const { code, report } = await runJson([server.url]);
    assert.equal(report.minGrade, 'B');
    assert.deepEqual(report.failures, ['grade C+ is below the minimum B']);
    assert.equal(code, 1);
  });

  test('HSTS over plain HTTP is reported', async () => {
    const server = await serve((_req, res) =>
      respond(res, { 'strict-transport-security': 'max-age=31536000' }),
    );
    const { report } = await runJson([server.url, '--min-grade', 'F']);
    assert.ok(findingIds(report).includes('transport.hsts_over_http'));
    // The Observatory only reads HSTS from an HTTPS response.
    assert.equal(
      report.observatory.tests.find((t) => t.test === 'strict-transport-security')?.result,
      'hsts-not-implemented-no-https',
    );
  });

  test('version leaks fail with fail-on medium', async () => {
    const server = await serve((_req, res) =>
      respond(res, {
        server: 'Apache/2.4.58 (Unix)',
        'x-powered-by': 'PHP/8.1.2',
        'x-aspnet-version': '4.0.30319',
      }),
    );
    const { code, report } = await runJson([server.url, '--min-grade', 'F']);
    const leaks = report.findings.filter((finding) => finding.id === 'disclosure.version_leak');
    assert.equal(leaks.length, 3);
    assert.ok(leaks.some((finding) => finding.message.includes('Apache/2.4.58')));
    assert.ok(leaks.some((finding) => finding.message.includes('PHP/8.1.2')));
    assert.ok(leaks.some((finding) => finding.message.includes('4.0.30319')));
    assert.equal(code, 0, 'a medium finding passes with the default --fail-on high');

    const strict = await runJson([server.url, '--min-grade', 'F', '--fail-on', 'medium']);
    assert.equal(strict.code, 1);
  });

  test('product name without version is low', async () => {
    const server = await serve((_req, res) => respond(res, { 'x-powered-by': 'Express' }));
    const { report } = await runJson([server.url, '--min-grade', 'F']);
    const leak = report.findings.find((finding) => finding.id === 'disclosure.product_leak');
    assert.equal(leak?.severity, 'low');
  });
});

describe('cookie findings', () => {
  test('insecure cookies are each reported', async () => {
    const server = await serve((_req, res) =>
      respond(res, {
        'set-cookie': [
          'sid=abc; Path=/',
          'prefs=1; Secure; HttpOnly; SameSite=Sideways',
          '__Host-token=1; Secure; Domain=127.0.0.1; Path=/',
          '__Secure-id=1; HttpOnly; SameSite=Lax',
          'tracking=1; Secure; SameSite=None',
        ],
      }),
    );
    const { code, report } = await runJson([server.url, '--min-grade', 'F']);
    const messages = report.findings.filter((f) => f.area === 'cookies').map((f) => `${f.id} ${f.message}`);
    const has = (id: string, cookie: string) =>
      messages.some((line) => line.startsWith(`${id} `) && line.includes(cookie));
    assert.ok(has('cookies.session_without_secure', 'sid'));
    assert.ok(has('cookies.session_without_httponly', 'sid'));
    assert.ok(has('cookies.without_samesite', 'sid'));
    assert.ok(has('cookies.samesite_invalid', 'prefs'));
    assert.ok(has('cookies.host_prefix_invalid', '__Host-token'));
    assert.ok(has('cookies.secure_prefix_without_secure', '__Secure-id'));
    assert.ok(has('cookies.samesite_none', 'tracking'));
    // The Observatory counts a cookie as a session cookie only when its name contains "sess" or "login",
    // so for it sid is an ordinary cookie and the invalid SameSite of prefs is the worst result.
    assert.equal(
      report.observatory.tests.find((t) => t.test === 'cookies')?.result,
      'cookies-samesite-flag-invalid',
    );
    assert.equal(code, 1);
  });
});

describe('transport', () => {
  test('redirect loop stops and fails', async () => {
    let requests = 0;
    const server = await serve((req, res) => {
      requests += 1;
      res.writeHead(302, { location: req.url === '/a' ? '/b' : '/a' });
      res.end();
    });
    const { code, report } = await runJson([`${server.url}a`, '--min-grade', 'F', '--max-redirects', '4']);
    assert.ok(findingIds(report).includes('transport.redirect_loop'));
    assert.equal(code, 1);
    assert.ok(requests < 40, `sent ${requests} requests`);
  });

  test('redirect to another host is not followed', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(302, { location: 'https://example.com/' }).end();
    });
    const { report } = await runJson([server.url, '--min-grade', 'F']);
    assert.ok(findingIds(report).includes('transport.redirect_to_other_host'));
    assert.equal(report.finalUrl, server.url);
    assert.equal(report.status, 302);
  });

  test('HTTP to HTTP redirect first is reported', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/') return void res.writeHead(301, { location: '/home' }).end();
      respond(res);
    });
    const { report } = await runJson([server.url, '--min-grade', 'F']);
    assert.ok(findingIds(report).includes('transport.indirect_https_redirect'));
    assert.equal(
      report.observatory.tests.find((t) => t.test === 'redirection')?.result,
      'redirection-not-to-https',
    );
  });

  test('slow server times out with exit 2', async () => {
    const server = await serve(() => {
      // Never answers.
    });
    const run = await runInProcess([server.url, '--timeout', '300']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /timed out after 300 ms/);
  });
});

describe('CORS probe', () => {
  test('origin reflected with credentials fails', async () => {
    const server = await serve((req, res) => {
      const origin = req.headers.origin;
      const extra: Record<string, string> = {};
      if (origin) {
        extra['access-control-allow-origin'] = origin;
        extra['access-control-allow-credentials'] = 'true';
      }
      respond(res, extra);
    });
    const { code, report } = await runJson([server.url, '--min-grade', 'F']);
    const cors = report.probes.find((probe) => probe.name === 'cors');
    assert.equal(cors?.passed, false);
    const finding = report.findings.find((f) => f.id === 'cors.untrusted_origin_with_credentials');
    assert.equal(finding?.severity, 'high');
    for (const origin of [
      `http://127.0.0.1.evil.test:${server.port}`,
      `https://127.0.0.1:${server.port}`,
      `http://127.0.0.1:${server.port + 1}`,
      'null',
      'https://attacker.example',
    ]) {
      assert.ok(finding?.message.includes(origin), `missing ${origin}`);
    }
    assert.equal(
      report.observatory.tests.find((t) => t.test === 'cross-origin-resource-sharing')?.result,
      'cross-origin-resource-sharing-implemented-with-universal-access',
    );
    assert.equal(code, 1);
  });

  test('pattern allowlist lets lookalikes in', async () => {
    const server = await serve((req, res) => {
      const origin = req.headers.origin ?? '';
      respond(
        res,
        /app\.example\.com/.test(origin) ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {},
      );
    });
    const { code, report } = await runJson([
      server.url,
      '--min-grade',
      'F',
      '--trusted-origin',
      'https://app.example.com',
    ]);
    const finding = report.findings.find((f) => f.id === 'cors.untrusted_origin_allowed');
    assert.ok(finding?.message.includes('https://app.example.com.evil.test'));
    assert.ok(finding?.message.includes('https://evilapp.example.com'));
    assert.ok(finding?.message.includes('http://app.example.com'));
    assert.equal(finding?.severity, 'medium');
    assert.equal(code, 1);
  });

  test('unescaped dot pattern admits lookalike domain', async () => {
    // /^https:\/\/app.example.com$/: each `.` matches any character, so appxexample.com (anyone can
    // register it) reads responses with the user's cookies.
    const server = await serve((req, res) => {
      const origin = req.headers.origin ?? '';
      respond(
        res,
        /^https:\/\/app.example.com$/.test(origin)
          ? {
              'access-control-allow-origin': origin,
              'access-control-allow-credentials': 'true',
              vary: 'Origin',
            }
          : {},
      );
    });
    const { code, report } = await runJson([
      server.url,
      '--min-grade',
      'F',
      '--trusted-origin',
      'https://app.example.com',
    ]);
    const finding = report.findings.find((f) => f.id === 'cors.untrusted_origin_with_credentials');
    assert.equal(
      finding?.message,
      "/ lets untrusted origins read responses with the user's cookies: https://appxexample.com, https://app.examplexcom.",
    );
    assert.equal(report.probes.find((probe) => probe.name === 'cors')?.passed, false);
    assert.equal(code, 1);
  });

  test('substring origin list admits truncated host', async () => {
    // list.includes(origin) on a joined string accepts any piece of a trusted origin.
    const list = 'https://app.example.com https://admin.example.com';
    const server = await serve((req, res) => {
      const origin = req.headers.origin ?? '';
      respond(
        res,
        origin !== '' && list.includes(origin)
          ? { 'access-control-allow-origin': origin, vary: 'Origin' }
          : {},
      );
    });
    const { code, report } = await runJson([
      server.url,
      '--min-grade',
      'F',
      '--trusted-origin',
      'https://app.example.com',
    ]);
    const finding = report.findings.find((f) => f.id === 'cors.untrusted_origin_allowed');
    assert.equal(finding?.message, '/ lets untrusted origins read responses: https://app.example.co.');
    assert.equal(code, 1);
  });

  test('IP target gets no dot lookalikes', async () => {
    const origins = new Set<string>();
    const server = await serve((req, res) => {
      if (req.headers.origin) origins.add(req.headers.origin);
      respond(res);
    });
    const { report } = await runJson([server.url, '--min-grade', 'F']);
    assert.equal(
      report.probes.find((probe) => probe.name === 'cors')?.summary,
      '5 untrusted origins rejected on /',
    );
    assert.ok(![...origins].some((origin) => /127x0|127\.0\.0\.$/.test(origin)));
  });

  // An IP literal has no name around it: `evil127.0.0.2`, `evil.127.0.0.2`, `[::1].evil.test` and
  // `evil[::1]` are no valid hosts, so no browser sends them and probing them tests nothing.
  for (const [family, trusted, otherPort] of [
    ['IPv6', 'http://[::1]:4499', 'http://[::1]:4500'],
    ['IPv4', 'http://127.0.0.2:4499', 'http://127.0.0.2:4500'],
  ] as const) {
    test(`${family} literal trusted origin gets only valid lookalikes`, async () => {
      const origins = new Set<string>();
      const server = await serve((req, res) => {
        const origin = req.headers.origin;
        if (origin) origins.add(origin);
        respond(res, origin === trusted ? { 'access-control-allow-origin': trusted, vary: 'Origin' } : {});
      });
      const { report } = await runJson([server.url, '--min-grade', 'F', '--trusted-origin', trusted]);
      assert.equal(report.probes.find((probe) => probe.name === 'cors')?.passed, true);
      assert.ok(origins.has(otherPort), 'the other port of the trusted origin is still probed');
      const invalid = [...origins].filter((origin) => {
        if (origin === 'null') return false;
        try {
          return new URL(origin).origin !== origin;
        } catch {
          return true;
        }
      });
      assert.deepEqual(invalid, []);
    });
  }

  test('exact allowlist passes', async () => {
    const server = await serve((req, res) => {
      const allowed = req.headers.origin === 'https://app.example.com';
      respond(
        res,
        allowed ? { 'access-control-allow-origin': 'https://app.example.com', vary: 'Origin' } : {},
      );
    });
    const { code, report } = await runJson([
      server.url,
      '--min-grade',
      'F',
      '--trusted-origin',
      'https://app.example.com',
    ]);
    const cors = report.probes.find((probe) => probe.name === 'cors');
    assert.equal(cors?.passed, true);
    assert.equal(code, 0);
  });

  test('null origin allowed fails', async () => {
    const server = await serve((req, res) => {
      const allowNull = req.headers.origin === 'null';
      respond(
        res,
        allowNull
          ? { 'access-control-allow-origin': 'null', 'access-control-allow-credentials': 'true' }
          : {},
      );
    });
    const { code, report } = await runJson([server.url, '--min-grade', 'F']);
    const finding = report.findings.find((f) => f.id === 'cors.untrusted_origin_with_credentials');
    assert.match(finding?.message ?? '', /: null\.$/);
    assert.equal(code, 1);
  });

  test('wildcard origin is low but fails', async () => {
    const server = await serve((_req, res) => respond(res, { 'access-control-allow-origin': '*' }));
    const { code, report } = await runJson([server.url, '--min-grade', 'F']);
    const finding = report.findings.find((f) => f.id === 'cors.untrusted_origin_allowed');
    assert.equal(finding?.severity, 'low');
    assert.equal(report.probes.find((probe) => probe.name === 'cors')?.passed, false);
    assert.equal(code, 1);
  });

  test('cors path option probes that path', async () => {
    const paths: string[] = [];
    const server = await serve((req, res) => {
      // The Observatory's own CORS request goes to the page itself, with its own Origin.
      const origin = req.headers.origin;
      if (origin && origin !== 'https://http-observatory.security.mozilla.org') paths.push(req.url ?? '');
      respond(res);
    });
    await runJson([server.url, '--min-grade', 'F', '--cors-path', '/api/me']);
    assert.ok(paths.length > 0);
    assert.ok(paths.every((path) => path === '/api/me'));
  });

  test('trusted origin rejected fails', async () => {
    const server = await serve((_req, res) => respond(res));
    const { code, report } = await runJson([
      server.url,
      '--min-grade',
      'F',
      '--trusted-origin',
      'https://app.example.com',
    ]);
    assert.ok(findingIds(report).includes('cors.trusted_origin_rejected'));
    assert.equal(code, 1);
  });
});

describe('CSRF probe', () => {
  const formPage = (token: boolean) =>
    `<!doctype html><form method="post" action="/notes">${token ? '<input type="hidden" name="_csrf" value="t0k3n">' : ''}<input name="title"><textarea name="body"></textarea><button>Save</button></form>`;

  test('form without token is accepted cross-site', async () => {
    const server = await serve(async (req, res) => {
      if (req.method === 'POST') {
        await readBody(req);
        respond(res, {}, 'saved');
        return;
      }
      respond(res, {}, formPage(false));
    });
    const { code, report } = await runJson([server.url, '--min-grade', 'F', '--page', '/notes']);
    const ids = findingIds(report);
    assert.ok(ids.includes('csrf.form_without_token'));
    assert.ok(ids.includes('csrf.forged_request_accepted'));
    assert.equal(report.probes.find((probe) => probe.name === 'csrf')?.passed, false);
    assert.equal(code, 1);
  });

  test('protected form rejects forged posts', async () => {
    const seen: Array<{ cookie?: string; origin?: string; body: string }> = [];
    const server = await serve(async (req, res) => {
      if (req.method === 'POST') {
        const body = await readBody(req);
        seen.push({ cookie: req.headers.cookie, origin: req.headers.origin, body });
        const sameOrigin = req.headers.origin === `http://127.0.0.1:${server.port}`;
        const tokenOk = new URLSearchParams(body).get('_csrf') === 't0k3n';
        respond(res, {}, 'checked', sameOrigin && tokenOk ? 200 : 403);
        return;
      }
      respond(res, { 'set-cookie': 'sessionid=s1; HttpOnly; SameSite=Lax; Path=/' }, formPage(true));
    });
    const { code, report } = await runJson([
      server.url,
      '--min-grade',
      'F',
      '--fail-on',
      'none',
      '--page',
      '/notes',
    ]);
    assert.equal(report.probes.find((probe) => probe.name === 'csrf')?.passed, true);
    assert.equal(
      seen.length,
      5,
      'cross-site, null origin, same-site subdomain, Origin without Sec-Fetch-Site, neither header',
    );
    for (const request of seen) {
      assert.equal(request.cookie, 'sessionid=s1', 'the page cookie is sent so a session exists');
      assert.ok(!request.body.includes('_csrf'), 'the token is left out');
      assert.match(request.body, /title=harden-check/);
    }
    assert.deepEqual(
      seen.map((request) => request.origin),
      [
        'https://attacker.example',
        'null',
        `http://evil.127.0.0.1:${server.port}`,
        'https://attacker.example',
        undefined,
      ],
    );
    assert.equal(code, 0);
  });

  test('null origin slips past origin check', async () => {
    // A check that only rejects foreign origins it can parse lets Origin: null (sandboxed iframes) through.
    const server = await serve(async (req, res) => {
      if (req.method === 'POST') {
        await readBody(req);
        const origin = req.headers.origin ?? '';
        const foreign = origin.startsWith('http') && origin !== `http://127.0.0.1:${server.port}`;
        respond(res, {}, 'checked', foreign ? 403 : 200);
        return;
      }
      respond(res, {}, formPage(true));
    });
    const { code, report } = await runJson([server.url, '--min-grade', 'F', '--page', '/notes']);
    const accepted = report.findings
      .filter((f) => f.id === 'csrf.forged_request_accepted')
      .map((f) => f.message);
    assert.deepEqual(accepted, [
      'POST /notes accepted a forged request (null origin) without a CSRF token (200).',
    ]);
    assert.equal(code, 1);
  });

  test('same-site sibling slips past SameSite-only check', async () => {
    // A check on Sec-Fetch-Site: cross-site alone trusts every sibling subdomain.
    const server = await serve(async (req, res) => {
      if (req.method === 'POST') {
        await readBody(req);
        respond(res, {}, 'checked', req.headers['sec-fetch-site'] === 'cross-site' ? 403 : 200);
        return;
      }
      respond(res, {}, formPage(true));
    });
    const { code, report } = await runJson([server.url, '--min-grade', 'F', '--page', '/notes']);
    const accepted = report.findings
      .filter((f) => f.id === 'csrf.forged_request_accepted')
      .map((f) => f.message);
    assert.deepEqual(accepted, [
      'POST /notes accepted a forged request (same-site subdomain) without a CSRF token (200).',
      'POST /notes accepted a forged request (cross-site Origin without Sec-Fetch-Site) without a CSRF token (200).',
    ]);
    assert.equal(code, 1);
  });

  test('Sec-Fetch-Site-only check misses Origin-only forgery', async () => {
    // Refuses cross-site and same-site by Sec-Fetch-Site and never reads Origin: Safari before 16.4
    // sends only Origin, so a forged form from there changes state.
    let changes = 0;
    const server = await serve(async (req, res) => {
      const site = req.headers['sec-fetch-site'];
      if (req.method !== 'GET' && (site === 'cross-site' || site === 'same-site')) {
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"error":"cross-site"}');
        return;
      }
      if (req.method === 'POST' && req.url === '/transfer') {
        await readBody(req);
        changes += 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ changes }));
        return;
      }
      respond(res);
    });
    const { code, report } = await runJson([server.url, '--min-grade', 'F', '--csrf', 'POST:/transfer']);
    const csrf = report.probes.find((probe) => probe.name === 'csrf');
    assert.equal(csrf?.passed, false);
    assert.deepEqual(
      csrf?.steps.filter((step) => !step.passed).map((step) => step.label),
      [
        'POST /transfer cross-site Origin without Sec-Fetch-Site, application/x-www-form-urlencoded',
        'POST /transfer cross-site Origin without Sec-Fetch-Site, text/plain',
      ],
    );
    assert.equal(changes, 2);
    assert.ok(findingIds(report).includes('csrf.forged_request_accepted'));
    assert.equal(code, 1);
  });

  test('cookie session accepts header-less forged post', async () => {
    // Checks Sec-Fetch-Site and Origin well, but trusts a request that has neither: a browser too old to
    // send them (or a privacy tool that strips them) still sends the session cookie, and only a token can refuse it.
    const seen: Array<{ cookie?: string; origin?: string; site?: string }> = [];
    const server = await serve(async (req, res) => {
      if (req.method === 'POST') {
        await readBody(req);
        const origin = req.headers.origin;
        const site = req.headers['sec-fetch-site'];
        seen.push({ cookie: req.headers.cookie, origin, site });
        const own = `http://127.0.0.1:${server.port}`;
        const rejected =
          (site !== undefined && site !== 'same-origin' && site !== 'none') ||
          (origin !== undefined && origin !== own);
        respond(res, {}, 'checked', rejected ? 403 : 200);
        return;
      }
      respond(res, { 'set-cookie': 'sessionid=s1; HttpOnly; SameSite=Lax; Path=/' }, formPage(true));
    });
    const { code, report } = await runJson([server.url, '--min-grade', 'F', '--page', '/notes']);
    const accepted = report.findings
      .filter((f) => f.id === 'csrf.forged_request_accepted')
      .map((f) => f.message);
    assert.deepEqual(accepted, [
      'POST /notes accepted a forged request (cookies without Origin or Sec-Fetch-Site) without a CSRF token (200).',
    ]);
    assert.deepEqual(seen.at(-1), { cookie: 'sessionid=s1', origin: undefined, site: undefined });
    assert.equal(code, 1);
  });

  // A page that lists one form per row must not turn into thousands of forged posts.
  test('page repeating many forms is capped per page and per run', async () => {
    let posts = 0;
    const manyForms = (page: string) =>
      `<!doctype html>${Array.from(
        { length: 30 },
        (_, i) =>
          `<form method="post" action="/${page}/${i}/delete"><input type="hidden" name="_csrf" value="t"><button>Delete</button></form>`,
      ).join('')}`;
    const server = await serve(async (req, res) => {
      if (req.method === 'POST') {
        posts += 1;
        await readBody(req);
        respond(res, {}, 'forbidden', 403);
        return;
      }
      respond(
        res,
        { 'set-cookie': 'sid=s1; HttpOnly; SameSite=Lax; Path=/' },
        manyForms(req.url?.slice(1) ?? ''),
      );
    });
    const { report } = await runJson([
      server.url,
      '--min-grade',
      'F',
      '--page',
      '/a',
      '--page',
      '/b',
      '--page',
      '/c',
    ]);
    // 20 of /a, 20 of /b, then 10 of /c reach the limit of 50 per run; 5 forged posts each.
    assert.equal(posts, 250);
    const csrf = report.probes.find((probe) => probe.name === 'csrf');
    assert.equal(csrf?.passed, true);
    assert.match(csrf?.summary ?? '', /^50 form\(s\), 0 API endpoint\(s\)/);
    const skipped = report.findings.find((f) => f.id === 'csrf.forms_skipped');
    assert.equal(skipped?.severity, 'info');
    assert.equal(
      skipped?.message,
      '40 POST form(s) were not probed: 40 were over the limit of 20 per page and 50 per run.',
    );
  });

  test('repeated identical form is probed once', async () => {
    let posts = 0;
    const row =
      '<form method="post" action="/logout"><input type="hidden" name="_csrf" value="t"><button>Sign out</button></form>';
    const server = await serve(async (req, res) => {
      if (req.method === 'POST') {
        posts += 1;
        await readBody(req);
        respond(res, {}, 'forbidden', 403);
        return;
      }
      respond(res, { 'set-cookie': 'sid=s1; HttpOnly; SameSite=Lax; Path=/' }, row.repeat(300));
    });
    const { report } = await runJson([server.url, '--min-grade', 'F', '--page', '/list']);
    assert.equal(posts, 5);
    assert.equal(
      report.findings.find((f) => f.id === 'csrf.forms_skipped')?.message,
      '299 POST form(s) were not probed: 299 repeated an earlier form of the same page.',
    );
  });

  test('huge page is parsed only up to the size cap', async () => {
    let posts = 0;
    // A form without a token after 600,000 characters of text: past the cap, so it is never seen.
    const page = `<!doctype html><p>${'x'.repeat(600_000)}</p>${formPage(false)}`;
    const server = await serve(async (req, res) => {
      if (req.method === 'POST') {
        posts += 1;
        await readBody(req);
      }
      respond(res, {}, page);
    });
    const { report } = await runJson([server.url, '--min-grade', 'F', '--page', '/big']);
    assert.equal(posts, 0);
    const ids = findingIds(report);
    assert.ok(ids.includes('csrf.page_truncated'));
    assert.ok(ids.includes('csrf.no_post_form'));
    assert.ok(!ids.includes('csrf.form_without_token'));
  });

  // A page that did not render shows no form; that is no evidence the app rejects forged posts.
  for (const [status, extra] of [
    [429, { 'retry-after': '60' }],
    [503, {}],
    [404, {}],
  ] as const) {
    test(`form page answering ${status} fails the CSRF probe`, async () => {
      const server = await serve((req, res) => {
        if (req.url === '/login') return respond(res, extra, 'not now', status);
        respond(res);
      });
      const { code, report } = await runJson([server.url, '--min-grade', 'F', '--page', '/login']);
      const csrf = report.probes.find((probe) => probe.name === 'csrf');
      assert.equal(csrf?.passed, false);
      assert.equal(csrf?.summary, 'no form tested: 1 page(s) not fetched');
      const finding = report.findings.find((f) => f.id === 'csrf.page_not_fetched');
      assert.equal(
        finding?.message,
        `/login returned status ${status}${status === 429 ? ' (Retry-After: 60)' : ''} instead of a 2xx page, so its forms were not tested.`,
      );
      assert.equal(code, 1);
    });
  }

  test('page without POST form is noted', async () => {
    const server = await serve((_req, res) =>
      respond(res, {}, '<form method="get" action="/search"><input name="q"></form>'),
    );
    const { report } = await runJson([server.url, '--min-grade', 'F', '--page', '/search']);
    assert.equal(report.findings.find((f) => f.id === 'csrf.no_post_form')?.severity, 'info');
  });

  test('API endpoint accepting forged requests fails', async () => {
    const server = await serve(async (req, res) => {
      if (req.method === 'DELETE') {
        await readBody(req);
        res.writeHead(204).end();
        return;
      }
      respond(res);
    });
    const { code, report } = await runJson([server.url, '--min-grade', 'F', '--csrf', 'DELETE:/api/notes/1']);
    const steps = report.probes.find((probe) => probe.name === 'csrf')?.steps ?? [];
    assert.equal(steps.length, 8, 'four forged requests with a form and a text/plain body');
    assert.ok(steps.every((step) => !step.passed && step.label.startsWith('DELETE /api/notes/1')));
    assert.ok(findingIds(report).includes('csrf.forged_request_accepted'));
    // The app set no cookie, so the request without Origin and Sec-Fetch-Site would carry no credential.
    assert.equal(report.findings.find((f) => f.id === 'csrf.no_cookie_for_token_check')?.severity, 'info');
    assert.equal(code, 1);
  });

  test('API endpoint rejecting forged requests passes', async () => {
    const server = await serve(async (req, res) => {
      if (req.method === 'POST') {
        await readBody(req);
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"error":"cross-site request"}');
        return;
      }
      respond(res);
    });
    const { code, report } = await runJson([server.url, '--min-grade', 'F', '--csrf', '/api/notes']);
    assert.equal(report.probes.find((probe) => probe.name === 'csrf')?.passed, true);
    assert.equal(code, 0);
  });

  test('404 is not a rejection', async () => {
    const server = await serve((req, res) =>
      respond(res, {}, 'not found', req.method === 'POST' ? 404 : 200),
    );
    const { code, report } = await runJson([server.url, '--min-grade', 'F', '--csrf', '/missing']);
    assert.ok(findingIds(report).includes('csrf.forged_request_not_rejected'));
    assert.equal(code, 1);
  });
});

describe('rate-limit probe', () => {
  test('no limit sends N+1 and fails', async () => {
    let posts = 0;
    const server = await serve(async (req, res) => {
      if (req.method === 'POST') {
        posts += 1;
        await readBody(req);
      }
      respond(res);
    });
    const { code, report } = await runJson([server.url, '--min-grade', 'F', '--rate-limit', 'POST:/login=3']);
    assert.equal(posts, 4);
    assert.ok(findingIds(report).includes('rate-limit.not_enforced'));
    assert.equal(code, 1);
  });

  test('limit found with Retry-After passes', async () => {
    let gets = 0;
    const server = await serve((req, res) => {
      if (req.url !== '/search') return respond(res);
      gets += 1;
      const remaining = Math.max(0, 3 - gets);
      const headers = {
        'ratelimit-policy': '3;w=60',
        ratelimit: `limit=3, remaining=${remaining}, reset=60`,
      };
      if (gets > 3) return respond(res, { ...headers, 'retry-after': '60' }, 'slow down', 429);
      respond(res, headers);
    });
    const { code, report } = await runJson([server.url, '--min-grade', 'F', '--rate-limit', '/search=10']);
    const probe = report.probes.find((entry) => entry.name === 'rate-limit');
    assert.equal(probe?.passed, true);
    assert.match(
      probe?.summary ?? '',
      /GET \/search: limit found at 3 request\(s\), 429 with Retry-After: 60/,
    );
    assert.ok(probe?.steps.some((step) => step.detail.includes('ratelimit-policy: 3;w=60')));
    assert.equal(gets, 7, 'stops at the first 429, then one request per address header');
    assert.deepEqual(
      probe?.steps.slice(-3).map((step) => [step.label.split(':')[1], step.passed]),
      [
        [' still limited with x-forwarded-for', true],
        [' still limited with x-real-ip', true],
        [' still limited with forwarded', true],
      ],
    );
    assert.equal(code, 0);
  });

  // A limiter keyed on a client-supplied address header (Fastify's trustProxy: true) gives every
  // request with a new address a new budget.
  const clientAddress: Record<string, (req: IncomingMessage) => string | undefined> = {
    'x-forwarded-for': (req) => req.headers['x-forwarded-for']?.toString().split(',')[0]?.trim(),
    'x-real-ip': (req) => req.headers['x-real-ip']?.toString(),
    forwarded: (req) => /for=([^;,\s]+)/.exec(req.headers.forwarded ?? '')?.[1],
  };
  for (const [header, readAddress] of Object.entries(clientAddress)) {
    test(`${header} spoofing escapes the rate limit`, async () => {
      const counts = new Map<string, number>();
      const server = await serve(async (req, res) => {
        if (req.method !== 'POST') return respond(res);
        await readBody(req);
        const key = readAddress(req) ?? req.socket.remoteAddress ?? '';
        const count = (counts.get(key) ?? 0) + 1;
        counts.set(key, count);
        if (count > 5) return respond(res, { 'retry-after': '60' }, 'too many', 429);
        respond(res, {}, 'wrong password', 401);
      });
      const { code, report } = await runJson([
        server.url,
        '--min-grade',
        'F',
        '--rate-limit',
        'POST:/login=5',
      ]);
      const probe = report.probes.find((entry) => entry.name === 'rate-limit');
      assert.equal(probe?.passed, false);
      assert.match(
        probe?.summary ?? '',
        new RegExp(`limit found at 5 request\\(s\\).*escaped with ${header}$`),
      );
      const finding = report.findings.find((f) => f.id === 'rate-limit.client_key_spoofable');
      assert.equal(finding?.severity, 'high');
      assert.match(finding?.message ?? '', new RegExp(`new address in ${header} \\(401\\):`));
      assert.equal(counts.size, 2, 'the peer address and the one fresh address');
      assert.equal(code, 1);
    });
  }

  test('skip-address-spoof-check sends no address headers', async () => {
    let addressHeaders = 0;
    let posts = 0;
    const server = await serve(async (req, res) => {
      if (req.method !== 'POST') return respond(res);
      await readBody(req);
      posts += 1;
      if (req.headers['x-forwarded-for'] || req.headers['x-real-ip'] || req.headers.forwarded)
        addressHeaders += 1;
      if (posts > 5) return respond(res, { 'retry-after': '60' }, 'too many', 429);
      respond(res, {}, 'wrong password', 401);
    });
    const { code, report } = await runJson([
      server.url,
      '--min-grade',
      'F',
      '--rate-limit',
      'POST:/login=5',
      '--skip-address-spoof-check',
    ]);
    assert.equal(report.probes.find((entry) => entry.name === 'rate-limit')?.passed, true);
    assert.equal(posts, 6);
    assert.equal(addressHeaders, 0);
    assert.equal(code, 0);
  });

  // Run from an address the app trusts as its proxy, the app rightly reads the header; the finding
  // must say what it assumes and how to leave the check out.
  test('spoofable key finding names the trusted-proxy assumption and skip option', async () => {
    const counts = new Map<string, number>();
    const server = await serve(async (req, res) => {
      if (req.method !== 'POST') return respond(res);
      await readBody(req);
      const key = req.headers['x-forwarded-for']?.toString() ?? req.socket.remoteAddress ?? '';
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      if (count > 3) return respond(res, { 'retry-after': '60' }, 'too many', 429);
      respond(res, {}, 'wrong password', 401);
    });
    const { report } = await runJson([server.url, '--min-grade', 'F', '--rate-limit', 'POST:/login=3']);
    const finding = report.findings.find((f) => f.id === 'rate-limit.client_key_spoofable');
    assert.match(finding?.message ?? '', /any client that reaches the app directly escapes it/);
    assert.match(finding?.fix ?? '', /talks to the app directly/);
    assert.match(finding?.fix ?? '', /--skip-address-spoof-check/);
  });

  test('429 without Retry-After fails', async () => {
    const server = await serve((req, res) => respond(res, {}, 'no', req.method === 'POST' ? 429 : 200));
    const { code, report } = await runJson([server.url, '--min-grade', 'F', '--rate-limit', 'POST:/login=5']);
    assert.ok(findingIds(report).includes('rate-limit.no_retry_after'));
    assert.equal(code, 1);
  });
});

describe('harden-check binary', () => {
  test('weak server exits 1 with report', async () => {
    const server = await serve((_req, res) =>
      respond(res, { 'content-security-policy': null, server: 'nginx/1.25.3' }),
    );
    const run = await runChildProcess([server.url, '--min-grade', 'F']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /Grade D \(35\/100\)/);
    assert.match(run.stdout, /server: nginx\/1\.25\.3 discloses the software version/i);
    assert.match(run.stdout, /FAILED: 1 finding\(s\) of severity high or worse/);
    assert.ok(!run.stdout.includes('\u001b['), 'no colour when stdout is not a terminal');
  });

  test('markdown table for security.md', async () => {
    const server = await serve((_req, res) => respond(res));
    const run = await runChildProcess([server.url, '--min-grade', 'F', '--markdown']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^\| check \| status \| result \|$/m);
    assert.match(
      run.stdout,
      /^\| content-security-policy \| pass \(\+10\) \| csp-implemented-with-no-unsafe-default-src-none \|$/m,
    );
    assert.match(run.stdout, /^\| cors probe \| pass \|/m);
  });
});
