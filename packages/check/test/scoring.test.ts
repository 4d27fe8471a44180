// Recorded response headers scored by harden-check and compared with scores worked out by hand from the
// MDN HTTP Observatory v1.5.0 rules. Start at 100 and add each test's modifier. Bonuses count only when
// 100 plus the penalties is at least 90. Grades go in steps of 5 (100+ A+, 90 A, 85 A-, 80 B+, 70 B,
// 65 B-, 60 C+, 50 C, 45 C-, 40 D+, 30 D, 25 D-, below 25 F).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gradeForScore, type ObservatoryInput, type PageHtml, scoreObservatory } from '@harden/check';

type Headers = Record<string, string | string[]>;

const NO_HTML: PageHtml = { metaCsp: [], metaReferrer: null, scripts: [] };

/** Builds the input of a JSON page over verified HTTPS, reached from http:// by one redirect. */
function httpsInput(headers: Headers, overrides: Partial<ObservatoryInput> = {}): ObservatoryInput {
  const lower = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  return {
    page: {
      url: 'https://app.test/',
      status: 200,
      headers: { 'content-type': 'application/json', ...lower },
      body: '{}',
    },
    https: { headers: { 'content-type': 'application/json', ...lower }, verified: true },
    httpRedirects: {
      chain: [
        { url: 'http://app.test/', status: 301 },
        { url: 'https://app.test/', status: 200 },
      ],
      verified: true,
    },
    cors: null,
    setCookies: [],
    ...overrides,
  };
}

function resultOf(score: ReturnType<typeof scoreObservatory>, testName: string): string {
  const found = score.tests.find((entry) => entry.test === testName);
  assert.ok(found, `no result for ${testName}`);
  return found.result;
}

/** Headers that earn every bonus a local run can see. */
const BEST_HEADERS: Headers = {
  'Content-Security-Policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

describe('Observatory total score', () => {
  test('best headers earn every bonus', () => {
    // No penalty, so 100 >= 90 and bonuses count: CSP default-src 'none' +10, X-Frame-Options via
    // frame-ancestors +5, Referrer-Policy no-referrer +5, CORP same-origin +10.
    // 100 + 10 + 5 + 5 + 10 = 130, grade A+.
    const score = scoreObservatory(httpsInput(BEST_HEADERS), NO_HTML);
    assert.equal(score.scoreWithoutBonuses, 100);
    assert.equal(score.score, 130);
    assert.equal(score.grade, 'A+');
    assert.equal(score.algorithmVersion, 5);
  });

  test('exactly 90 before bonuses keeps them', () => {
    // X-Content-Type-Options missing -5, Referrer-Policy unsafe-url -5: 100 - 10 = 90, which is at
    // least 90, so the bonuses count: CSP +10, XFO via CSP +5, CORP +10.
    // 90 + 25 = 115, grade A+.
    const headers = { ...BEST_HEADERS, 'Referrer-Policy': 'unsafe-url' };
    delete (headers as Record<string, unknown>)['X-Content-Type-Options'];
    const score = scoreObservatory(httpsInput(headers), NO_HTML);
    assert.equal(score.scoreWithoutBonuses, 90);
    assert.equal(score.score, 115);
    assert.equal(score.grade, 'A+');
  });

  test('85 before bonuses drops them', () => {
    // X-Content-Type-Options missing -5, Referrer-Policy unsafe-url -5, CORP invalid -5: 100 - 15 = 85,
    // below 90, so the CSP +10 and XFO +5 bonuses are not added. Score 85, grade A-.
    const headers = {
      ...BEST_HEADERS,
      'Referrer-Policy': 'unsafe-url',
      'Cross-Origin-Resource-Policy': 'everyone',
    };
    delete (headers as Record<string, unknown>)['X-Content-Type-Options'];
    const score = scoreObservatory(httpsInput(headers), NO_HTML);
    assert.equal(score.scoreWithoutBonuses, 85);
    assert.equal(score.score, 85);
    assert.equal(score.grade, 'A-');
  });

  test('bare HTTP page scores F', () => {
    // An HTML page over plain HTTP with no security header and no redirect:
    // CSP not implemented -25, redirection missing -20, HSTS not possible without HTTPS -20,
    // X-Content-Type-Options missing -5, X-Frame-Options missing -20; the rest 0.
    // 100 - 90 = 10, grade F.
    const score = scoreObservatory(
      {
        page: {
          url: 'http://app.test/',
          status: 200,
          headers: { 'content-type': 'text/html' },
          body: '<p>hi</p>',
        },
        https: null,
        httpRedirects: { chain: [{ url: 'http://app.test/', status: 200 }], verified: true },
        cors: null,
        setCookies: [],
      },
      NO_HTML,
    );
    assert.equal(score.score, 10);
    assert.equal(score.grade, 'F');
    assert.equal(resultOf(score, 'redirection'), 'redirection-missing');
    assert.equal(resultOf(score, 'strict-transport-security'), 'hsts-not-implemented-no-https');
  });

  test('score below zero counts as zero', () => {
    // Bare HTTP page (10, as above) plus a reflected credentialed CORS response -50 and a session cookie
    // without Secure -40: 10 - 90 = -80, shown as 0, grade F.
    const score = scoreObservatory(
      {
        page: { url: 'http://app.test/', status: 200, headers: { 'content-type': 'text/html' }, body: '' },
        https: null,
        httpRedirects: { chain: [{ url: 'http://app.test/', status: 200 }], verified: true },
        cors: {
          requestOrigin: 'https://http-observatory.security.mozilla.org',
          headers: {
            'access-control-allow-origin': 'https://http-observatory.security.mozilla.org',
            'access-control-allow-credentials': 'true',
          },
        },
        setCookies: ['sessionid=1; HttpOnly; SameSite=Lax'],
      },
      NO_HTML,
    );
    assert.equal(score.scoreWithoutBonuses, -80);
    assert.equal(score.score, 0);
    assert.equal(score.grade, 'F');
  });
});

describe('Observatory grade chart', () => {
  const boundaries: Array<[number, string]> = [
    [135, 'A+'],
    [100, 'A+'],
    [99, 'A'],
    [90, 'A'],
    [89, 'A-'],
    [85, 'A-'],
    [84, 'B+'],
    [80, 'B+'],
    [79, 'B'],
    [70, 'B'],
    [69, 'B-'],
    [65, 'B-'],
    [64, 'C+'],
    [60, 'C+'],
    [59, 'C'],
    [50, 'C'],
    [49, 'C-'],
    [45, 'C-'],
    [44, 'D+'],
    [40, 'D+'],
    [39, 'D'],
    [30, 'D'],
    [29, 'D-'],
    [25, 'D-'],
    [24, 'F'],
    [0, 'F'],
    [-20, 'F'],
  ];
  for (const [score, grade] of boundaries) {
    test(`score ${score} grades ${grade}`, () => {
      assert.equal(gradeForScore(score), grade);
    });
  }
});

describe('Observatory CSP test', () => {
  const cases: Array<[string, string | string[], string, number]> = [
    // [name, Content-Security-Policy, expected result, modifier]
    [
      'nonce disables unsafe-inline',
      "default-src 'self'; script-src 'nonce-abc' 'unsafe-inline'; object-src 'none'",
      'csp-implemented-with-no-unsafe',
      5,
    ],
    [
      'strict-dynamic without nonce',
      "default-src 'self'; script-src 'strict-dynamic'",
      'csp-header-invalid',
      -25,
    ],
    ['repeated directive', "default-src 'self'; default-src 'none'", 'csp-header-invalid', -25],
    [
      'repeated report-uri',
      "default-src 'self'; report-uri /a; report-uri /b",
      'csp-implemented-but-duplicate-directives',
      0,
    ],
    ['no script restriction', "img-src 'self'", 'csp-implemented-with-unsafe-inline', -20],
    [
      'https: in script-src',
      "default-src 'self'; script-src https:",
      'csp-implemented-with-unsafe-inline',
      -20,
    ],
    ['data: in default-src', "default-src 'self' data:", 'csp-implemented-with-unsafe-inline', -20],
    [
      'unsafe-eval',
      "default-src 'self'; script-src 'self' 'unsafe-eval'",
      'csp-implemented-with-unsafe-eval',
      -10,
    ],
    [
      'http image on https site',
      "default-src 'self'; img-src http://img.test",
      'csp-implemented-with-insecure-scheme-in-passive-content-only',
      -10,
    ],
    [
      'http script host on https site',
      "default-src 'self'; script-src http://cdn.test",
      'csp-implemented-with-insecure-scheme',
      -20,
    ],
    [
      'unsafe-inline in style only',
      "default-src 'self'; style-src 'self' 'unsafe-inline'",
      'csp-implemented-with-unsafe-inline-in-style-src-only',
      0,
    ],
    ['empty header value', '', 'csp-header-invalid', -25],
    // node:http joins two headers with ", " and the Observatory reads the result as one policy, whose
    // default-src then lists "'self',", "script-src" and "'none'" as sources.
    [
      'two headers folded by node',
      "default-src 'self', script-src 'none'",
      'csp-implemented-with-no-unsafe',
      5,
    ],
  ];
  for (const [name, csp, expected, modifier] of cases) {
    test(name, () => {
      const score = scoreObservatory(httpsInput({ 'Content-Security-Policy': csp }), NO_HTML);
      const result = score.tests.find((entry) => entry.test === 'content-security-policy');
      assert.equal(result?.result, expected);
      assert.equal(result?.modifier, modifier);
    });
  }

  test('report-only policy alone', () => {
    const score = scoreObservatory(
      httpsInput({ 'Content-Security-Policy-Report-Only': "default-src 'self'" }),
      NO_HTML,
    );
    assert.equal(resultOf(score, 'content-security-policy'), 'csp-not-implemented-but-reporting-enabled');
  });

  test('meta policy counts on HTML pages', () => {
    const input = httpsInput({});
    input.page = { ...input.page, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<meta>' };
    const html: PageHtml = { ...NO_HTML, metaCsp: ["default-src 'none'"] };
    const score = scoreObservatory(input, html);
    assert.equal(
      resultOf(score, 'content-security-policy'),
      'csp-implemented-with-no-unsafe-default-src-none',
    );
  });

  test('meta policy narrows header policy', () => {
    // Header and meta policies are both enforced, so a source counts only when both allow it:
    // script-src keeps 'self' and loses 'unsafe-inline', leaving no unsafe source (+5).
    const input = httpsInput({
      'Content-Security-Policy': "default-src 'self'; script-src 'self' 'unsafe-inline'",
    });
    input.page = {
      ...input.page,
      headers: { ...input.page.headers, 'content-type': 'text/html' },
      body: '<meta>',
    };
    const score = scoreObservatory(input, { ...NO_HTML, metaCsp: ["script-src 'self'"] });
    assert.equal(resultOf(score, 'content-security-policy'), 'csp-implemented-with-no-unsafe');
  });

  test('meta frame-ancestors alone is ignored', () => {
    const input = httpsInput({});
    input.page = { ...input.page, headers: { 'content-type': 'text/html' }, body: '<meta>' };
    const score = scoreObservatory(input, { ...NO_HTML, metaCsp: ["frame-ancestors 'none'"] });
    assert.equal(resultOf(score, 'content-security-policy'), 'csp-not-implemented');
    assert.equal(resultOf(score, 'x-frame-options'), 'x-frame-options-not-implemented');
  });
});

describe('Observatory header tests', () => {
  const cases: Array<[string, Headers, string, string, number]> = [
    // [name, headers, test, expected result, modifier]
    [
      'HSTS six months exactly',
      { 'Strict-Transport-Security': 'max-age=15552000' },
      'strict-transport-security',
      'hsts-implemented-max-age-at-least-six-months',
      0,
    ],
    [
      'HSTS one second short',
      { 'Strict-Transport-Security': 'max-age=15551999' },
      'strict-transport-security',
      'hsts-implemented-max-age-less-than-six-months',
      -10,
    ],
    [
      'HSTS sent twice',
      { 'Strict-Transport-Security': 'max-age=31536000, max-age=31536000' },
      'strict-transport-security',
      'hsts-header-invalid',
      -20,
    ],
    [
      'HSTS without max-age',
      { 'Strict-Transport-Security': 'includeSubDomains' },
      'strict-transport-security',
      'hsts-header-invalid',
      -20,
    ],
    ['HSTS missing', {}, 'strict-transport-security', 'hsts-not-implemented', -20],
    [
      'XFO DENY earns 5 since 1.5.0',
      { 'X-Frame-Options': 'DENY' },
      'x-frame-options',
      'x-frame-options-sameorigin-or-deny',
      5,
    ],
    [
      'XFO ALLOW-FROM',
      { 'X-Frame-Options': 'ALLOW-FROM https://a.test' },
      'x-frame-options',
      'x-frame-options-allow-from-origin',
      0,
    ],
    [
      'XFO sent twice',
      { 'X-Frame-Options': 'DENY, DENY' },
      'x-frame-options',
      'x-frame-options-header-invalid',
      -20,
    ],
    [
      'XCTO wrong value',
      { 'X-Content-Type-Options': 'sniff' },
      'x-content-type-options',
      'x-content-type-options-header-invalid',
      -5,
    ],
    [
      'Referrer last valid token wins',
      { 'Referrer-Policy': 'no-referrer, unsafe-url' },
      'referrer-policy',
      'referrer-policy-unsafe',
      -5,
    ],
    [
      'Referrer unknown token',
      { 'Referrer-Policy': 'never' },
      'referrer-policy',
      'referrer-policy-header-invalid',
      -5,
    ],
    [
      'Referrer strict-origin-when-cross-origin',
      { 'Referrer-Policy': 'strict-origin-when-cross-origin' },
      'referrer-policy',
      'referrer-policy-private',
      5,
    ],
    [
      'CORP same-site',
      { 'Cross-Origin-Resource-Policy': 'same-site' },
      'cross-origin-resource-policy',
      'corp-implemented-with-same-site',
      10,
    ],
    [
      'CORP cross-origin',
      { 'Cross-Origin-Resource-Policy': 'cross-origin' },
      'cross-origin-resource-policy',
      'corp-implemented-with-cross-origin',
      0,
    ],
  ];
  for (const [name, headers, testName, expected, modifier] of cases) {
    test(name, () => {
      const score = scoreObservatory(httpsInput(headers), NO_HTML);
      const result = score.tests.find((entry) => entry.test === testName);
      assert.equal(result?.result, expected);
      assert.equal(result?.modifier, modifier);
    });
  }

  test('unverified certificate fails HSTS and redirection', () => {
    const input = httpsInput(BEST_HEADERS, {
      https: { headers: { 'strict-transport-security': 'max-age=31536000' }, verified: false },
    });
    input.httpRedirects = { chain: input.httpRedirects?.chain ?? [], verified: false };
    const score = scoreObservatory(input, NO_HTML);
    assert.equal(resultOf(score, 'strict-transport-security'), 'hsts-invalid-cert');
    assert.equal(resultOf(score, 'redirection'), 'redirection-invalid-cert');
  });
});

describe('Observatory cookies test', () => {
  const hsts = { 'Strict-Transport-Security': 'max-age=31536000' };
  const cases: Array<[string, Headers, string[], string, number]> = [
    [
      'secure session with SameSite',
      hsts,
      ['sessionid=1; Secure; HttpOnly; SameSite=Lax'],
      'cookies-secure-with-httponly-sessions-and-samesite',
      5,
    ],
    [
      'secure session without SameSite',
      hsts,
      ['sessionid=1; Secure; HttpOnly'],
      'cookies-secure-with-httponly-sessions',
      0,
    ],
    [
      'session without Secure behind HSTS',
      hsts,
      ['sessionid=1; HttpOnly; SameSite=Lax'],
      'cookies-session-without-secure-flag-but-protected-by-hsts',
      -10,
    ],
    [
      'session without Secure or HSTS',
      {},
      ['sessionid=1; HttpOnly; SameSite=Lax'],
      'cookies-session-without-secure-flag',
      -40,
    ],
    [
      'session without HttpOnly',
      hsts,
      ['login=1; Secure; SameSite=Strict'],
      'cookies-session-without-httponly-flag',
      -30,
    ],
    [
      'SameSite value invalid',
      hsts,
      ['theme=dark; Secure; SameSite=Always'],
      'cookies-samesite-flag-invalid',
      -20,
    ],
    [
      'SameSite=None without Secure',
      hsts,
      ['theme=dark; SameSite=None'],
      'cookies-samesite-flag-invalid',
      -20,
    ],
    [
      'csrf cookie without SameSite',
      hsts,
      ['csrftoken=1; Secure'],
      'cookies-anticsrf-without-samesite-flag',
      -20,
    ],
    [
      'deleted cookie is ignored',
      hsts,
      ['sessionid=1; HttpOnly', 'sessionid=; Max-Age=0'],
      'cookies-not-found',
      0,
    ],
    [
      'broken __Host- cookie is dropped',
      hsts,
      ['__Host-sessionid=1; Secure; Path=/admin'],
      'cookies-not-found',
      0,
    ],
  ];
  for (const [name, headers, setCookies, expected, modifier] of cases) {
    test(name, () => {
      const score = scoreObservatory(httpsInput(headers, { setCookies }), NO_HTML);
      const result = score.tests.find((entry) => entry.test === 'cookies');
      assert.equal(result?.result, expected);
      assert.equal(result?.modifier, modifier);
    });
  }
});

describe('Observatory redirection, CORS and SRI tests', () => {
  const chains: Array<[string, Array<[string, number]>, string, number]> = [
    [
      'to HTTPS on the same host',
      [
        ['http://a.test/', 301],
        ['https://a.test/', 200],
      ],
      'redirection-to-https',
      0,
    ],
    [
      'HTTP to HTTP first',
      [
        ['http://a.test/', 301],
        ['http://a.test/x', 301],
        ['https://a.test/x', 200],
      ],
      'redirection-not-to-https-on-initial-redirection',
      -10,
    ],
    [
      'to HTTPS on another host',
      [
        ['http://a.test/', 301],
        ['https://www.a.test/', 200],
      ],
      'redirection-off-host-from-http',
      -5,
    ],
    [
      'ends on HTTP',
      [
        ['http://a.test/', 301],
        ['http://a.test/x', 200],
      ],
      'redirection-not-to-https',
      -20,
    ],
    ['no redirect', [['http://a.test/', 200]], 'redirection-missing', -20],
  ];
  for (const [name, chain, expected, modifier] of chains) {
    test(`redirection ${name}`, () => {
      const input = httpsInput(BEST_HEADERS, {
        httpRedirects: { chain: chain.map(([url, status]) => ({ url, status })), verified: true },
      });
      const result = scoreObservatory(input, NO_HTML).tests.find((entry) => entry.test === 'redirection');
      assert.equal(result?.result, expected);
      assert.equal(result?.modifier, modifier);
    });
  }

  test('redirection without HTTP listener', () => {
    const score = scoreObservatory(httpsInput(BEST_HEADERS, { httpRedirects: null }), NO_HTML);
    assert.equal(resultOf(score, 'redirection'), 'redirection-not-needed-no-http');
  });

  test('CORS echo with credentials', () => {
    const origin = 'https://http-observatory.security.mozilla.org';
    const input = httpsInput(BEST_HEADERS, {
      cors: {
        requestOrigin: origin,
        headers: { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' },
      },
    });
    const result = scoreObservatory(input, NO_HTML).tests.find(
      (entry) => entry.test === 'cross-origin-resource-sharing',
    );
    assert.equal(result?.result, 'cross-origin-resource-sharing-implemented-with-universal-access');
    assert.equal(result?.modifier, -50);
  });

  test('CORS wildcard is public access', () => {
    const input = httpsInput(BEST_HEADERS, {
      cors: { requestOrigin: 'https://x.test', headers: { 'access-control-allow-origin': '*' } },
    });
    const result = scoreObservatory(input, NO_HTML).tests.find(
      (entry) => entry.test === 'cross-origin-resource-sharing',
    );
    assert.equal(result?.result, 'cross-origin-resource-sharing-implemented-with-public-access');
    assert.equal(result?.modifier, 0);
  });

  const scripts: Array<[string, PageHtml['scripts'], string, number]> = [
    [
      'same-origin script',
      [{ src: '/app.js', integrity: null }],
      'sri-not-implemented-but-all-scripts-loaded-from-secure-origin',
      0,
    ],
    [
      'same-origin script with SRI',
      [{ src: '/app.js', integrity: 'sha384-x' }],
      'sri-implemented-and-all-scripts-loaded-securely',
      5,
    ],
    [
      'external HTTPS script with SRI',
      [{ src: 'https://cdn.other.test/a.js', integrity: 'sha384-x' }],
      'sri-implemented-and-external-scripts-loaded-securely',
      5,
    ],
    [
      'external HTTPS script without SRI',
      [{ src: 'https://cdn.other.test/a.js', integrity: null }],
      'sri-not-implemented-but-external-scripts-loaded-securely',
      -5,
    ],
    [
      'external HTTP script without SRI',
      [{ src: 'http://cdn.other.test/a.js', integrity: null }],
      'sri-not-implemented-and-external-scripts-not-loaded-securely',
      -50,
    ],
    [
      'protocol-relative script with SRI',
      [{ src: '//cdn.other.test/a.js', integrity: 'sha384-x' }],
      'sri-implemented-but-external-scripts-not-loaded-securely',
      -20,
    ],
    [
      'subdomain script counts as same site',
      [{ src: 'https://static.app.test/a.js', integrity: null }],
      'sri-not-implemented-but-all-scripts-loaded-from-secure-origin',
      0,
    ],
    [
      'inline script only',
      [{ src: null, integrity: null }],
      'sri-not-implemented-but-all-scripts-loaded-from-secure-origin',
      0,
    ],
  ];
  for (const [name, pageScripts, expected, modifier] of scripts) {
    test(`SRI ${name}`, () => {
      const input = httpsInput(BEST_HEADERS);
      input.page = {
        ...input.page,
        headers: { ...input.page.headers, 'content-type': 'text/html' },
        body: '<script></script>',
      };
      const result = scoreObservatory(input, { ...NO_HTML, scripts: pageScripts }).tests.find(
        (entry) => entry.test === 'subresource-integrity',
      );
      assert.equal(result?.result, expected);
      assert.equal(result?.modifier, modifier);
    });
  }
});
