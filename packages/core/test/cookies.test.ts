import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CookieAttributes,
  cookieAttributeProblem,
  hasSecureCookiePrefix,
  isLoopbackAddress,
  isLoopbackHostname,
  signingSecretProblem,
} from '@harden/core';

const SAFE: CookieAttributes = { secure: true, path: '/', domain: undefined, sameSite: 'lax' };

describe('cookie attribute rules', () => {
  const rejected: ReadonlyArray<readonly [string, string, Partial<CookieAttributes>, string]> = [
    ['__Host- cookie without Secure', '__Host-sid', { secure: false }, 'a __Host- cookie must be Secure'],
    ['__Host- cookie with a sub-path', '__Host-sid', { path: '/app' }, 'a __Host- cookie must have Path=/'],
    [
      '__Host- cookie with a Domain',
      '__Host-sid',
      { domain: 'example.com' },
      'a __Host- cookie must not have a Domain attribute',
    ],
    ['lower-case __host- prefix', '__host-sid', { secure: false }, 'a __Host- cookie must be Secure'],
    [
      'upper-case __HOST- prefix',
      '__HOST-SID',
      { domain: 'example.com' },
      'a __Host- cookie must not have a Domain attribute',
    ],
    [
      '__Secure- cookie without Secure',
      '__Secure-sid',
      { secure: false },
      'a __Secure- cookie must be Secure',
    ],
    ['mixed-case __SeCuRe- prefix', '__SeCuRe-sid', { secure: false }, 'a __Secure- cookie must be Secure'],
    [
      'SameSite=None without Secure',
      'sid',
      { sameSite: 'none', secure: false },
      'a SameSite=None cookie must be Secure',
    ],
    ['path without leading slash', 'sid', { path: 'app' }, 'the Path attribute must start with "/"'],
  ];
  for (const [description, name, attributes, problem] of rejected) {
    test(`${description} is rejected`, () => {
      assert.equal(cookieAttributeProblem(name, { ...SAFE, ...attributes }), problem);
    });
  }

  const badNames = ['', 'a b', 'a=b', 'a;b', 'a,b', 'sid\u0000', 'sid\t', 'séance', '"sid"', 'a\\b'];
  for (const name of badNames) {
    test(`cookie name ${JSON.stringify(name)} is rejected`, () => {
      assert.match(cookieAttributeProblem(name, SAFE) ?? '', /^a cookie name must be a non-empty token/);
    });
  }

  const accepted: ReadonlyArray<readonly [string, string, Partial<CookieAttributes>]> = [
    ['secure __Host- cookie', '__Host-sid', {}],
    ['__Secure- cookie with Domain and sub-path', '__Secure-sid', { domain: 'example.com', path: '/app' }],
    ['SameSite=None with Secure', '__Host-sid', { sameSite: 'none' }],
    ['plain cookie without Secure', 'sid', { secure: false }],
    ['strict plain cookie', 'sid', { sameSite: 'strict', secure: false }],
    ['name that only contains Host', 'my__Host-sid', { secure: false }],
  ];
  for (const [description, name, attributes] of accepted) {
    test(`${description} is accepted`, () => {
      assert.equal(cookieAttributeProblem(name, { ...SAFE, ...attributes }), undefined);
    });
  }

  test('secure prefixes are detected in any case', () => {
    assert.equal(hasSecureCookiePrefix('__Host-sid'), true);
    assert.equal(hasSecureCookiePrefix('__secure-sid'), true);
    assert.equal(hasSecureCookiePrefix('sid'), false);
    assert.equal(hasSecureCookiePrefix('_Host-sid'), false);
  });
});

describe('signing secret strength', () => {
  test('short secret is rejected with its length', () => {
    assert.equal(
      signingSecretProblem('0123456789abcdef'),
      'it is 16 bytes long, shorter than the minimum of 32 bytes',
    );
    assert.equal(signingSecretProblem(''), 'it is 0 bytes long, shorter than the minimum of 32 bytes');
    assert.equal(signingSecretProblem('é'), 'it is 2 bytes long, shorter than the minimum of 32 bytes');
  });

  test('repetitive secret is rejected', () => {
    assert.equal(
      signingSecretProblem('password'.repeat(4)),
      'it has only 7 distinct characters, fewer than the minimum of 10, so it looks like a placeholder rather than random bytes',
    );
    assert.equal(
      signingSecretProblem('0'.repeat(32)),
      'it has only 1 distinct character, fewer than the minimum of 10, so it looks like a placeholder rather than random bytes',
    );
  });

  test('random secret is accepted', () => {
    assert.equal(signingSecretProblem('q3Vx9LmP2sTz8KwY5bNc1RfH7gJd4AeU'), undefined);
  });

  test('problem never contains the secret', () => {
    for (const secret of ['hunter2', 'abcabcabcabcabcabcabcabcabcabcabc']) {
      assert.ok(!(signingSecretProblem(secret) ?? '').includes(secret));
    }
  });
});

describe('loopback detection', () => {
  const loopbackNames = [
    'localhost',
    'LOCALHOST',
    'localhost.',
    'app.localhost',
    '127.0.0.1',
    '127.255.0.9',
    '[::1]',
    '::1',
  ];
  for (const hostname of loopbackNames) {
    test(`${hostname} is a loopback host`, () => assert.equal(isLoopbackHostname(hostname), true));
  }

  const remoteNames = [
    'example.com',
    'localhost.example.com',
    'mylocalhost',
    '127.0.0.1.nip.io',
    '128.0.0.1',
    '10.0.0.1',
    '0.0.0.0',
    '127.0.0.256',
    '127.1',
    '[::2]',
    '[::ffff:127.0.0.1]',
    '',
  ];
  for (const hostname of remoteNames) {
    test(`${JSON.stringify(hostname)} is not a loopback host`, () =>
      assert.equal(isLoopbackHostname(hostname), false));
  }

  test('loopback socket addresses are recognised', () => {
    assert.equal(isLoopbackAddress('127.0.0.1'), true);
    assert.equal(isLoopbackAddress('::1'), true);
    assert.equal(isLoopbackAddress('::ffff:127.0.0.1'), true);
    assert.equal(isLoopbackAddress('::FFFF:127.0.0.2'), true);
    assert.equal(isLoopbackAddress('192.168.0.10'), false);
    assert.equal(isLoopbackAddress('::ffff:10.0.0.1'), false);
    assert.equal(isLoopbackAddress('fe80::1'), false);
    assert.equal(isLoopbackAddress(undefined), false);
  });
});
