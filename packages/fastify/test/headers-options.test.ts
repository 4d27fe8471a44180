import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HardenConfigError } from '@harden/core';
import { request } from 'undici';
import { type HeadersOptions, resolveHeadersOptions } from '../src/headers.js';
import { startServer } from './headers-helpers.js';

function errorOf(options: unknown): string {
  try {
    resolveHeadersOptions(options as HeadersOptions);
  } catch (error) {
    assert.ok(error instanceof HardenConfigError, String(error));
    return error.message;
  }
  assert.fail('expected a HardenConfigError');
}

/** Fetches / from a server built with `options` and returns the response headers. */
async function headersWith(options: HeadersOptions): Promise<Record<string, string | string[] | undefined>> {
  const { app, url } = await startServer({
    headers: options,
    routes: (server) =>
      server.get('/', async (_request, reply) => reply.type('text/html').send(`<p>${reply.cspNonce}</p>`)),
  });
  try {
    const response = await request(url);
    await response.body.text();
    return response.headers;
  } finally {
    await app.close();
  }
}

describe('headers option validation', () => {
  const cases: [string, unknown, string][] = [
    [
      'misspelled CSP directive',
      { csp: { directives: { 'scrpt-src': ["'self'"] } } },
      `Invalid option headers.csp.directives.scrpt-src = "scrpt-src": it is not a known CSP directive. Fix: did you mean 'script-src'?`,
    ],
    [
      'unknown CSP directive to add to',
      { csp: { addSources: { 'image-src': ['https://images.example'] } } },
      `Invalid option headers.csp.addSources.image-src = "image-src": it is not a known CSP directive. Fix: did you mean 'img-src'?`,
    ],
    [
      'unsafe-inline script source',
      { csp: { directives: { 'script-src': ["'self'", "'unsafe-inline'"] } } },
      `Invalid option headers.csp.directives.script-src = "'unsafe-inline'": 'unsafe-inline' lets every injected inline script run. Fix: mark your scripts with the per-response nonce (reply.cspNonce), or set dangerouslyAllowUnsafeInlineScripts: true`,
    ],
    [
      'unsafe-eval added to script-src',
      { csp: { addSources: { 'script-src': ["'unsafe-eval'"] } } },
      `Invalid option headers.csp.addSources.script-src = "'unsafe-eval'": 'unsafe-eval' lets strings run as code through eval() and new Function(). Fix: remove the eval from your scripts, or set dangerouslyAllowUnsafeEval: true`,
    ],
    [
      'unquoted self',
      { csp: { addSources: { 'img-src': ['self'] } } },
      `Invalid option headers.csp.addSources.img-src = "self": a CSP keyword must be in single quotes, otherwise browsers read it as a host name. Fix: write "'self'"`,
    ],
    [
      'fixed nonce in configuration',
      { csp: { addSources: { 'script-src': ["'nonce-abcdefghijklmnopqrstuv'"] } } },
      `Invalid option headers.csp.addSources.script-src = "'nonce-abcdefghijklmnopqrstuv'": a nonce written in the configuration is the same on every response, so an attacker can copy it. Fix: remove it: the plugin adds a fresh nonce to script-src and style-src on every response`,
    ],
    [
      'directive injection through a source',
      { csp: { addSources: { 'img-src': ["'self'; script-src *"] } } },
      `Invalid option headers.csp.addSources.img-src = "'self'; script-src *": a source must be one non-empty ASCII token without spaces, commas or semicolons. Fix: list each source as its own array item`,
    ],
    [
      'policy without default-src',
      { csp: { replaceDefaults: true, directives: { 'script-src': ["'self'"] } } },
      `Invalid option headers.csp.directives = ["script-src"]: the policy has no default-src, so every resource type without its own directive is unrestricted. Fix: add 'default-src': ["'self'"] (or ["'none'"])`,
    ],
    [
      'referrer policy leaking full URLs',
      { referrerPolicy: 'unsafe-url' },
      'Invalid option headers.referrerPolicy = "unsafe-url": it sends the full URL, path and query included, to other sites. Fix: use one of no-referrer, same-origin, origin, strict-origin, origin-when-cross-origin, strict-origin-when-cross-origin',
    ],
    [
      'frame options ALLOW-FROM',
      { frameOptions: 'ALLOW-FROM https://a.example' },
      'Invalid option headers.frameOptions = "ALLOW-FROM https://a.example": it is not one of DENY, SAMEORIGIN. Fix: use one of DENY, SAMEORIGIN',
    ],
    [
      'opener policy unsafe-none',
      { crossOriginOpenerPolicy: 'unsafe-none' },
      'Invalid option headers.crossOriginOpenerPolicy = "unsafe-none": it is not one of same-origin, same-origin-allow-popups, noopener-allow-popups. Fix: use one of same-origin, same-origin-allow-popups, noopener-allow-popups',
    ],
    [
      'unknown header to disable',
      { dangerouslyDisable: ['x-frame-option'] },
      'Invalid option headers.dangerouslyDisable[0] = "x-frame-option": it is not a header this plugin sets. Fix: use a lower-case name among content-security-policy, cross-origin-embedder-policy, cross-origin-opener-policy, cross-origin-resource-policy, origin-agent-cluster, permissions-policy, referrer-policy, x-content-type-options, x-dns-prefetch-control, x-download-options, x-frame-options, x-permitted-cross-domain-policies, x-xss-protection',
    ],
    [
      'header turned off by its name',
      { 'x-frame-options': false },
      "Invalid option headers.x-frame-options = false: it is not a headers option. Fix: to turn the header off, write dangerouslyDisable: ['x-frame-options']",
    ],
    [
      'unknown option',
      { hsts: true },
      'Invalid option headers.hsts = true: it is not a headers option. Fix: use one of csp, permissions, referrerPolicy, frameOptions, crossOriginOpenerPolicy, crossOriginResourcePolicy, crossOriginEmbedderPolicy, dangerouslyDisable',
    ],
    [
      'unknown csp option',
      { csp: { reportOnly: true } },
      'Invalid option headers.csp.reportOnly = true: it is not a csp option. Fix: use one of directives, addSources, replaceDefaults, dangerouslyReportOnly, dangerouslyAllowUnsafeInlineScripts, dangerouslyAllowUnsafeEval',
    ],
    [
      'unknown permissions feature',
      { permissions: { allow: { camra: 'self' } } },
      'Invalid option headers.permissions.allow.camra = "camra": it is not a Permissions-Policy feature this plugin knows. Fix: use one of accelerometer, autoplay, camera, display-capture, encrypted-media, fullscreen, gamepad, geolocation, gyroscope, hid, idle-detection, local-fonts, magnetometer, microphone, midi, payment, picture-in-picture, publickey-credentials-create, publickey-credentials-get, screen-wake-lock, serial, storage-access, usb, web-share, window-management, xr-spatial-tracking',
    ],
    [
      'permissions feature outside allow',
      { permissions: { camera: 'self' } },
      `Invalid option headers.permissions = {"camera":"self"}: it is not an object with only an allow table. Fix: write { allow: { camera: 'self' } }`,
    ],
    [
      'non-boolean csp flag',
      { csp: { replaceDefaults: 'yes' } },
      'Invalid option headers.csp.replaceDefaults = "yes": it is not a boolean. Fix: write true or false',
    ],
  ];
  for (const [name, options, message] of cases) {
    test(`rejects ${name}`, () => {
      assert.equal(errorOf(options), message);
    });
  }

  test('dangerous option allows unsafe script sources', () => {
    const resolved = resolveHeadersOptions({
      csp: {
        addSources: { 'script-src': ["'unsafe-inline'", "'unsafe-eval'"] },
        dangerouslyAllowUnsafeInlineScripts: true,
        dangerouslyAllowUnsafeEval: true,
      },
    });
    assert.deepEqual(resolved.directives['script-src'], ["'self'", "'unsafe-inline'", "'unsafe-eval'"]);
  });
});

describe('headers options on the wire', () => {
  test('permissions allow-list reaches the header', async () => {
    const headers = await headersWith({ permissions: { allow: { camera: 'self', fullscreen: '*' } } });
    const value = String(headers['permissions-policy']);
    assert.ok(!value.includes('camera=()'));
    assert.ok(value.endsWith(', camera=(self), fullscreen=*'));
    assert.ok(value.includes('microphone=()'));
  });

  test('SAMEORIGIN framing changes both headers', async () => {
    const headers = await headersWith({ frameOptions: 'SAMEORIGIN' });
    assert.equal(headers['x-frame-options'], 'SAMEORIGIN');
    assert.match(String(headers['content-security-policy']), /;frame-ancestors 'self';/);
  });

  test('chosen values replace defaults', async () => {
    const headers = await headersWith({
      referrerPolicy: 'no-referrer',
      crossOriginOpenerPolicy: 'same-origin-allow-popups',
      crossOriginResourcePolicy: 'same-site',
      crossOriginEmbedderPolicy: 'require-corp',
    });
    assert.equal(headers['referrer-policy'], 'no-referrer');
    assert.equal(headers['cross-origin-opener-policy'], 'same-origin-allow-popups');
    assert.equal(headers['cross-origin-resource-policy'], 'same-site');
    assert.equal(headers['cross-origin-embedder-policy'], 'require-corp');
  });

  test('img-src source added, default kept', async () => {
    const headers = await headersWith({ csp: { addSources: { 'img-src': ['https://images.example'] } } });
    assert.match(
      String(headers['content-security-policy']),
      /;img-src 'self' data: https:\/\/images\.example;/,
    );
  });

  test('valueless directive added with true', async () => {
    const headers = await headersWith({ csp: { directives: { 'upgrade-insecure-requests': true } } });
    assert.match(
      String(headers['content-security-policy']),
      /;form-action 'self';upgrade-insecure-requests$/,
    );
  });

  test('directive removed with false', async () => {
    const headers = await headersWith({ csp: { directives: { 'form-action': false } } });
    assert.ok(!String(headers['content-security-policy']).includes('form-action'));
  });

  test('report-only policy uses the report-only header', async () => {
    const headers = await headersWith({ csp: { dangerouslyReportOnly: true } });
    assert.equal(headers['content-security-policy'], undefined);
    assert.match(
      String(headers['content-security-policy-report-only']),
      /^default-src 'self';script-src 'self' 'nonce-/,
    );
  });

  test('dangerouslyDisable turns headers off', async () => {
    const headers = await headersWith({
      dangerouslyDisable: ['content-security-policy', 'x-frame-options', 'permissions-policy'],
    });
    assert.equal(headers['content-security-policy'], undefined);
    assert.equal(headers['x-frame-options'], undefined);
    assert.equal(headers['permissions-policy'], undefined);
    assert.equal(headers['x-content-type-options'], 'nosniff');
  });
});
