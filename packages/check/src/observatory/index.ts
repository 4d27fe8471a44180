/**
 * Scores recorded responses with the MDN HTTP Observatory's ten tests (mdn/mdn-http-observatory
 * v1.5.0, src/analyzer/tests/*.js), rewritten here. Each function reads only the recorded input, so a
 * test can replay a set of headers and compare the score with one worked out by hand.
 */
import { parseSetCookieHeader } from '../cookies.js';
import { firstHeader, type HeaderMap } from '../http.js';
import { observatoryCspTest } from './csp.js';
import { type ObservatoryScore, type ObservatoryTestResult, testResult, totalScore } from './scoring.js';

export type { ObservatoryScore, ObservatoryTestResult } from './scoring.js';
export { GRADES, type Grade, gradeAtLeast, gradeForScore, OBSERVATORY_VERSION } from './scoring.js';

/** Every response the Observatory's tests read. */
export interface ObservatoryInput {
  /** The scanned page: the HTTPS response when HTTPS responded, else the HTTP one. */
  page: {
    url: string;
    status: number;
    headers: HeaderMap;
    /** The body, read for meta tags and script elements when the page is HTML. */
    body: string;
  };
  /** The HTTPS response (for HSTS), or null when the site was not reached over HTTPS. */
  https: { headers: HeaderMap; verified: boolean } | null;
  /** The redirect chain that started at the plain-HTTP URL, or null when HTTP was not reached. */
  httpRedirects: { chain: ReadonlyArray<{ url: string; status: number }>; verified: boolean } | null;
  /** The response to an OPTIONS request sent with `Origin: requestOrigin`, or null when it failed. */
  cors: { requestOrigin: string; headers: HeaderMap } | null;
  /** Every Set-Cookie header received on the scanned page's redirect chain, in order. */
  setCookies: readonly string[];
}

/** The Origin the Observatory sends on its CORS request (its default configuration). */
export const OBSERVATORY_CORS_ORIGIN = 'https://http-observatory.security.mozilla.org';

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);
const SIX_MONTHS_SECONDS = 15_552_000;

/** Meta tags and scripts of an HTML page, as the Observatory reads them. */
export interface PageHtml {
  /** Content of each `<meta http-equiv="Content-Security-Policy">`, in order. */
  metaCsp: string[];
  /** Content of the last `<meta name="referrer">`, if any. */
  metaReferrer: string | null;
  /** Every `<script>` element: its src attribute (null when absent) and integrity attribute. */
  scripts: Array<{ src: string | null; integrity: string | null }>;
}

/** Scores the recorded responses. `html` is the parsed page body (pass null when it is not HTML). */
export function scoreObservatory(input: ObservatoryInput, html: PageHtml | null): ObservatoryScore {
  const isHtml = pageIsHtml(input.page.headers);
  const pageHtml = isHtml && input.page.body !== '' ? html : null;
  const https = new URL(input.page.url).protocol === 'https:';

  const csp = observatoryCspTest({
    headerPolicies: headerValues(input.page.headers, 'content-security-policy'),
    metaPolicies: pageHtml?.metaCsp ?? [],
    reportOnly: firstHeader(input.page.headers, 'content-security-policy-report-only') !== undefined,
    https,
  });
  const hsts = hstsTest(input.https);

  return totalScore([
    csp.result,
    cookiesTest(input.setCookies, hsts.pass),
    corsTest(input.cors),
    redirectionTest(input.httpRedirects),
    referrerPolicyTest(input.page.headers, pageHtml?.metaReferrer ?? null),
    hsts,
    subresourceIntegrityTest(input.page, pageHtml ?? (isHtml ? emptyHtml() : null), https),
    xContentTypeOptionsTest(input.page.headers),
    xFrameOptionsTest(input.page.headers, csp.policy?.has('frame-ancestors') === true),
    crossOriginResourcePolicyTest(input.page.headers),
  ]);
}

function emptyHtml(): PageHtml {
  return { metaCsp: [], metaReferrer: null, scripts: [] };
}

/** Returns whether the Observatory reads the page as HTML: a missing Content-Type counts, and case matters. */
function pageIsHtml(headers: HeaderMap): boolean {
  const mime = (firstHeader(headers, 'content-type') ?? '').split(';')[0] ?? '';
  return mime === '' || HTML_TYPES.has(mime);
}

function headerValues(headers: HeaderMap, name: string): string[] {
  const value = headers[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? [...value] : [value];
}

// ---------------------------------------------------------------------------------------------------
// Cookies

interface JarCookie {
  name: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite: 'strict' | 'lax' | 'none' | undefined;
}

/**
 * Reduces Set-Cookie headers to what a cookie jar keeps. A later cookie with the same name, domain and
 * path replaces an earlier one, and an expired one deletes it. A cookie that breaks its __Secure- or
 * __Host- prefix rule is dropped.
 * NOTE: the Observatory's jar (tough-cookie) also rejects a Domain that does not match the host; that
 * rule is not reproduced here.
 */
export function cookieJar(setCookies: readonly string[], now = Date.now()): JarCookie[] {
  const jar = new Map<string, JarCookie>();
  for (const header of setCookies) {
    const parsed = parseSetCookieHeader(header);
    if (!parsed?.name) continue;
    const key = `${parsed.name}\u0000${(parsed.domain ?? '').toLowerCase()}\u0000${parsed.path ?? ''}`;
    const secure = parsed.secure === true;
    if (parsed.name.startsWith('__Secure-') && !secure) continue;
    if (parsed.name.startsWith('__Host-') && (!secure || parsed.domain !== undefined || parsed.path !== '/'))
      continue;
    const expired =
      (parsed.maxAge !== undefined && parsed.maxAge <= 0) ||
      (parsed.maxAge === undefined && parsed.expires !== undefined && parsed.expires.getTime() <= now);
    if (expired) {
      jar.delete(key);
      continue;
    }
    const sameSite = parsed.sameSite?.toLowerCase();
    jar.set(key, {
      name: parsed.name,
      secure,
      httpOnly: parsed.httpOnly === true,
      sameSite: sameSite === 'strict' || sameSite === 'lax' || sameSite === 'none' ? sameSite : undefined,
    });
  }
  return [...jar.values()];
}

/** Results of the cookies test, from best to worst (a later one replaces an earlier one). */
const COOKIE_RESULTS_BEST_FIRST = [
  'cookies-without-secure-flag-but-protected-by-hsts',
  'cookies-without-secure-flag',
  'cookies-session-without-secure-flag-but-protected-by-hsts',
  'cookies-samesite-flag-invalid',
  'cookies-anticsrf-without-samesite-flag',
  'cookies-session-without-httponly-flag',
  'cookies-session-without-secure-flag',
];

function cookiesTest(setCookies: readonly string[], hstsPassed: boolean): ObservatoryTestResult {
  const test = 'cookies';
  let worst: string | null = null;
  const record = (result: string) => {
    if (
      worst === null ||
      COOKIE_RESULTS_BEST_FIRST.indexOf(result) > COOKIE_RESULTS_BEST_FIRST.indexOf(worst)
    ) {
      worst = result;
    }
  };

  for (const header of setCookies) {
    if (hasInvalidSameSite(header)) record('cookies-samesite-flag-invalid');
  }
  // The Observatory ignores Heroku's session-affinity cookie.
  const cookies = cookieJar(setCookies).filter((cookie) => cookie.name !== 'heroku-session-affinity');
  if (cookies.length === 0) return testResult(test, 'cookies-not-found', true);

  let missingSameSite = false;
  for (const cookie of cookies) {
    const lowerName = cookie.name.toLowerCase();
    const isSession = lowerName.includes('login') || lowerName.includes('sess');
    const isAntiCsrf = lowerName.includes('csrf');
    if (!cookie.secure && cookie.sameSite === 'none') record('cookies-samesite-flag-invalid');
    if (!cookie.secure)
      record(
        hstsPassed ? 'cookies-without-secure-flag-but-protected-by-hsts' : 'cookies-without-secure-flag',
      );
    if (isAntiCsrf && !cookie.sameSite) record('cookies-anticsrf-without-samesite-flag');
    if (isSession && !cookie.secure) {
      record(
        hstsPassed
          ? 'cookies-session-without-secure-flag-but-protected-by-hsts'
          : 'cookies-session-without-secure-flag',
      );
    }
    if (isSession && !cookie.httpOnly) record('cookies-session-without-httponly-flag');
    if (!cookie.sameSite) missingSameSite = true;
  }

  const names = cookies.map((cookie) => cookie.name).join(', ');
  if (worst !== null) return testResult(test, worst, false, names);
  if (missingSameSite) return testResult(test, 'cookies-secure-with-httponly-sessions', true, names);
  return testResult(test, 'cookies-secure-with-httponly-sessions-and-samesite', true, names);
}

/** Returns whether the header has a SameSite attribute with no value, or one other than Strict, Lax or None. */
function hasInvalidSameSite(header: string): boolean {
  for (const part of header.trim().split(';')) {
    const [name = '', value] = part.trim().split('=');
    if (name.trim().toLowerCase() !== 'samesite') continue;
    if (!value) return true;
    if (!['lax', 'strict', 'none'].includes(value.trim().toLowerCase())) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Header tests

function corsTest(cors: ObservatoryInput['cors']): ObservatoryTestResult {
  const test = 'cross-origin-resource-sharing';
  const allowOrigin = cors ? firstHeader(cors.headers, 'access-control-allow-origin') : undefined;
  if (!cors || !allowOrigin) return testResult(test, 'cross-origin-resource-sharing-not-implemented', true);
  const data = allowOrigin.slice(0, 256).trim().toLowerCase();
  if (data === '*')
    return testResult(test, 'cross-origin-resource-sharing-implemented-with-public-access', true, data);
  const credentials = firstHeader(cors.headers, 'access-control-allow-credentials');
  if (allowOrigin === cors.requestOrigin && credentials?.trim().toLowerCase() === 'true') {
    return testResult(test, 'cross-origin-resource-sharing-implemented-with-universal-access', false, data);
  }
  return testResult(test, 'cross-origin-resource-sharing-implemented-with-restricted-access', true, data);
}

function redirectionTest(redirects: ObservatoryInput['httpRedirects']): ObservatoryTestResult {
  const test = 'redirection';
  if (!redirects) return testResult(test, 'redirection-not-needed-no-http', true);
  if (!redirects.verified) return testResult(test, 'redirection-invalid-cert', false);
  const route = redirects.chain.map((hop) => new URL(hop.url));
  const data = route.map((url) => url.href).join(' -> ');
  // NOTE: the Observatory first checks the HSTS preload list; no loopback or test host is on it.
  if (route.length <= 1) return testResult(test, 'redirection-missing', false, data);
  const [first, second] = route as [URL, URL];
  if (route.at(-1)?.protocol !== 'https:') return testResult(test, 'redirection-not-to-https', false, data);
  if (second.protocol === 'http:')
    return testResult(test, 'redirection-not-to-https-on-initial-redirection', false, data);
  if (first.protocol === 'http:' && second.protocol === 'https:' && first.hostname !== second.hostname) {
    return testResult(test, 'redirection-off-host-from-http', false, data);
  }
  return testResult(test, 'redirection-to-https', true, data);
}

const PRIVATE_REFERRER_POLICIES = [
  'no-referrer',
  'same-origin',
  'strict-origin',
  'strict-origin-when-cross-origin',
];
const UNSAFE_REFERRER_POLICIES = [
  'origin',
  'origin-when-cross-origin',
  'unsafe-url',
  'no-referrer-when-downgrade',
];

function referrerPolicyTest(headers: HeaderMap, metaReferrer: string | null): ObservatoryTestResult {
  const test = 'referrer-policy';
  const values = headerValues(headers, 'referrer-policy');
  if (metaReferrer !== null) values.push(metaReferrer);
  if (values.length === 0) return testResult(test, 'referrer-policy-not-implemented', true);
  const data = values.join(', ');
  // The last recognised token wins, as in browsers.
  const known = new Set([...PRIVATE_REFERRER_POLICIES, ...UNSAFE_REFERRER_POLICIES]);
  const policy =
    data
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => known.has(token))
      .at(-1) ?? '';
  if (PRIVATE_REFERRER_POLICIES.includes(policy))
    return testResult(test, 'referrer-policy-private', true, data);
  if (UNSAFE_REFERRER_POLICIES.includes(policy))
    return testResult(test, 'referrer-policy-unsafe', false, data);
  return testResult(test, 'referrer-policy-header-invalid', false, data);
}

function hstsTest(https: ObservatoryInput['https']): ObservatoryTestResult {
  const test = 'strict-transport-security';
  if (!https) return testResult(test, 'hsts-not-implemented-no-https', false);
  if (!https.verified) return testResult(test, 'hsts-invalid-cert', false);
  const header = firstHeader(https.headers, 'strict-transport-security');
  if (header === undefined) return testResult(test, 'hsts-not-implemented', false);
  const data = header.slice(0, 1024);
  // A comma means the header was sent more than once (node:http joins repeats with ", ").
  if (data.includes(',')) return testResult(test, 'hsts-header-invalid', false, data);
  let maxAge: number | null = null;
  for (const directive of data.split(';').map((part) => part.trim().toLowerCase())) {
    if (directive.startsWith('max-age=')) maxAge = Number.parseInt(directive.slice(8, 128), 10);
  }
  if (maxAge === null) return testResult(test, 'hsts-header-invalid', false, data);
  // NaN compares false, so a max-age that is not a number counts as at least six months, as upstream.
  if (maxAge < SIX_MONTHS_SECONDS)
    return testResult(test, 'hsts-implemented-max-age-less-than-six-months', false, data);
  return testResult(test, 'hsts-implemented-max-age-at-least-six-months', true, data);
}

const SRI_RESULTS_BEST_FIRST = [
  'sri-implemented-and-all-scripts-loaded-securely',
  'sri-implemented-and-external-scripts-loaded-securely',
  'sri-implemented-but-external-scripts-not-loaded-securely',
  'sri-not-implemented-but-external-scripts-loaded-securely',
  'sri-not-implemented-and-external-scripts-not-loaded-securely',
  'sri-not-implemented-response-not-html',
];

function subresourceIntegrityTest(
  page: ObservatoryInput['page'],
  html: PageHtml | null,
  https: boolean,
): ObservatoryTestResult {
  const test = 'subresource-integrity';
  if (!html) return testResult(test, 'sri-not-implemented-response-not-html', true);
  if (html.scripts.length === 0) return testResult(test, 'sri-not-implemented-but-no-scripts-loaded', true);

  const pageDomain = registrableDomain(new URL(page.url).hostname);
  let result: string | null = null;
  let foreignScripts = false;
  const record = (candidate: string) => {
    if (
      result === null ||
      SRI_RESULTS_BEST_FIRST.indexOf(candidate) > SRI_RESULTS_BEST_FIRST.indexOf(result)
    ) {
      result = candidate;
    }
  };

  for (const script of html.scripts) {
    if (!script.src) continue;
    const protocolRelative = /^\/\/[^/]/.test(script.src);
    const absolute = /^https?:\/\//.test(script.src);
    const relative = !protocolRelative && !absolute;
    const sameDomain = relative || protocolRelative || sameRegistrableDomain(script.src, pageDomain);
    const sameOrigin = relative || (sameDomain && !protocolRelative);
    const secureScheme = absolute ? script.src.startsWith('https:') : relative && https;

    if (!sameOrigin) {
      foreignScripts = true;
      if (script.integrity && !secureScheme)
        record('sri-implemented-but-external-scripts-not-loaded-securely');
      else if (!script.integrity && secureScheme)
        record('sri-not-implemented-but-external-scripts-loaded-securely');
      else if (!script.integrity) record('sri-not-implemented-and-external-scripts-not-loaded-securely');
    } else if (script.integrity && secureScheme && result === null) {
      result = 'sri-implemented-and-all-scripts-loaded-securely';
    }
  }

  const data = html.scripts.filter((script) => script.src).length.toString();
  if (result !== null) {
    const pass = [
      'sri-implemented-and-all-scripts-loaded-securely',
      'sri-implemented-and-external-scripts-loaded-securely',
    ];
    return testResult(test, result, pass.includes(result), `${data} external script element(s)`);
  }
  return foreignScripts
    ? testResult(test, 'sri-implemented-and-external-scripts-loaded-securely', true)
    : testResult(test, 'sri-not-implemented-but-all-scripts-loaded-from-secure-origin', true);
}

/**
 * Returns the host's registrable domain, or null for an IP address or a single-label host.
 * NOTE: this takes the last two labels. The Observatory uses the public suffix list (tldts), so hosts
 * under a multi-label suffix such as example.co.uk or *.github.io can be grouped differently.
 */
function registrableDomain(hostname: string): string | null {
  if (/^[\d.]+$/.test(hostname) || hostname.includes(':') || hostname.startsWith('[')) return null;
  const labels = hostname.toLowerCase().split('.').filter(Boolean);
  if (labels.length < 2) return null;
  return labels.slice(-2).join('.');
}

function sameRegistrableDomain(src: string, pageDomain: string | null): boolean {
  try {
    return registrableDomain(new URL(src).hostname) === pageDomain;
  } catch {
    return false;
  }
}

function xContentTypeOptionsTest(headers: HeaderMap): ObservatoryTestResult {
  const test = 'x-content-type-options';
  const header = firstHeader(headers, 'x-content-type-options');
  if (header === undefined || header === '')
    return testResult(test, 'x-content-type-options-not-implemented', false);
  const data = header.slice(0, 256);
  if (data.trim().toLowerCase() === 'nosniff')
    return testResult(test, 'x-content-type-options-nosniff', true, data);
  return testResult(test, 'x-content-type-options-header-invalid', false, data);
}

function xFrameOptionsTest(headers: HeaderMap, cspFrameAncestors: boolean): ObservatoryTestResult {
  const test = 'x-frame-options';
  const header = firstHeader(headers, 'x-frame-options');
  const data = header?.slice(0, 1024);
  // frame-ancestors in the CSP takes over, whatever X-Frame-Options contains.
  if (cspFrameAncestors) return testResult(test, 'x-frame-options-implemented-via-csp', true, data);
  if (data === undefined || data === '') return testResult(test, 'x-frame-options-not-implemented', false);
  const value = data.trim().toLowerCase();
  if (value === 'deny' || value === 'sameorigin')
    return testResult(test, 'x-frame-options-sameorigin-or-deny', true, data);
  if (value.startsWith('allow-from'))
    return testResult(test, 'x-frame-options-allow-from-origin', true, data);
  return testResult(test, 'x-frame-options-header-invalid', false, data);
}

function crossOriginResourcePolicyTest(headers: HeaderMap): ObservatoryTestResult {
  const test = 'cross-origin-resource-policy';
  const header = firstHeader(headers, 'cross-origin-resource-policy');
  if (header === undefined || header === '') return testResult(test, 'corp-not-implemented', true);
  const value = header.slice(0, 256).trim().toLowerCase();
  if (value === 'same-site') return testResult(test, 'corp-implemented-with-same-site', true, value);
  if (value === 'same-origin') return testResult(test, 'corp-implemented-with-same-origin', true, value);
  if (value === 'cross-origin') return testResult(test, 'corp-implemented-with-cross-origin', true, value);
  return testResult(test, 'corp-header-invalid', false, value);
}
