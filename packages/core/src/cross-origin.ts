import { canonicalRequestOrigin, isTrustedOrigin, type OriginAllowlist, originFromHost } from './origin.js';

/**
 * The cross-origin layer of CSRF protection: a decision from the request's method, `Sec-Fetch-Site`
 * and `Origin` headers alone, with no token.
 *
 * 1. GET, HEAD and OPTIONS pass: they must not change state.
 * 2. With `Sec-Fetch-Site`, `same-origin` and `none` (typed in the address bar, a bookmark) pass.
 *    Any other value, `same-site` and `cross-site` included, is rejected unless the Origin is trusted.
 * 3. Without `Sec-Fetch-Site` (an older browser or a non-browser client), `Origin: null` is rejected, and
 *    an Origin is rejected unless it is the app's own origin or trusted. No Origin at all passes this
 *    layer: such a request comes from a non-browser client or a browser too old to send either header,
 *    and the session-bound token still applies to it.
 */

/** Methods that must not change state. Every other method, known or not, is checked. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the cross-origin check reads from a request and the configuration. */
export interface CrossOriginInput {
  /** The method on the request line. Method-override headers and `_method` fields are never consulted. */
  readonly method: string;
  /** The `Sec-Fetch-Site` header, if any. */
  readonly secFetchSite: string | undefined;
  /** The `Origin` header, if any. */
  readonly origin: string | undefined;
  /** The `Host` header (or the host a trusted proxy forwarded), used when `publicOrigin` is not set. */
  readonly host: string | undefined;
  /** `http` or `https`, as the proxy-trust setting decides it. */
  readonly protocol: string;
  /** The app's own origin in canonical form; when set, it replaces the origin built from `host`. */
  readonly publicOrigin: string | undefined;
  /** Other origins whose requests may change state, such as the front ends trusted for CORS. */
  readonly trustedOrigins: OriginAllowlist;
}

/** Why the cross-origin check rejected a request. */
export type CrossOriginRejectionReason = 'cross-site' | 'origin-mismatch' | 'origin-null';

/** The decision: allow, or reject with a reason. */
export type CrossOriginDecision =
  | { readonly allow: true }
  | { readonly allow: false; readonly reason: CrossOriginRejectionReason };

const ALLOW: CrossOriginDecision = Object.freeze({ allow: true });

/** Decides whether a request may go on to the token check and the route. */
export function checkCrossOrigin(input: CrossOriginInput): CrossOriginDecision {
  if (SAFE_METHODS.has(input.method)) return ALLOW;

  if (input.secFetchSite !== undefined) {
    if (input.secFetchSite === 'same-origin' || input.secFetchSite === 'none') return ALLOW;
    if (isTrustedOrigin(input.origin, input.trustedOrigins)) return ALLOW;
    return { allow: false, reason: 'cross-site' };
  }

  if (input.origin === undefined) return ALLOW;
  if (input.origin === 'null') return { allow: false, reason: 'origin-null' };

  const ownOrigin = input.publicOrigin ?? originFromHost(input.protocol, input.host);
  const requestOrigin = canonicalRequestOrigin(input.origin);
  if (requestOrigin !== undefined && requestOrigin === ownOrigin) return ALLOW;
  if (isTrustedOrigin(input.origin, input.trustedOrigins)) return ALLOW;
  return { allow: false, reason: 'origin-mismatch' };
}
