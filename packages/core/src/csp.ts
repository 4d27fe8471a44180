import { HardenConfigError } from './errors.js';
import { closestMatch } from './suggest.js';

/** One weakness found in a Content-Security-Policy, with a stable id that tools and tests match on. */
export interface CspFinding {
  /** Stable identifier, for example `csp.script_unsafe_inline`. */
  id: string;
  severity: 'high' | 'medium' | 'low' | 'info';
  /** The directive the finding is about, or the one that is missing. */
  directive: string;
  /** One-sentence description of the weakness. */
  message: string;
  /** The change that removes the weakness. */
  fix: string;
}

/**
 * A table of CSP directives: a directive name mapped to its source list. `true` writes a directive that
 * takes no value (`upgrade-insecure-requests`).
 */
export type CspDirectives = Readonly<Record<string, readonly string[] | true>>;

/** Escape hatches of `validateCspDirectives`. Each one weakens the policy, and its name says so. Default: all false. */
export interface CspValidationOptions {
  /** Lets script-src (and script-src-elem, script-src-attr) contain 'unsafe-inline'. */
  dangerouslyAllowUnsafeInlineScripts?: boolean;
  /** Lets script-src (and script-src-elem, script-src-attr) contain 'unsafe-eval'. */
  dangerouslyAllowUnsafeEval?: boolean;
}

/** Directive names of CSP Level 3 and the ones browsers still honour from earlier levels. */
export const CSP_DIRECTIVE_NAMES: ReadonlySet<string> = new Set([
  'default-src',
  'script-src',
  'script-src-elem',
  'script-src-attr',
  'style-src',
  'style-src-elem',
  'style-src-attr',
  'img-src',
  'font-src',
  'connect-src',
  'media-src',
  'object-src',
  'frame-src',
  'child-src',
  'worker-src',
  'manifest-src',
  'fenced-frame-src',
  'base-uri',
  'form-action',
  'frame-ancestors',
  'sandbox',
  'report-uri',
  'report-to',
  'upgrade-insecure-requests',
  'require-trusted-types-for',
  'trusted-types',
  'webrtc',
]);

/** Directives that take no source list. */
const VALUELESS_DIRECTIVES: ReadonlySet<string> = new Set(['upgrade-insecure-requests']);

/** Directives whose values are not source expressions, so the source checks skip them. */
const NON_SOURCE_DIRECTIVES: ReadonlySet<string> = new Set([
  'sandbox',
  'report-uri',
  'report-to',
  'require-trusted-types-for',
  'trusted-types',
  'webrtc',
  'upgrade-insecure-requests',
]);

const SCRIPT_DIRECTIVES: ReadonlySet<string> = new Set(['script-src', 'script-src-elem', 'script-src-attr']);

/** Quoted keywords of CSP Level 3. */
const KEYWORDS: ReadonlySet<string> = new Set([
  "'self'",
  "'none'",
  "'unsafe-inline'",
  "'unsafe-eval'",
  "'unsafe-hashes'",
  "'strict-dynamic'",
  "'report-sample'",
  "'wasm-unsafe-eval'",
  "'inline-speculation-rules'",
]);

/** Schemes that, alone in a script list, let an attacker supply the script. */
const UNSAFE_SCRIPT_SCHEMES: ReadonlySet<string> = new Set([
  'http:',
  'https:',
  'data:',
  'blob:',
  'filesystem:',
  'ws:',
  'wss:',
]);

/** Nonce length, in base64 characters, of 16 random bytes: the least CSP Level 3 recommends. */
const MIN_NONCE_CHARS = 22;

/** A base64 or base64url value as CSP's grammar allows it in nonce and hash sources. */
const BASE64_VALUE = /^[A-Za-z0-9+/_-]+={0,2}$/;

// ---------------------------------------------------------------------------------------------------
// Parsing

/**
 * Parses one serialized policy into a map from lower-cased directive name to its source list. As the
 * CSP specification requires, a repeated directive is ignored after its first occurrence. A header that
 * carries several comma-separated policies is read as one: split it with `splitCspPolicies` first.
 */
export function parseCsp(header: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of header.split(';')) {
    const tokens = part
      .trim()
      .split(/[\t\n\f\r ]+/)
      .filter(Boolean);
    const [rawName, ...sources] = tokens;
    if (!rawName) continue;
    const name = rawName.toLowerCase();
    if (directives.has(name)) continue;
    directives.set(name, sources);
  }
  return directives;
}

/** Splits a header value that joins several policies with commas (as repeated headers are folded). */
export function splitCspPolicies(header: string): string[] {
  return header
    .split(',')
    .map((policy) => policy.trim())
    .filter(Boolean);
}

// ---------------------------------------------------------------------------------------------------
// Evaluation

/**
 * Lists the weaknesses of a Content-Security-Policy header value. When the value joins several policies,
 * a finding is kept only when every policy has it, because a browser enforces all of them at once.
 */
export function evaluateCsp(header: string): CspFinding[] {
  const policies = splitCspPolicies(header);
  if (policies.length === 0) return evaluatePolicy(new Map());
  const perPolicy = policies.map((policy) => evaluatePolicy(parseCsp(policy)));
  const [first = [], ...rest] = perPolicy;
  return first.filter((finding) => rest.every((others) => others.some((other) => other.id === finding.id)));
}

function evaluatePolicy(policy: Map<string, string[]>): CspFinding[] {
  const findings: CspFinding[] = [];
  const defaultSrc = policy.get('default-src');
  const scriptSrc = policy.get('script-src') ?? defaultSrc;

  if (scriptSrc === undefined) {
    findings.push({
      id: 'csp.no_script_restriction',
      severity: 'high',
      directive: 'script-src',
      message: 'The policy has neither script-src nor default-src, so it does not restrict scripts at all',
      fix: "add script-src 'self' 'nonce-<random per response>' (or a default-src)",
    });
  } else {
    const directive = policy.has('script-src') ? 'script-src' : 'default-src';
    findings.push(...evaluateScriptList(directive, scriptSrc));
  }
  for (const directive of ['script-src-elem', 'script-src-attr']) {
    const sources = policy.get(directive);
    if (sources) findings.push(...evaluateScriptList(directive, sources));
  }

  findings.push(...evaluateNonces(policy));
  findings.push(...evaluateStyles(policy.get('style-src') ?? defaultSrc, policy.has('style-src')));
  findings.push(...evaluateObjects(policy.get('object-src') ?? defaultSrc, policy.has('object-src')));

  if (!policy.has('base-uri')) {
    findings.push({
      id: 'csp.base_uri_missing',
      severity: 'medium',
      directive: 'base-uri',
      message:
        'base-uri is missing (it does not fall back to default-src), so injected <base> tags can redirect relative script URLs',
      fix: "add base-uri 'none' (or 'self')",
    });
  }
  if (!policy.has('frame-ancestors')) {
    findings.push({
      id: 'csp.frame_ancestors_missing',
      severity: 'medium',
      directive: 'frame-ancestors',
      message:
        'frame-ancestors is missing (it does not fall back to default-src), so any site can frame the page',
      fix: "add frame-ancestors 'none' (or 'self')",
    });
  }
  return findings;
}

function evaluateScriptList(directive: string, sources: readonly string[]): CspFinding[] {
  const findings: CspFinding[] = [];
  const lower = sources.map((source) => source.toLowerCase());
  const hasNonceOrHash = lower.some(isNonceOrHashSource);
  // CSP3 browsers ignore host and scheme sources when 'strict-dynamic' accompanies a nonce or hash.
  const strictDynamic = hasNonceOrHash && lower.includes("'strict-dynamic'");

  if (lower.includes("'unsafe-inline'")) {
    if (hasNonceOrHash) {
      findings.push({
        id: 'csp.script_unsafe_inline_ignored',
        severity: 'info',
        directive,
        message: `${directive} has 'unsafe-inline', which CSP3 browsers ignore because the list also has a nonce or hash; only browsers older than CSP2 run inline scripts`,
        fix: "keep it only as a fallback for very old browsers, or remove 'unsafe-inline'",
      });
    } else {
      findings.push({
        id: 'csp.script_unsafe_inline',
        severity: 'high',
        directive,
        message: `${directive} allows 'unsafe-inline', so any injected inline script or event handler runs`,
        fix: "remove 'unsafe-inline' and mark the page's own scripts with a per-response nonce or a hash",
      });
    }
  }
  if (lower.includes("'unsafe-eval'")) {
    findings.push({
      id: 'csp.script_unsafe_eval',
      severity: 'medium',
      directive,
      message: `${directive} allows 'unsafe-eval', so strings reaching eval(), new Function() or setTimeout(string) run as code`,
      fix: "remove 'unsafe-eval' (use 'wasm-unsafe-eval' if only WebAssembly needs it)",
    });
  }
  if (lower.includes("'unsafe-hashes'")) {
    findings.push({
      id: 'csp.script_unsafe_hashes',
      severity: 'medium',
      directive,
      message: `${directive} has 'unsafe-hashes', so inline event handlers matching a hash run, and an attacker can reuse them`,
      fix: "move event handlers into scripts with addEventListener and remove 'unsafe-hashes'",
    });
  }
  for (const source of lower) {
    const wildcard = source === '*';
    const scheme = UNSAFE_SCRIPT_SCHEMES.has(source);
    if (!wildcard && !scheme) continue;
    findings.push({
      id: wildcard ? 'csp.script_wildcard' : 'csp.script_scheme_source',
      severity: strictDynamic ? 'info' : 'high',
      directive,
      message: strictDynamic
        ? `${directive} allows ${source}, which CSP3 browsers ignore beside 'strict-dynamic' and a nonce or hash; older browsers load scripts from ${wildcard ? 'any host' : `any ${source} URL`}`
        : `${directive} allows ${source}, so scripts load from ${wildcard ? 'any host' : `any ${source} URL`}, including ones an attacker controls`,
      fix: `remove ${source} and list the exact hosts, or use a nonce with 'strict-dynamic'`,
    });
  }
  for (const source of lower) {
    if (!source.startsWith('http://')) continue;
    findings.push({
      id: 'csp.script_insecure_host',
      severity: strictDynamic ? 'info' : 'medium',
      directive,
      message: `${directive} allows ${source} over plain HTTP, so a network attacker can replace the script`,
      fix: `use https:// for ${source.slice('http://'.length)}`,
    });
  }
  return findings;
}

function evaluateNonces(policy: Map<string, string[]>): CspFinding[] {
  const findings: CspFinding[] = [];
  const seen = new Set<string>();
  for (const [directive, sources] of policy) {
    for (const source of sources) {
      const match = /^'nonce-(.*)'$/i.exec(source);
      if (!match) continue;
      const nonce = match[1] ?? '';
      if (seen.has(nonce)) continue;
      seen.add(nonce);
      if (nonce.length < MIN_NONCE_CHARS) {
        findings.push({
          id: 'csp.nonce_short',
          severity: 'medium',
          directive,
          message: `The nonce ${JSON.stringify(nonce)} has ${nonce.length} characters, less than the ${MIN_NONCE_CHARS} base64 characters of 128 random bits`,
          fix: 'generate at least 16 random bytes per response and encode them in base64',
        });
      } else if (looksFixed(nonce)) {
        findings.push({
          id: 'csp.nonce_predictable',
          severity: 'medium',
          directive,
          message: `The nonce ${JSON.stringify(nonce)} does not look random, so it is probably the same on every response`,
          fix: 'generate the nonce from a cryptographic random source on every response',
        });
      }
    }
  }
  return findings;
}

function evaluateStyles(sources: readonly string[] | undefined, explicit: boolean): CspFinding[] {
  if (!sources) return [];
  const lower = sources.map((source) => source.toLowerCase());
  if (!lower.includes("'unsafe-inline'") || lower.some(isNonceOrHashSource)) return [];
  return [
    {
      id: 'csp.style_unsafe_inline',
      severity: 'low',
      directive: explicit ? 'style-src' : 'default-src',
      message:
        "Styles allow 'unsafe-inline', so injected markup can restyle the page or read attribute values through CSS selectors",
      fix: "remove 'unsafe-inline' from style-src and mark the page's own styles with a nonce",
    },
  ];
}

function evaluateObjects(sources: readonly string[] | undefined, explicit: boolean): CspFinding[] {
  if (sources === undefined) {
    return [
      {
        id: 'csp.object_src_missing',
        severity: 'high',
        directive: 'object-src',
        message:
          'object-src is missing and there is no default-src, so plugins (<object>, <embed>) load from anywhere',
        fix: "add object-src 'none'",
      },
    ];
  }
  const lower = sources.map((source) => source.toLowerCase());
  if (lower.length === 1 && lower[0] === "'none'") return [];
  if (!explicit) {
    return [
      {
        id: 'csp.object_src_missing',
        severity: 'medium',
        directive: 'object-src',
        message: "object-src is missing, so plugins fall back to default-src, which is not 'none'",
        fix: "add object-src 'none'",
      },
    ];
  }
  if (lower.some((source) => source === '*' || UNSAFE_SCRIPT_SCHEMES.has(source))) {
    return [
      {
        id: 'csp.object_src_permissive',
        severity: 'medium',
        directive: 'object-src',
        message:
          'object-src allows a wildcard or a whole scheme, so plugins load from hosts an attacker controls',
        fix: "set object-src 'none'",
      },
    ];
  }
  return [];
}

function isNonceOrHashSource(source: string): boolean {
  return /^'(nonce|sha256|sha384|sha512)-/i.test(source);
}

/** Tells a nonce that a person or a template wrote (few distinct characters, a placeholder, a word) from random bytes. */
function looksFixed(nonce: string): boolean {
  if (/\{\{|\}\}|\$\{|<%|%>|nonce|random|static|test|example/i.test(nonce)) return true;
  // 22 random base64 characters contain about 19 distinct ones on average (64 * (1 - (63/64)^22)), so
  // fewer than 8 means a pattern.
  return new Set(nonce).size < 8;
}

// ---------------------------------------------------------------------------------------------------
// Building and validation

/**
 * Validates a directive table and returns it unchanged. Throws a HardenConfigError naming
 * `<optionName>.<directive>` for an unknown directive, a malformed source, an unquoted keyword, a fixed
 * nonce, or 'unsafe-inline' / 'unsafe-eval' in a script list without the matching `dangerously...` option.
 */
export function validateCspDirectives(
  directives: CspDirectives,
  optionName: string,
  options: CspValidationOptions = {},
): CspDirectives {
  if (directives === null || typeof directives !== 'object' || Array.isArray(directives)) {
    throw new HardenConfigError(
      optionName,
      directives,
      'it is not a table of directives',
      "pass an object such as { 'img-src': [\"'self'\", 'data:'] }",
    );
  }
  for (const [name, sources] of Object.entries(directives)) {
    validateDirective(name, sources, `${optionName}.${name}`, options);
  }
  return directives;
}

function validateDirective(
  name: string,
  sources: readonly string[] | true,
  option: string,
  options: CspValidationOptions,
): void {
  if (!CSP_DIRECTIVE_NAMES.has(name)) {
    const suggestion = closestMatch(name, CSP_DIRECTIVE_NAMES);
    throw new HardenConfigError(
      option,
      name,
      'it is not a known CSP directive',
      suggestion
        ? `did you mean '${suggestion}'?`
        : 'use a directive name of CSP Level 3, lower-case, such as script-src',
    );
  }
  if (VALUELESS_DIRECTIVES.has(name)) {
    if (sources !== true)
      throw new HardenConfigError(option, sources, `${name} takes no value`, 'set it to true');
    return;
  }
  if (!Array.isArray(sources) || !sources.every((source) => typeof source === 'string')) {
    throw new HardenConfigError(
      option,
      sources,
      'it is not a list of sources',
      `pass an array of strings such as ["'self'"]`,
    );
  }
  if (sources.length === 0) {
    throw new HardenConfigError(
      option,
      sources,
      'the source list is empty, which browsers read as nothing allowed',
      `write ["'none'"] to block everything, or list the sources`,
    );
  }
  for (const source of sources) validateSource(name, source, option, options);
  if (sources.includes("'none'") && sources.length > 1) {
    throw new HardenConfigError(
      option,
      sources,
      "'none' is ignored by browsers when other sources are listed",
      "keep either 'none' alone or only the other sources",
    );
  }
}

function validateSource(name: string, source: string, option: string, options: CspValidationOptions): void {
  if (source.length === 0 || !/^[\x21-\x7e]+$/.test(source) || /[;,]/.test(source)) {
    throw new HardenConfigError(
      option,
      source,
      'a source must be one non-empty ASCII token without spaces, commas or semicolons',
      'list each source as its own array item',
    );
  }
  if (NON_SOURCE_DIRECTIVES.has(name)) return;

  const lower = source.toLowerCase();
  const bare = `'${lower}'`;
  if (KEYWORDS.has(bare) || /^(nonce|sha256|sha384|sha512)-/.test(lower)) {
    throw new HardenConfigError(
      option,
      source,
      'a CSP keyword must be in single quotes, otherwise browsers read it as a host name',
      `write "${bare}"`,
    );
  }
  if (lower.startsWith("'")) {
    if (/^'nonce-/.test(lower)) {
      throw new HardenConfigError(
        option,
        source,
        'a nonce written in the configuration is the same on every response, so an attacker can copy it',
        'remove it: the plugin adds a fresh nonce to script-src and style-src on every response',
      );
    }
    if (/^'sha(256|384|512)-/.test(lower)) {
      if (
        !/^'sha(256|384|512)-/.test(source) ||
        !BASE64_VALUE.test(source.slice(8, -1)) ||
        !source.endsWith("'")
      ) {
        throw new HardenConfigError(
          option,
          source,
          'it is not a valid hash source',
          "write 'sha256-<base64 digest>' with a lower-case algorithm name",
        );
      }
      return;
    }
    if (!KEYWORDS.has(lower)) {
      throw new HardenConfigError(
        option,
        source,
        'it is not a known CSP keyword',
        "use one of 'self', 'none', 'strict-dynamic', 'report-sample', 'wasm-unsafe-eval', 'unsafe-hashes'",
      );
    }
    if (
      SCRIPT_DIRECTIVES.has(name) &&
      lower === "'unsafe-inline'" &&
      !options.dangerouslyAllowUnsafeInlineScripts
    ) {
      throw new HardenConfigError(
        option,
        source,
        "'unsafe-inline' lets every injected inline script run",
        'mark your scripts with the per-response nonce (reply.cspNonce), or set dangerouslyAllowUnsafeInlineScripts: true',
      );
    }
    if (SCRIPT_DIRECTIVES.has(name) && lower === "'unsafe-eval'" && !options.dangerouslyAllowUnsafeEval) {
      throw new HardenConfigError(
        option,
        source,
        "'unsafe-eval' lets strings run as code through eval() and new Function()",
        'remove the eval from your scripts, or set dangerouslyAllowUnsafeEval: true',
      );
    }
  }
}

/** Serializes a directive table as a header value, `name source source; name source`, in table order. */
export function buildCsp(directives: CspDirectives): string {
  return Object.entries(directives)
    .map(([name, sources]) =>
      sources === true || sources.length === 0 ? name : `${name} ${sources.join(' ')}`,
    )
    .join('; ');
}
