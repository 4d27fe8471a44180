import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AuditInput, auditConfiguration } from '@harden/core';

const GOOD_SECRET = 'k3J9x_Qp7vT2mLzR8wYc4NbH6sDf1GaE0uVo5iKj';

const safe: AuditInput = {
  sessionSecrets: [GOOD_SECRET],
  cors: { origins: ['https://front.example'], credentials: true },
  contentSecurityPolicy: { 'default-src': ["'self'"], 'script-src': ["'self'", "'nonce-abc'"] },
  https: { forceHttps: true, hsts: true },
  store: 'sqlite',
  instances: 1,
  trustProxy: '10.0.0.5',
  csrfDisabledRoutes: [],
};

function ids(input: AuditInput): string[] {
  return auditConfiguration(input).map((finding) => `${finding.severity}:${finding.id}`);
}

describe('auditConfiguration', () => {
  test('safe configuration has no findings', () => {
    assert.deepEqual(auditConfiguration(safe), []);
  });

  test('empty input has no findings', () => {
    assert.deepEqual(auditConfiguration({}), []);
  });

  test('short session secret', () => {
    assert.deepEqual(ids({ ...safe, sessionSecrets: ['aB3$xY9!qW2@eR7#tZ'] }), [
      'error:session-secret-short',
    ]);
  });

  test('short secret counts utf-8 bytes', () => {
    // 16 characters of two bytes each: 32 bytes, accepted by length.
    const secret = 'ßäöüéèàçñøåæœðþı';
    assert.deepEqual(ids({ ...safe, sessionSecrets: [secret] }), []);
  });

  test('repeated-character secret', () => {
    assert.deepEqual(ids({ ...safe, sessionSecrets: ['a'.repeat(64)] }), [
      'error:session-secret-low-variety',
    ]);
  });

  test('repeated-word secret', () => {
    assert.deepEqual(ids({ ...safe, sessionSecrets: ['password'.repeat(5)] }), [
      'error:session-secret-low-variety',
    ]);
  });

  test('older rotated secret audited too', () => {
    const findings = auditConfiguration({ ...safe, sessionSecrets: [GOOD_SECRET, 'short'] });
    assert.equal(findings.length, 2);
    assert.match(findings[0]?.message ?? '', /^session secret number 2 is 5 bytes long/);
  });

  test('secret never appears in findings', () => {
    const secret = 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz';
    for (const finding of auditConfiguration({ sessionSecrets: [secret] })) {
      assert.equal(finding.message.includes(secret), false);
      assert.equal(finding.fix.includes(secret), false);
    }
  });

  test('cors wildcard with credentials', () => {
    assert.deepEqual(ids({ ...safe, cors: { origins: ['*'], credentials: true } }), [
      'error:cors-wildcard-with-credentials',
    ]);
  });

  test('cors wildcard without credentials', () => {
    assert.deepEqual(ids({ ...safe, cors: { origins: ['*'], credentials: false } }), []);
  });

  test('cors reflection with credentials', () => {
    assert.deepEqual(ids({ ...safe, cors: { origins: [], credentials: true, reflectsAnyOrigin: true } }), [
      'error:cors-reflect-with-credentials',
    ]);
  });

  test('cors plain http origin with credentials', () => {
    const cors = { origins: ['http://front.example:8080', 'https://ok.example'], credentials: true };
    const findings = auditConfiguration({ ...safe, cors });
    assert.deepEqual(
      findings.map((finding) => `${finding.severity}:${finding.id}`),
      ['warning:cors-plain-http-origin'],
    );
    assert.match(findings[0]?.fix ?? '', /list https:\/\/front\.example:8080 instead$/);
  });

  test('cors plain http loopback origin', () => {
    const cors = {
      origins: ['http://127.0.0.1:5173', 'http://localhost:5173', 'http://[::1]:5173'],
      credentials: true,
    };
    assert.deepEqual(ids({ ...safe, cors }), []);
  });

  test('cors plain http without credentials', () => {
    assert.deepEqual(ids({ ...safe, cors: { origins: ['http://front.example'], credentials: false } }), []);
  });

  test('cors pattern noted', () => {
    assert.deepEqual(ids({ ...safe, cors: { origins: [], credentials: true, pattern: '^(?:x)$' } }), [
      'info:cors-origin-pattern',
    ]);
  });

  test('unsafe-inline in script-src', () => {
    const policy = { 'script-src': ["'self'", "'unsafe-inline'"] };
    assert.deepEqual(ids({ ...safe, contentSecurityPolicy: policy }), ['error:csp-unsafe-inline']);
  });

  test('unsafe-inline beside a nonce', () => {
    const policy = { 'script-src': ["'self'", "'nonce-abc'", "'unsafe-inline'"] };
    assert.deepEqual(ids({ ...safe, contentSecurityPolicy: policy }), ['warning:csp-unsafe-inline']);
  });

  test('unsafe-inline through default-src', () => {
    const policy = { 'default-src': ["'self'", "'UNSAFE-INLINE'"] };
    assert.deepEqual(ids({ ...safe, contentSecurityPolicy: policy }), ['error:csp-unsafe-inline']);
  });

  test('unsafe-inline in style-src only', () => {
    const policy = { 'script-src': ["'self'"], 'style-src': ["'unsafe-inline'"] };
    assert.deepEqual(ids({ ...safe, contentSecurityPolicy: policy }), []);
  });

  test('unsafe-eval in script-src', () => {
    const policy = { 'script-src': ["'self'", "'unsafe-eval'"] };
    assert.deepEqual(ids({ ...safe, contentSecurityPolicy: policy }), ['warning:csp-unsafe-eval']);
  });

  test('csp off', () => {
    assert.deepEqual(ids({ ...safe, contentSecurityPolicy: false }), ['warning:csp-off']);
  });

  test('csp without script-src or default-src', () => {
    assert.deepEqual(ids({ ...safe, contentSecurityPolicy: { 'img-src': ["'self'"] } }), [
      'warning:csp-no-script-src',
    ]);
  });

  test('hsts off while https forced', () => {
    assert.deepEqual(ids({ ...safe, https: { forceHttps: true, hsts: false } }), [
      'warning:hsts-off-with-https',
    ]);
  });

  test('redirect host taken from request Host', () => {
    assert.deepEqual(ids({ ...safe, https: { forceHttps: true, hsts: true, redirectHostPinned: false } }), [
      'error:https-redirect-host-from-request',
    ]);
  });

  test('redirect host pinned by configuration', () => {
    assert.deepEqual(ids({ ...safe, https: { forceHttps: true, hsts: true, redirectHostPinned: true } }), []);
  });

  test('hsts off without forced https', () => {
    assert.deepEqual(ids({ ...safe, https: { forceHttps: false, hsts: false } }), []);
  });

  test('memory store with several instances', () => {
    assert.deepEqual(ids({ ...safe, store: 'memory', instances: 3 }), [
      'error:memory-store-multiple-instances',
    ]);
  });

  test('memory store with one instance', () => {
    assert.deepEqual(ids({ ...safe, store: 'memory', instances: 1 }), []);
  });

  test('sqlite store with several instances', () => {
    assert.deepEqual(ids({ ...safe, store: 'sqlite', instances: 2 }), [
      'warning:sqlite-store-multiple-instances',
    ]);
  });

  test('redis store with several instances', () => {
    assert.deepEqual(ids({ ...safe, store: 'redis', instances: 4 }), []);
  });

  test('trust proxy true: the fix names proxy addresses, not a hop count', () => {
    assert.deepEqual(auditConfiguration({ ...safe, trustProxy: true }), [
      {
        id: 'trust-proxy-all',
        severity: 'error',
        message:
          'trustProxy is true, so every hop is trusted: any client can set X-Forwarded-For and X-Forwarded-Proto to pick its rate-limit key and fake HTTPS',
        fix: "set trustProxy to the addresses or CIDRs of the proxies in front, such as '10.0.0.5' or '10.0.0.0/24'",
      },
    ]);
  });

  test('trust proxy hop count is error', () => {
    assert.deepEqual(auditConfiguration({ ...safe, trustProxy: 1 }), [
      {
        id: 'trust-proxy-hop-count',
        severity: 'error',
        message:
          "trustProxy is the hop count 1, which Fastify 5 ignores, so the app trusts no proxy: client addresses and HTTPS detection fall back to the proxy's",
        fix: "set trustProxy to the addresses or CIDRs of the proxies in front, such as '10.0.0.5' or '10.0.0.0/24', or to false when there is no proxy",
      },
    ]);
    for (const hops of [0, 2, 3, 10]) {
      assert.deepEqual(ids({ ...safe, trustProxy: hops }), ['error:trust-proxy-hop-count'], String(hops));
    }
  });

  test('trust proxy address, cidr or false', () => {
    assert.deepEqual(ids({ ...safe, trustProxy: '10.0.0.5' }), []);
    assert.deepEqual(ids({ ...safe, trustProxy: '10.0.0.0/8' }), []);
    assert.deepEqual(ids({ ...safe, trustProxy: false }), []);
  });

  test('trust proxy ranges covering every address: 0.0.0.0/1,128.0.0.0/1 is an error', () => {
    const findings = auditConfiguration({ ...safe, trustProxy: ['0.0.0.0/1', '128.0.0.0/1'] });
    assert.deepEqual(
      findings.map((finding) => `${finding.severity}:${finding.id}`),
      ['error:trust-proxy-all-addresses'],
    );
    assert.match(
      findings[0]?.message ?? '',
      /0\.0\.0\.0\/1, 128\.0\.0\.0\/1, which together cover every IPv4 address/,
    );
    assert.match(findings[0]?.fix ?? '', /list only the addresses of your proxies/);
  });

  test('trust proxy covering every address in other spellings is an error', () => {
    for (const trustProxy of [
      '0.0.0.0/0',
      '0.0.0.0/1, 128.0.0.0/1',
      ['::/1', '8000::/1'],
      ['::/0'],
      '::ffff:0.0.0.0/96',
      '::ffff:0:0/97,::FFFF:128.0.0.0/97',
      '::/80',
      ['0.0.0.0/2', '64.0.0.0/2', '128.0.0.0/2', '192.0.0.0/3', '224.0.0.0/3'],
    ]) {
      assert.deepEqual(ids({ ...safe, trustProxy }), ['error:trust-proxy-all-addresses'], String(trustProxy));
    }
  });

  test('trust proxy with a broad range is a warning', () => {
    assert.deepEqual(ids({ ...safe, trustProxy: '10.0.0.1,0.0.0.0/4' }), ['warning:trust-proxy-broad-range']);
    assert.deepEqual(ids({ ...safe, trustProxy: ['fc00::/7'] }), ['warning:trust-proxy-broad-range']);
    assert.deepEqual(ids({ ...safe, trustProxy: '::ffff:10.0.0.0/100' }), [
      'warning:trust-proxy-broad-range',
    ]);
  });

  test('public trust proxy range warns', () => {
    assert.deepEqual(ids({ ...safe, trustProxy: ['173.245.48.0/20'] }), ['warning:trust-proxy-public-range']);
    assert.deepEqual(ids({ ...safe, trustProxy: '2400:cb00::/32' }), ['warning:trust-proxy-public-range']);
    assert.deepEqual(ids({ ...safe, trustProxy: '10.0.0.0/7' }), ['warning:trust-proxy-broad-range']);
    assert.deepEqual(ids({ ...safe, trustProxy: '11.0.0.0/8' }), ['warning:trust-proxy-public-range']);
    assert.deepEqual(ids({ ...safe, trustProxy: ['203.0.113.7', '2001:db8::7/128'] }), []);
  });

  test('trust proxy private and loopback ranges pass', () => {
    assert.deepEqual(
      ids({
        ...safe,
        trustProxy: [
          '10.0.0.0/8',
          '172.16.0.0/12',
          '192.168.1.0/24',
          '127.0.0.1',
          '100.64.0.0/10',
          '::1',
          'fd00::/48',
          'fe80::/64',
          '::ffff:10.1.0.0/112',
          'loopback',
        ],
      }),
      [],
    );
    assert.deepEqual(ids({ ...safe, trustProxy: 'function' }), []);
  });

  test('every csrf opt-out route listed', () => {
    const findings = auditConfiguration({
      ...safe,
      csrfDisabledRoutes: ['POST /hooks/mail', 'PUT /hooks/pay'],
    });
    assert.deepEqual(
      findings.map((finding) => finding.id),
      ['csrf-disabled-route', 'csrf-disabled-route'],
    );
    assert.match(findings[0]?.message ?? '', /^POST \/hooks\/mail skips the CSRF check/);
    assert.match(findings[1]?.message ?? '', /^PUT \/hooks\/pay skips the CSRF check/);
  });

  test('errors sorted first', () => {
    const severities = auditConfiguration({
      ...safe,
      csrfDisabledRoutes: ['POST /x'],
      trustProxy: true,
      cors: { origins: [], credentials: true, pattern: 'x' },
    }).map((finding) => finding.severity);
    assert.deepEqual(severities, ['error', 'warning', 'info']);
  });

  test('every finding has message and fix', () => {
    const findings = auditConfiguration({
      sessionSecrets: ['a'],
      cors: {
        origins: ['*', 'http://front.example'],
        credentials: true,
        reflectsAnyOrigin: true,
        pattern: 'x',
      },
      contentSecurityPolicy: { 'script-src': ["'unsafe-inline'", "'unsafe-eval'"] },
      https: { forceHttps: true, hsts: false },
      store: 'memory',
      instances: 2,
      trustProxy: true,
      csrfDisabledRoutes: ['POST /x'],
    });
    assert.equal(findings.length, 12);
    for (const finding of findings) {
      assert.ok(finding.message.length > 20, finding.id);
      assert.ok(finding.fix.length > 10, finding.id);
    }
  });
});
