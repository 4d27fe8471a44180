import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildCsp, evaluateCsp, HardenConfigError, parseCsp, validateCspDirectives } from '@harden/core';

const STRICT =
  "default-src 'self'; script-src 'self' 'nonce-q1w2E3r4T5y6U7i8O9p0Aa=='; style-src 'self' 'nonce-q1w2E3r4T5y6U7i8O9p0Aa=='; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

function ids(header: string): string[] {
  return evaluateCsp(header).map((finding) => finding.id);
}

describe('parseCsp', () => {
  test('lower-cases directive names and keeps sources', () => {
    const policy = parseCsp("Default-SRC 'self'  https://a.test ;IMG-src data:");
    assert.deepEqual(
      [...policy.entries()],
      [
        ['default-src', ["'self'", 'https://a.test']],
        ['img-src', ['data:']],
      ],
    );
  });

  test('first occurrence of a repeated directive wins', () => {
    const policy = parseCsp("script-src 'self'; script-src *; SCRIPT-SRC 'unsafe-inline'");
    assert.deepEqual(policy.get('script-src'), ["'self'"]);
  });

  test('empty parts and valueless directives', () => {
    const policy = parseCsp(";; upgrade-insecure-requests;\t;object-src 'none';");
    assert.deepEqual(
      [...policy.entries()],
      [
        ['upgrade-insecure-requests', []],
        ['object-src', ["'none'"]],
      ],
    );
  });
});

describe('evaluateCsp', () => {
  test('strict nonce policy has no finding', () => {
    assert.deepEqual(evaluateCsp(STRICT), []);
  });

  test('no script restriction at all', () => {
    const found = ids("img-src 'self'");
    assert.ok(found.includes('csp.no_script_restriction'));
    assert.ok(found.includes('csp.object_src_missing'));
    assert.ok(found.includes('csp.base_uri_missing'));
    assert.ok(found.includes('csp.frame_ancestors_missing'));
  });

  test('empty header restricts nothing', () => {
    assert.ok(ids('').includes('csp.no_script_restriction'));
  });

  const base = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
  const scriptCases: [string, string, string][] = [
    ["script-src 'self' 'unsafe-inline'", 'csp.script_unsafe_inline', 'high'],
    ["default-src 'self' 'unsafe-inline'", 'csp.script_unsafe_inline', 'high'],
    ["script-src 'self' 'UNSAFE-INLINE'", 'csp.script_unsafe_inline', 'high'],
    ["script-src 'self' 'unsafe-eval'", 'csp.script_unsafe_eval', 'medium'],
    [
      "script-src 'self' 'unsafe-hashes' 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='",
      'csp.script_unsafe_hashes',
      'medium',
    ],
    ['script-src *', 'csp.script_wildcard', 'high'],
    ['script-src https:', 'csp.script_scheme_source', 'high'],
    ['script-src http:', 'csp.script_scheme_source', 'high'],
    ['script-src data:', 'csp.script_scheme_source', 'high'],
    ["script-src 'self' blob:", 'csp.script_scheme_source', 'high'],
    ['default-src https:', 'csp.script_scheme_source', 'high'],
    ["script-src 'self' http://cdn.test", 'csp.script_insecure_host', 'medium'],
    ["script-src-elem 'self' 'unsafe-inline'; script-src 'self'", 'csp.script_unsafe_inline', 'high'],
    ["script-src 'self'; script-src-attr 'unsafe-inline'", 'csp.script_unsafe_inline', 'high'],
  ];
  for (const [policy, id, severity] of scriptCases) {
    test(`${id} from ${policy}`, () => {
      const finding = evaluateCsp(`${policy}; ${base}`).find((each) => each.id === id);
      assert.ok(finding, `expected ${id}`);
      assert.equal(finding.severity, severity);
    });
  }

  test('unsafe-inline beside a nonce is only info', () => {
    const findings = evaluateCsp(
      `script-src 'self' 'unsafe-inline' 'nonce-q1w2E3r4T5y6U7i8O9p0Aa=='; ${base}`,
    );
    assert.deepEqual(
      findings.map((finding) => [finding.id, finding.severity]),
      [['csp.script_unsafe_inline_ignored', 'info']],
    );
  });

  test('unsafe-inline beside a hash is only info', () => {
    const found = ids(`script-src 'unsafe-inline' 'sha384-${'A'.repeat(64)}'; ${base}`);
    assert.deepEqual(found, ['csp.script_unsafe_inline_ignored']);
  });

  test('scheme sources beside strict-dynamic are only info', () => {
    const findings = evaluateCsp(
      `script-src 'nonce-q1w2E3r4T5y6U7i8O9p0Aa==' 'strict-dynamic' https: http:; ${base}`,
    );
    assert.deepEqual(
      findings.map((finding) => finding.severity),
      ['info', 'info'],
    );
  });

  test('finding names directive, message and fix', () => {
    const [finding] = evaluateCsp(`script-src 'unsafe-eval'; ${base}`);
    assert.deepEqual(finding, {
      id: 'csp.script_unsafe_eval',
      severity: 'medium',
      directive: 'script-src',
      message:
        "script-src allows 'unsafe-eval', so strings reaching eval(), new Function() or setTimeout(string) run as code",
      fix: "remove 'unsafe-eval' (use 'wasm-unsafe-eval' if only WebAssembly needs it)",
    });
  });

  test('missing object-src without default-src is high', () => {
    const finding = evaluateCsp("script-src 'self'; base-uri 'none'; frame-ancestors 'none'").find(
      (each) => each.id === 'csp.object_src_missing',
    );
    assert.equal(finding?.severity, 'high');
  });

  test("missing object-src with default-src 'none' is fine", () => {
    assert.deepEqual(
      ids("default-src 'none'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'"),
      [],
    );
  });

  test("missing object-src with default-src 'self' is medium", () => {
    const finding = evaluateCsp("default-src 'self'; base-uri 'none'; frame-ancestors 'none'").find(
      (each) => each.id === 'csp.object_src_missing',
    );
    assert.equal(finding?.severity, 'medium');
  });

  test('object-src wildcard is permissive', () => {
    assert.deepEqual(ids("script-src 'self'; object-src *; base-uri 'none'; frame-ancestors 'none'"), [
      'csp.object_src_permissive',
    ]);
  });

  const nonceCases: [string, string][] = [
    ['abc123', 'csp.nonce_short'],
    ['q1w2E3r4T5y6U7i8O9p0A', 'csp.nonce_short'],
    ['AAAAAAAAAAAAAAAAAAAAAAAA', 'csp.nonce_predictable'],
    ['abababababababababababab', 'csp.nonce_predictable'],
    ['{{cspNonce}}xxxxxxxxxxxxxxxxxx', 'csp.nonce_predictable'],
    ['randomrandomrandomrandom', 'csp.nonce_predictable'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an unfilled template placeholder is the case under test.
    ['${nonce}-0123456789abcdefgh', 'csp.nonce_predictable'],
  ];
  for (const [nonce, id] of nonceCases) {
    test(`${id} for nonce ${nonce}`, () => {
      assert.deepEqual(ids(`script-src 'nonce-${nonce}'; ${base}`), [id]);
    });
  }

  test('style unsafe-inline without nonce is low', () => {
    const finding = evaluateCsp(`script-src 'self'; style-src 'self' 'unsafe-inline'; ${base}`)[0];
    assert.equal(finding?.id, 'csp.style_unsafe_inline');
    assert.equal(finding?.severity, 'low');
  });

  test('several policies report only shared weaknesses', () => {
    const header = `script-src * 'unsafe-inline'; ${base}, script-src 'self'`;
    assert.deepEqual(ids(header), []);
    assert.deepEqual(ids(`script-src 'unsafe-eval'; ${base}, script-src 'unsafe-eval'`), [
      'csp.script_unsafe_eval',
    ]);
  });
});

describe('validateCspDirectives', () => {
  function message(run: () => unknown): string {
    try {
      run();
    } catch (error) {
      assert.ok(error instanceof HardenConfigError);
      return error.message;
    }
    assert.fail('expected a HardenConfigError');
  }

  test('unknown directive names the option and suggests', () => {
    assert.equal(
      message(() => validateCspDirectives({ 'scrpt-src': ["'self'"] }, 'headers.csp.directives')),
      `Invalid option headers.csp.directives.scrpt-src = "scrpt-src": it is not a known CSP directive. Fix: did you mean 'script-src'?`,
    );
  });

  test('unknown directive without a close match', () => {
    assert.equal(
      message(() => validateCspDirectives({ 'allow-everything': ['*'] }, 'csp')),
      'Invalid option csp.allow-everything = "allow-everything": it is not a known CSP directive. Fix: use a directive name of CSP Level 3, lower-case, such as script-src',
    );
  });

  test('unquoted keyword is refused', () => {
    assert.equal(
      message(() => validateCspDirectives({ 'img-src': ['self'] }, 'csp')),
      `Invalid option csp.img-src = "self": a CSP keyword must be in single quotes, otherwise browsers read it as a host name. Fix: write "'self'"`,
    );
  });

  test('unsafe-inline in script-src is refused', () => {
    assert.equal(
      message(() => validateCspDirectives({ 'script-src': ["'self'", "'unsafe-inline'"] }, 'csp')),
      `Invalid option csp.script-src = "'unsafe-inline'": 'unsafe-inline' lets every injected inline script run. Fix: mark your scripts with the per-response nonce (reply.cspNonce), or set dangerouslyAllowUnsafeInlineScripts: true`,
    );
  });

  test('unsafe-eval in script-src-elem is refused', () => {
    assert.throws(
      () => validateCspDirectives({ 'script-src-elem': ["'unsafe-eval'"] }, 'csp'),
      /unsafe-eval/,
    );
  });

  test('dangerous options allow unsafe script sources', () => {
    const directives = { 'script-src': ["'self'", "'unsafe-inline'", "'unsafe-eval'"] };
    assert.equal(
      validateCspDirectives(directives, 'csp', {
        dangerouslyAllowUnsafeInlineScripts: true,
        dangerouslyAllowUnsafeEval: true,
      }),
      directives,
    );
  });

  test('unsafe-inline in style-src passes validation', () => {
    assert.doesNotThrow(() => validateCspDirectives({ 'style-src': ["'self'", "'unsafe-inline'"] }, 'csp'));
  });

  const badSources: [string, RegExp][] = [
    ["'self'; script-src *", /one non-empty ASCII token/],
    ['https://a.test, *', /one non-empty ASCII token/],
    ['https://a.test\r\nSet-Cookie: x=1', /one non-empty ASCII token/],
    ['', /one non-empty ASCII token/],
    ["'nonce-abcdefabcdefabcdefabcdef'", /same on every response/],
    ["'sha256-not base64'", /one non-empty ASCII token/],
    ["'SHA256-AAAA'", /not a valid hash source/],
    ["'unsafe-everything'", /not a known CSP keyword/],
    ['nonce-abc', /must be in single quotes/],
  ];
  for (const [source, pattern] of badSources) {
    test(`source ${JSON.stringify(source)} is refused`, () => {
      assert.throws(() => validateCspDirectives({ 'img-src': [source] }, 'csp'), pattern);
    });
  }

  test("'none' with other sources is refused", () => {
    assert.throws(
      () => validateCspDirectives({ 'img-src': ["'none'", "'self'"] }, 'csp'),
      /'none' is ignored/,
    );
  });

  test('empty source list is refused', () => {
    assert.throws(() => validateCspDirectives({ 'img-src': [] }, 'csp'), /source list is empty/);
  });

  test('valueless directive takes true', () => {
    assert.doesNotThrow(() => validateCspDirectives({ 'upgrade-insecure-requests': true }, 'csp'));
    assert.throws(
      () => validateCspDirectives({ 'upgrade-insecure-requests': ["'self'"] }, 'csp'),
      /takes no value/,
    );
  });
});

describe('buildCsp', () => {
  test('serializes in table order', () => {
    assert.equal(
      buildCsp({
        'default-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'upgrade-insecure-requests': true,
      }),
      "default-src 'self'; img-src 'self' data:; upgrade-insecure-requests",
    );
  });

  test('built policy parses back', () => {
    const directives = { 'default-src': ["'self'"], 'object-src': ["'none'"] };
    assert.deepEqual(Object.fromEntries(parseCsp(buildCsp(directives))), directives);
  });
});
