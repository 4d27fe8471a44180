/**
 * The Observatory's Content-Security-Policy test (mdn/mdn-http-observatory v1.5.0, src/analyzer/csp
 * parser and tests/csp.js), rewritten here. It differs on purpose from the CSP evaluation of
 * @harden/core: it reproduces the Observatory's result, quirks included (a repeated directive makes the
 * whole header invalid, node's ", " folding of repeated headers is read as one policy).
 */
import { type ObservatoryTestResult, testResult } from './scoring.js';

/** A parsed policy: directive name to its set of lower-cased sources. */
export type ObservatoryCspMap = Map<string, Set<string>>;

const TEST = 'content-security-policy';

/** Shortest policy text the Observatory accepts ("img-src" less one character). */
const MIN_POLICY_LENGTH = 6;
const DIRECTIVES_IGNORED_IN_META = ['frame-ancestors', 'report-uri', 'sandbox'];
const REPEATABLE_DIRECTIVES = new Set(['report-uri', 'report-to']);

const BROAD_SOURCES = new Set([
  'ftp:',
  'http:',
  'https:',
  '*',
  'http://*',
  'http://*.*',
  'https://*',
  'https://*.*',
]);
const INLINE_SOURCES = new Set(["'unsafe-inline'", 'data:']);
const BROAD_OR_INLINE_SOURCES = new Set([...BROAD_SOURCES, ...INLINE_SOURCES]);
const PASSIVE_DIRECTIVES = ['img-src', 'media-src'];
const NONCE_OR_HASH_PREFIXES = ["'sha256-", "'sha384-", "'sha512-", "'nonce-"];

/** The parsed policy plus whether an allowed repeat (report-uri, report-to) was seen. */
interface ParsedPolicies {
  directives: ObservatoryCspMap;
  repeatedReportDirective: boolean;
}

interface SourceEntry {
  source: string;
  policy: number;
  keep: boolean;
}

const compareSources = new Intl.Collator('en').compare;

/**
 * Parses one or more policies the Observatory's way and throws on an invalid one (shorter than 6
 * characters, or a directive other than report-uri/report-to repeated within one policy). With several
 * policies, a source is kept only when every policy allows it, as a browser enforces all of them.
 */
export function parseObservatoryCsp(policies: readonly string[]): ParsedPolicies {
  const cleaned = policies.map((policy) => policy.replace(/[\r\n]/g, '').trim());
  const entries = new Map<string, SourceEntry[]>();
  let repeatedReportDirective = false;

  for (const policy of cleaned) {
    if (policy.length < MIN_POLICY_LENGTH) throw new Error(`Invalid policy: ${policy}`);
  }

  cleaned.forEach((policy, policyIndex) => {
    const seen = new Set<string>();
    for (const part of policy.split(';')) {
      const [rawName, ...values] = part.trim().split(/\s+/);
      if (!rawName) continue;
      const name = rawName.toLowerCase();
      if (seen.has(name)) {
        if (!REPEATABLE_DIRECTIVES.has(name)) throw new Error(`Repeated directive ${name}`);
        repeatedReportDirective = true;
      }
      seen.add(name);

      const keepNew = policyIndex === 0;
      const added: SourceEntry[] = values.map((value) => ({
        source: value.trim().toLocaleLowerCase(),
        policy: policyIndex,
        keep: keepNew,
      }));
      if (added.length === 0 && name.endsWith('-src'))
        added.push({ source: "'none'", policy: policyIndex, keep: keepNew });

      const combined = policyIndex === 0 ? added : [...(entries.get(name) ?? []), ...added];
      combined.sort((a, b) => compareSources(a.source, b.source));
      for (let i = 1; i < combined.length; i++) {
        const entry = combined[i] as SourceEntry;
        const previous = combined[i - 1] as SourceEntry;
        // Within one policy, a longer source that starts like the previous one adds nothing.
        if (entry.policy === previous.policy && entry.source.startsWith(previous.source)) entry.keep = false;
        // Across policies, a source survives only when the other policy allows it too.
        if (entry.policy !== previous.policy && pathPartsMatch(previous.source, entry.source))
          entry.keep = true;
      }
      const kept = combined.filter((entry) => entry.keep);
      // With more policies to come, first-policy sources must be confirmed by a later policy to stay.
      if (policyIndex === 0 && cleaned.length > 1) {
        for (const entry of kept) entry.keep = false;
      }
      entries.set(name, kept);
    }
  });

  const directives: ObservatoryCspMap = new Map();
  for (const [name, kept] of entries) {
    directives.set(name, kept.length > 0 ? new Set(kept.map((entry) => entry.source)) : new Set(["'none'"]));
  }
  return { directives, repeatedReportDirective };
}

/** Compares two sources by path segments; a trailing "/" on the first makes it a prefix match. */
function pathPartsMatch(first: string, second: string): boolean {
  if (first.length === 0) return true;
  if (first === '/' && second.length === 0) return true;
  const prefixOnly = first.endsWith('/');
  const firstParts = first.split('/');
  const secondParts = second.split('/');
  if (firstParts.length > secondParts.length) return false;
  if (!prefixOnly && firstParts.length !== secondParts.length) return false;
  if (prefixOnly) firstParts.pop();
  return firstParts.every((part, i) => safeDecode(part) === safeDecode(secondParts[i] ?? ''));
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Inputs of the CSP test, read from one response. */
export interface CspTestInput {
  /** Content-Security-Policy header values as folded by node:http (repeats joined with ", "). */
  headerPolicies: readonly string[];
  /** `<meta http-equiv="Content-Security-Policy">` contents of the HTML page, in order. */
  metaPolicies: readonly string[];
  /** Whether a Content-Security-Policy-Report-Only header was sent. */
  reportOnly: boolean;
  /** Whether the scanned URL is HTTPS (http: sources then count as insecure). */
  https: boolean;
}

/** The CSP test result plus the parsed policy, which the X-Frame-Options test reads (frame-ancestors). */
export interface CspTestOutput {
  result: ObservatoryTestResult;
  /** The parsed policy, or null when it is missing or invalid. */
  policy: ObservatoryCspMap | null;
}

/** Runs the Observatory's Content-Security-Policy test. */
export function observatoryCspTest(input: CspTestInput): CspTestOutput {
  const data = [...input.headerPolicies, ...input.metaPolicies].join(' | ') || undefined;
  let parsed: ParsedPolicies;
  try {
    parsed = parseObservatoryCsp([...input.headerPolicies, ...input.metaPolicies]);
  } catch {
    return { result: testResult(TEST, 'csp-header-invalid', false, data), policy: null };
  }
  const headerOnly = parseOrEmpty(input.headerPolicies);
  const metaOnly = parseOrEmpty(input.metaPolicies);
  for (const name of DIRECTIVES_IGNORED_IN_META) metaOnly.delete(name);

  if (input.headerPolicies.length === 0 && input.metaPolicies.length === 0) {
    const result = input.reportOnly ? 'csp-not-implemented-but-reporting-enabled' : 'csp-not-implemented';
    return { result: testResult(TEST, result, false), policy: null };
  }
  if (headerOnly.size + metaOnly.size === 0) {
    const result = input.reportOnly ? 'csp-not-implemented-but-reporting-enabled' : 'csp-not-implemented';
    return { result: testResult(TEST, result, false, data), policy: null };
  }

  const csp = parsed.directives;
  const result = classifyPolicy(csp, input.https);
  const passing = [
    'csp-implemented-with-no-unsafe',
    'csp-implemented-with-no-unsafe-default-src-none',
    'csp-implemented-with-unsafe-inline-in-style-src-only',
    'csp-implemented-with-insecure-scheme-in-passive-content-only',
  ].includes(result);
  // A passing policy with a repeated report-uri or report-to loses its bonus (a 0-point result).
  const finalResult =
    passing && parsed.repeatedReportDirective ? 'csp-implemented-but-duplicate-directives' : result;
  return { result: testResult(TEST, finalResult, passing, data), policy: csp };
}

function parseOrEmpty(policies: readonly string[]): ObservatoryCspMap {
  if (policies.length === 0) return new Map();
  try {
    return parseObservatoryCsp(policies).directives;
  } catch {
    return new Map();
  }
}

/**
 * Picks the first (worst) result that applies, in the Observatory's order. Fallback lists are shared
 * Set objects, as in the Observatory: removing 'unsafe-inline' from a script-src that falls back to
 * default-src also removes it from everything else that falls back to default-src.
 */
function classifyPolicy(csp: ObservatoryCspMap, https: boolean): string {
  const defaultSrc = csp.get('default-src');
  const scriptSrc = csp.get('script-src') ?? defaultSrc ?? new Set(['*']);
  const styleSrc = csp.get('style-src') ?? defaultSrc ?? new Set(['*']);
  const objectSrc = csp.get('object-src') ?? defaultSrc ?? new Set(['*']);
  let result: string | null = null;
  const firstResult = (candidate: string) => {
    result ??= candidate;
  };

  // A nonce or hash makes browsers ignore 'unsafe-inline'.
  for (const list of [scriptSrc, styleSrc]) {
    if (hasNonceOrHash(list)) list.delete("'unsafe-inline'");
  }

  if (hasNonceOrHash(scriptSrc) && scriptSrc.has("'strict-dynamic'")) {
    // With 'strict-dynamic', browsers ignore host and scheme sources, 'self' and 'unsafe-inline'.
    for (const source of [...scriptSrc]) {
      const broad = [...BROAD_SOURCES].some((prefix) => source.startsWith(prefix));
      if (broad || source === "'self'" || source === "'unsafe-inline'") scriptSrc.delete(source);
    }
  } else if (scriptSrc.has("'strict-dynamic'")) {
    firstResult('csp-header-invalid');
  }

  const activeSources: string[] = [];
  for (const [name, sources] of csp) {
    if (!PASSIVE_DIRECTIVES.includes(name) && name !== 'script-src') activeSources.push(...sources);
  }
  activeSources.push(...scriptSrc);
  const passiveSources = PASSIVE_DIRECTIVES.flatMap((name) => [...(csp.get(name) ?? defaultSrc ?? [])]);
  const insecureScheme = (source: string) => source.startsWith('http:') || source.startsWith('ftp:');

  if (
    [...scriptSrc].some((s) => BROAD_OR_INLINE_SOURCES.has(s)) ||
    [...objectSrc].some((s) => BROAD_SOURCES.has(s))
  ) {
    firstResult('csp-implemented-with-unsafe-inline');
  }
  if (https && activeSources.some(insecureScheme)) firstResult('csp-implemented-with-insecure-scheme');
  if (scriptSrc.has("'unsafe-eval'") || styleSrc.has("'unsafe-eval'"))
    firstResult('csp-implemented-with-unsafe-eval');
  if (https && passiveSources.some(insecureScheme)) {
    firstResult('csp-implemented-with-insecure-scheme-in-passive-content-only');
  }
  if ([...styleSrc].some((s) => BROAD_OR_INLINE_SOURCES.has(s))) {
    firstResult('csp-implemented-with-unsafe-inline-in-style-src-only');
  }
  if (defaultSrc?.has("'none'") && defaultSrc.size === 1)
    firstResult('csp-implemented-with-no-unsafe-default-src-none');
  firstResult('csp-implemented-with-no-unsafe');
  return result ?? 'csp-implemented-with-no-unsafe';
}

function hasNonceOrHash(sources: Set<string>): boolean {
  return [...sources].some((source) => NONCE_OR_HASH_PREFIXES.some((prefix) => source.startsWith(prefix)));
}
