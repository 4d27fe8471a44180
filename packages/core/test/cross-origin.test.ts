import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CrossOriginInput,
  checkCrossOrigin,
  createOriginAllowlist,
  EMPTY_ORIGIN_ALLOWLIST,
} from '@harden/core';

const base: CrossOriginInput = {
  method: 'POST',
  secFetchSite: undefined,
  origin: undefined,
  host: 'notes.example',
  protocol: 'https',
  publicOrigin: undefined,
  trustedOrigins: createOriginAllowlist(['https://front.example'], 'cors.origins'),
};

function decide(overrides: Partial<CrossOriginInput>) {
  return checkCrossOrigin({ ...base, ...overrides });
}

describe('checkCrossOrigin with Sec-Fetch-Site', () => {
  test('same-origin passes', () => {
    assert.deepEqual(decide({ secFetchSite: 'same-origin', origin: 'https://notes.example' }), {
      allow: true,
    });
  });

  test('none passes', () => {
    assert.deepEqual(decide({ secFetchSite: 'none' }), { allow: true });
  });

  test('cross-site form post rejected', () => {
    assert.deepEqual(decide({ secFetchSite: 'cross-site', origin: 'https://evil.test' }), {
      allow: false,
      reason: 'cross-site',
    });
  });

  test('same-site sibling subdomain rejected', () => {
    assert.deepEqual(decide({ secFetchSite: 'same-site', origin: 'https://evil.notes.example' }), {
      allow: false,
      reason: 'cross-site',
    });
  });

  test('unknown value rejected', () => {
    for (const value of ['', 'SAME-ORIGIN', 'same-origin, same-origin', 'same_origin', 'cross-site ']) {
      assert.deepEqual(decide({ secFetchSite: value }), { allow: false, reason: 'cross-site' }, value);
    }
  });

  test('cross-site from trusted origin passes', () => {
    assert.deepEqual(decide({ secFetchSite: 'cross-site', origin: 'https://front.example' }), {
      allow: true,
    });
  });

  test('cross-site with trusted origin spelled otherwise rejected', () => {
    assert.equal(decide({ secFetchSite: 'cross-site', origin: 'https://FRONT.example' }).allow, false);
  });

  test('same-site with null origin rejected', () => {
    assert.equal(decide({ secFetchSite: 'same-site', origin: 'null' }).allow, false);
  });
});

describe('checkCrossOrigin without Sec-Fetch-Site', () => {
  test('own origin from host passes', () => {
    assert.deepEqual(decide({ origin: 'https://notes.example' }), { allow: true });
  });

  test('own origin with port from host passes', () => {
    assert.deepEqual(decide({ origin: 'http://127.0.0.1:3000', host: '127.0.0.1:3000', protocol: 'http' }), {
      allow: true,
    });
  });

  test('foreign origin rejected', () => {
    assert.deepEqual(decide({ origin: 'https://evil.test' }), { allow: false, reason: 'origin-mismatch' });
  });

  test('other scheme rejected', () => {
    assert.deepEqual(decide({ origin: 'http://notes.example' }), { allow: false, reason: 'origin-mismatch' });
  });

  test('other port rejected', () => {
    assert.deepEqual(decide({ origin: 'https://notes.example:8443' }), {
      allow: false,
      reason: 'origin-mismatch',
    });
  });

  test('sibling subdomain rejected', () => {
    assert.deepEqual(decide({ origin: 'https://evil.notes.example' }), {
      allow: false,
      reason: 'origin-mismatch',
    });
  });

  test('null origin rejected', () => {
    assert.deepEqual(decide({ origin: 'null' }), { allow: false, reason: 'origin-null' });
  });

  test('no origin passes to token layer', () => {
    assert.deepEqual(decide({}), { allow: true });
  });

  test('trusted origin passes', () => {
    assert.deepEqual(decide({ origin: 'https://front.example' }), { allow: true });
  });

  test('public origin replaces host', () => {
    const configured = { publicOrigin: 'https://notes.example' };
    assert.deepEqual(decide({ ...configured, host: 'internal:8080', origin: 'https://notes.example' }), {
      allow: true,
    });
    assert.deepEqual(decide({ ...configured, host: 'evil.test', origin: 'https://evil.test' }), {
      allow: false,
      reason: 'origin-mismatch',
    });
  });

  test('non-canonical own origin rejected', () => {
    for (const origin of ['https://NOTES.example', 'https://notes.example:443', 'https://notes.example/']) {
      assert.equal(decide({ origin }).allow, false, origin);
    }
  });

  test('missing host rejects any origin', () => {
    assert.deepEqual(decide({ host: undefined, origin: 'https://notes.example' }), {
      allow: false,
      reason: 'origin-mismatch',
    });
  });

  test('empty allowlist trusts nobody', () => {
    assert.equal(
      decide({ trustedOrigins: EMPTY_ORIGIN_ALLOWLIST, origin: 'https://front.example' }).allow,
      false,
    );
  });
});

describe('checkCrossOrigin methods', () => {
  test('safe methods pass from anywhere', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      assert.deepEqual(decide({ method, secFetchSite: 'cross-site', origin: 'https://evil.test' }), {
        allow: true,
      });
    }
  });

  test('every other method is checked', () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'PURGE', 'get', 'Options', 'TRACE']) {
      assert.equal(
        decide({ method, secFetchSite: 'cross-site', origin: 'https://evil.test' }).allow,
        false,
        method,
      );
    }
  });
});
