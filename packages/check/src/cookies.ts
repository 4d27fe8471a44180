import { type Cookie, parseSetCookie } from 'set-cookie-parser';
import type { Finding } from './report.js';

/** Parses one Set-Cookie header value (never split on commas); null when it has no name=value pair. */
export function parseSetCookieHeader(header: string): Cookie | null {
  const [cookie] = parseSetCookie(header, { decodeValues: false, split: false });
  return cookie?.name ? cookie : null;
}

/** Cookie names that usually carry a session or a credential. */
const SESSION_NAME = /sess|sid|login|auth|jwt|remember/i;

/**
 * Lists the weaknesses of every Set-Cookie header seen: Secure, HttpOnly and SameSite, and the rules a
 * browser enforces for the __Secure- and __Host- prefixes (it drops a cookie that breaks them).
 */
export function cookieFindings(setCookies: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();

  for (const header of setCookies) {
    const cookie = parseSetCookieHeader(header);
    if (!cookie) continue;
    const name = cookie.name;
    const isSession = SESSION_NAME.test(name);
    const sameSite = cookie.sameSite?.trim().toLowerCase();
    const add = (finding: Omit<Finding, 'area'>) => {
      const key = `${finding.id}:${name}`;
      if (seen.has(key)) return;
      seen.add(key);
      findings.push({ area: 'cookies', ...finding });
    };
    // A cookie being deleted (Max-Age=0) carries no value worth protecting.
    if (cookie.maxAge !== undefined && cookie.maxAge <= 0) continue;

    if (!cookie.secure) {
      add({
        id: isSession ? 'cookies.session_without_secure' : 'cookies.without_secure',
        severity: isSession ? 'high' : 'medium',
        message: `Cookie ${name} is set without Secure, so a browser also sends it over plain HTTP.`,
        fix: 'Add the Secure attribute (serve the app over HTTPS).',
      });
    }
    if (!cookie.httpOnly) {
      add({
        id: isSession ? 'cookies.session_without_httponly' : 'cookies.without_httponly',
        severity: isSession ? 'high' : 'low',
        message: `Cookie ${name} is set without HttpOnly, so page scripts (and an XSS payload) can read it.`,
        fix: isSession
          ? 'Add HttpOnly to every session cookie.'
          : 'Add HttpOnly unless scripts must read this cookie.',
      });
    }
    if (sameSite === undefined) {
      add({
        id: 'cookies.without_samesite',
        severity: 'medium',
        message: `Cookie ${name} has no SameSite attribute; browsers disagree on the default (Lax or None).`,
        fix: 'Set SameSite=Lax (or Strict) explicitly.',
      });
    } else if (!['strict', 'lax', 'none'].includes(sameSite)) {
      add({
        id: 'cookies.samesite_invalid',
        severity: 'medium',
        message: `Cookie ${name} has SameSite=${cookie.sameSite}, which browsers ignore.`,
        fix: 'Use SameSite=Lax or SameSite=Strict.',
      });
    } else if (sameSite === 'none') {
      add({
        id: cookie.secure ? 'cookies.samesite_none' : 'cookies.samesite_none_without_secure',
        severity: cookie.secure ? 'medium' : 'high',
        message: cookie.secure
          ? `Cookie ${name} has SameSite=None, so browsers attach it to cross-site requests.`
          : `Cookie ${name} has SameSite=None without Secure, which browsers reject.`,
        fix: 'Use SameSite=Lax unless a cross-site embed needs this cookie.',
      });
    }
    for (const finding of prefixFindings(cookie)) add(finding);
    if (cookie.domain !== undefined && isSession) {
      add({
        id: 'cookies.session_domain_attribute',
        severity: 'low',
        message: `Session cookie ${name} sets Domain=${cookie.domain}, so every subdomain receives it.`,
        fix: 'Drop the Domain attribute (or use the __Host- prefix) to keep it on this host.',
      });
    }
  }
  return findings;
}

function prefixFindings(cookie: Cookie): Array<Omit<Finding, 'area'>> {
  const findings: Array<Omit<Finding, 'area'>> = [];
  const name = cookie.name;
  if (name.startsWith('__Secure-') && !cookie.secure) {
    findings.push({
      id: 'cookies.secure_prefix_without_secure',
      severity: 'high',
      message: `Cookie ${name} uses the __Secure- prefix without Secure, so browsers reject it.`,
      fix: 'Add the Secure attribute.',
    });
  }
  if (name.startsWith('__Host-')) {
    const problems: string[] = [];
    if (!cookie.secure) problems.push('no Secure');
    if (cookie.domain !== undefined) problems.push(`Domain=${cookie.domain}`);
    if (cookie.path !== '/') problems.push(cookie.path === undefined ? 'no Path=/' : `Path=${cookie.path}`);
    if (problems.length > 0) {
      findings.push({
        id: 'cookies.host_prefix_invalid',
        severity: 'high',
        message: `Cookie ${name} breaks the __Host- prefix rules (${problems.join(', ')}), so browsers reject it.`,
        fix: '__Host- cookies need Secure, Path=/ and no Domain attribute.',
      });
    }
  }
  // A case variant such as __host- is not a prefix: browsers apply no rule to it.
  const lower = name.toLowerCase();
  if (
    (lower.startsWith('__host-') && !name.startsWith('__Host-')) ||
    (lower.startsWith('__secure-') && !name.startsWith('__Secure-'))
  ) {
    findings.push({
      id: 'cookies.prefix_wrong_case',
      severity: 'low',
      message: `Cookie ${name} looks like a prefixed cookie, but the prefix is case-sensitive for older browsers.`,
      fix: 'Spell the prefix exactly __Host- or __Secure-.',
    });
  }
  return findings;
}
