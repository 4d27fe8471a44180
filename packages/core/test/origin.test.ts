import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  canonicalRequestOrigin,
  createOriginAllowlist,
  HardenConfigError,
  isTrustedOrigin,
  normalizeConfiguredOrigin,
  originFromHost,
} from '@harden/core';

describe('normalizeConfiguredOrigin', () => {
  const normalized: Array<[string, string, string]> = [
    ['plain origin unchanged', 'https://trusted.example', 'https://trusted.example'],
    ['upper case lowered', 'HTTPS://Trusted.EXAMPLE', 'https://trusted.example'],
    ['unicode host to punycode', 'https://bücher.example', 'https://xn--bcher-kva.example'],
    ['default https port dropped', 'https://trusted.example:443', 'https://trusted.example'],
    ['default http port dropped', 'http://trusted.example:80', 'http://trusted.example'],
    ['other port kept', 'http://127.0.0.1:5173', 'http://127.0.0.1:5173'],
    ['ipv6 literal kept', 'http://[::1]:3000', 'http://[::1]:3000'],
  ];
  for (const [name, input, expected] of normalized) {
    test(name, () => {
      assert.equal(normalizeConfiguredOrigin(input, 'cors.origins[0]'), expected);
    });
  }

  const rejected: Array<[string, unknown, string]> = [
    ['wildcard', '*', 'a wildcard trusts every site on the web'],
    ['wildcard subdomain', 'https://*.trusted.example', 'a * in an origin is not a wildcard'],
    [
      'wildcard in the middle of a host',
      'https://app*.trusted.example',
      'a * in an origin is not a wildcard',
    ],
    ['wildcard port', 'https://trusted.example:*', 'a * in an origin is not a wildcard'],
    ['percent-encoded host with a wildcard', 'http://*%2e.example', 'a * in an origin is not a wildcard'],
    ['null origin', 'null', "the 'null' origin is shared by sandboxed iframes"],
    ['trailing slash', 'https://trusted.example/', 'an origin is only scheme, host and port'],
    ['path', 'https://trusted.example/app', 'an origin is only scheme, host and port'],
    ['query', 'https://trusted.example?x=1', 'an origin is only scheme, host and port'],
    ['fragment', 'https://trusted.example#top', 'an origin is only scheme, host and port'],
    ['userinfo', 'https://trusted.example@evil.test', 'the origin contains userinfo'],
    ['non-web scheme', 'ftp://trusted.example', 'the scheme ftp: is not http: or https:'],
    ['javascript scheme', 'javascript://trusted.example', 'the scheme javascript: is not http: or https:'],
    ['no scheme', 'trusted.example', 'an origin is only scheme, host and port'],
    ['whitespace', ' https://trusted.example', 'the origin contains whitespace'],
    ['trailing dot', 'https://trusted.example.', 'the host ends in a dot'],
    ['empty host', 'https://', 'the origin is not a valid URL'],
    ['not a string', true, 'an origin must be a string'],
  ];
  for (const [name, input, problem] of rejected) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => normalizeConfiguredOrigin(input, 'cors.origins[0]'),
        (error: unknown) =>
          error instanceof HardenConfigError &&
          error.option === 'cors.origins[0]' &&
          error.message.includes(problem),
      );
    });
  }

  test('trailing slash error pins message and fix', () => {
    assert.throws(() => normalizeConfiguredOrigin('https://trusted.example/', 'cors.origins[0]'), {
      message:
        'Invalid option cors.origins[0] = "https://trusted.example/": an origin is only scheme, host and port, with no path, query, fragment or trailing slash. Fix: write it as \'https://trusted.example\'',
    });
  });

  test('trailing dot fix keeps the port', () => {
    assert.throws(() => normalizeConfiguredOrigin('https://trusted.example.:8443', 'o'), {
      message: /Fix: remove the trailing dot: 'https:\/\/trusted\.example:8443'$/,
    });
  });
});

describe('canonicalRequestOrigin', () => {
  test('accepts the browser serialization', () => {
    assert.equal(canonicalRequestOrigin('https://trusted.example'), 'https://trusted.example');
    assert.equal(canonicalRequestOrigin('http://127.0.0.1:3000'), 'http://127.0.0.1:3000');
    assert.equal(canonicalRequestOrigin('http://[::1]:3000'), 'http://[::1]:3000');
  });

  // Browsers never send these spellings, so none of them can stand for a trusted origin.
  const notCanonical: Array<[string, string | undefined]> = [
    ['absent header', undefined],
    ['null', 'null'],
    ['upper case host', 'https://TRUSTED.example'],
    ['upper case scheme', 'HTTPS://trusted.example'],
    ['explicit default port', 'https://trusted.example:443'],
    ['trailing slash', 'https://trusted.example/'],
    ['path', 'https://trusted.example/path'],
    ['userinfo', 'https://trusted.example@evil.test'],
    ['percent-encoded host', 'https://%74rusted.example'],
    ['raw unicode host', 'https://bücher.example'],
    ['ideographic full stop', 'https://trusted。example'],
    ['two origins joined', 'https://trusted.example, https://trusted.example'],
    ['inner whitespace', 'https://trusted .example'],
    ['file scheme', 'file://trusted.example'],
    ['empty string', ''],
  ];
  for (const [name, header] of notCanonical) {
    test(`rejects ${name}`, () => {
      assert.equal(canonicalRequestOrigin(header), undefined);
    });
  }
});

describe('originFromHost', () => {
  test('builds origin from protocol and host', () => {
    assert.equal(originFromHost('http', '127.0.0.1:3000'), 'http://127.0.0.1:3000');
    assert.equal(originFromHost('https', 'Notes.Example:443'), 'https://notes.example');
  });

  test('rejects hosts that are not host and port', () => {
    assert.equal(originFromHost('http', undefined), undefined);
    assert.equal(originFromHost('http', ''), undefined);
    assert.equal(originFromHost('http', 'evil.test/path'), undefined);
    assert.equal(originFromHost('http', 'user@evil.test'), undefined);
    assert.equal(originFromHost('ftp', 'notes.example'), undefined);
  });
});

describe('isTrustedOrigin', () => {
  const allowlist = createOriginAllowlist(
    ['https://trusted.example', 'https://Bücher.example'],
    'cors.origins',
  );

  test('trusts listed origins in canonical form', () => {
    assert.equal(isTrustedOrigin('https://trusted.example', allowlist), true);
    assert.equal(isTrustedOrigin('https://xn--bcher-kva.example', allowlist), true);
  });

  const attacks: Array<[string, string]> = [
    ['suffix attack', 'https://trusted.example.evil.test'],
    ['prefix attack', 'https://eviltrusted.example'],
    ['other scheme', 'http://trusted.example'],
    ['other port', 'https://trusted.example:8443'],
    ['null', 'null'],
    ['trailing slash', 'https://trusted.example/'],
    ['path', 'https://trusted.example/app'],
    ['upper case spelling', 'https://TRUSTED.EXAMPLE'],
    ['userinfo', 'https://trusted.example@evil.test'],
    ['cyrillic look-alike', 'https://truѕted.example'],
    ['punycode look-alike', 'https://xn--truted-2of.example'],
    ['trailing dot', 'https://trusted.example.'],
    ['unicode spelling of listed idn', 'https://bücher.example'],
  ];
  for (const [name, origin] of attacks) {
    test(`rejects ${name}`, () => {
      assert.equal(isTrustedOrigin(origin, allowlist), false);
    });
  }

  test('names the index of a bad entry', () => {
    assert.throws(() => createOriginAllowlist(['https://ok.example', 'null'], 'cors.origins'), {
      name: 'HardenConfigError',
      message: /^Invalid option cors\.origins\[1\] = "null"/,
    });
  });
});

describe('origin pattern', () => {
  const allowlist = createOriginAllowlist(
    [],
    'cors.origins',
    /https:\/\/[a-z0-9-]+\.trusted\.example/,
    'cors.pattern',
  );

  test('matches a whole subdomain origin', () => {
    assert.equal(isTrustedOrigin('https://app.trusted.example', allowlist), true);
  });

  const attacks: Array<[string, string]> = [
    ['suffix attack', 'https://app.trusted.example.evil.test'],
    ['prefix attack', 'https://evil.test?https://app.trusted.example'],
    ['port added', 'https://app.trusted.example:8443'],
    ['scheme prefix', 'http://x.https://app.trusted.example'],
    ['upper case spelling', 'https://APP.trusted.example'],
  ];
  for (const [name, origin] of attacks) {
    test(`rejects ${name}`, () => {
      assert.equal(isTrustedOrigin(origin, allowlist), false);
    });
  }

  test('alternation stays anchored', () => {
    const alternation = createOriginAllowlist([], 'o', /https:\/\/a\.example|https:\/\/b\.example/, 'p');
    assert.equal(isTrustedOrigin('https://b.example', alternation), true);
    assert.equal(isTrustedOrigin('https://a.example.evil.test', alternation), false);
    assert.equal(isTrustedOrigin('https://evil.test.b.example', alternation), false);
  });

  test('rejects global and sticky flags', () => {
    assert.throws(() => createOriginAllowlist([], 'o', /https:\/\/a\.example/g, 'cors.pattern'), {
      message: /^Invalid option cors\.pattern = \/https:\\\/\\\/a\\\.example\/g: the g and y flags/,
    });
    assert.throws(() => createOriginAllowlist([], 'o', /x/y, 'cors.pattern'), HardenConfigError);
  });
});
