/**
 * Cookie attribute rules that browsers enforce (RFC 6265bis: the `__Host-` and `__Secure-` name prefixes,
 * SameSite=None only with Secure), checked before a cookie is ever sent, plus the strength check of a
 * cookie-signing secret and the loopback test that decides where a Secure cookie may travel over plain HTTP.
 */

import { MIN_SECRET_BYTES, MIN_SECRET_DISTINCT_CHARACTERS } from './audit.js';

/** The attributes of a Set-Cookie header that the prefix and SameSite rules look at. */
export interface CookieAttributes {
  /** The Secure attribute. */
  secure: boolean;
  /** The Path attribute. */
  path: string;
  /** The Domain attribute; undefined for a host-only cookie. */
  domain?: string | undefined;
  /** The SameSite attribute. */
  sameSite: 'strict' | 'lax' | 'none';
}

// RFC 6265 section 4.1.1: a cookie name is an RFC 7230 token.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Checks a cookie's name and attributes against the rules browsers enforce. Returns the problem as a
 * sentence, or undefined when a browser would store the cookie. Browsers match the prefixes
 * case-insensitively (RFC 6265bis), so `__host-sid` is held to the same rules as `__Host-sid`.
 */
export function cookieAttributeProblem(name: string, attributes: CookieAttributes): string | undefined {
  if (!COOKIE_NAME.test(name)) {
    return 'a cookie name must be a non-empty token: letters, digits and !#$%&\'*+-.^_`|~, without spaces, "=", ";" or ","';
  }
  if (!attributes.path.startsWith('/')) return 'the Path attribute must start with "/"';

  const lowerName = name.toLowerCase();
  if (lowerName.startsWith('__host-')) {
    if (!attributes.secure) return 'a __Host- cookie must be Secure';
    if (attributes.path !== '/') return 'a __Host- cookie must have Path=/';
    if (attributes.domain !== undefined) return 'a __Host- cookie must not have a Domain attribute';
  }
  if (lowerName.startsWith('__secure-') && !attributes.secure) return 'a __Secure- cookie must be Secure';
  if (attributes.sameSite === 'none' && !attributes.secure) return 'a SameSite=None cookie must be Secure';
  return undefined;
}

/** Tells whether a cookie name carries the `__Host-` or `__Secure-` prefix, which both demand Secure. */
export function hasSecureCookiePrefix(name: string): boolean {
  const lowerName = name.toLowerCase();
  return lowerName.startsWith('__host-') || lowerName.startsWith('__secure-');
}

/**
 * Checks a cookie-signing secret. Returns the problem as a sentence that never contains the secret, or
 * undefined when the secret is long and varied enough. The limits are the deploy audit's: at least
 * MIN_SECRET_BYTES bytes of UTF-8 and MIN_SECRET_DISTINCT_CHARACTERS distinct characters.
 */
export function signingSecretProblem(secret: string): string | undefined {
  const bytes = new TextEncoder().encode(secret).length;
  if (bytes < MIN_SECRET_BYTES) {
    return `it is ${bytes} ${bytes === 1 ? 'byte' : 'bytes'} long, shorter than the minimum of ${MIN_SECRET_BYTES} bytes`;
  }
  const distinct = new Set(secret).size;
  if (distinct < MIN_SECRET_DISTINCT_CHARACTERS) {
    return `it has only ${distinct} distinct ${distinct === 1 ? 'character' : 'characters'}, fewer than the minimum of ${MIN_SECRET_DISTINCT_CHARACTERS}, so it looks like a placeholder rather than random bytes`;
  }
  return undefined;
}

/**
 * Tells whether a host name is a loopback name that browsers treat as a secure context over plain HTTP
 * ("potentially trustworthy" in the W3C Secure Contexts spec): `localhost`, `*.localhost`, 127.0.0.0/8
 * and `::1`. Chromium accepts Secure and `__Host-` cookies from such an origin without TLS.
 */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '[::1]' || host === '::1') return true;
  return isLoopbackIPv4(host);
}

/** Tells whether a socket's remote address is a loopback address (127.0.0.0/8, ::1, or 127.x mapped into IPv6). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (address === '::1') return true;
  const mapped = address.toLowerCase().startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return isLoopbackIPv4(mapped);
}

function isLoopbackIPv4(text: string): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  if (!parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return false;
  return parts[0] === '127';
}
