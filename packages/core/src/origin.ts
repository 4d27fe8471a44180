import { HardenConfigError } from './errors.js';

/**
 * Origins: scheme, host and port, as the `Origin` request header carries them.
 *
 * A browser writes the Origin header in the URL Standard's ASCII serialization: lower-case scheme and
 * host, an internationalized host in punycode (`xn--`), no default port, no path and no trailing
 * slash. Configured origins are normalized to that form once, so `https://Bücher.Example:443` is
 * stored as `https://xn--bcher-kva.example`. A request's Origin header is then compared byte for byte
 * with the stored form. A header in any other spelling (upper case, raw Unicode, an explicit default
 * port, percent-encoding) never matches. No browser sends such a spelling, so only a hand-made request
 * carries one, and CORS and the CSRF check exist to constrain browsers, not such clients.
 */

/** Schemes an origin may have. Any other scheme is refused in configuration and never matches. */
const WEB_SCHEMES = new Set(['http:', 'https:']);

/** `scheme://authority` and nothing after it: no path, query, fragment or trailing slash. */
const ORIGIN_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)$/;

/** Trusted origins, in canonical form, and an optional pattern over the canonical form. */
export interface OriginAllowlist {
  /** Exact origins in the ASCII serialization, such as `https://app.example`. */
  readonly origins: ReadonlySet<string>;
  /**
   * A pattern that a whole canonical origin must match, already anchored at both ends. Default: none.
   * Only an option named `dangerously...` sets one.
   */
  readonly pattern: RegExp | undefined;
}

/** An allowlist that trusts no origin. */
export const EMPTY_ORIGIN_ALLOWLIST: OriginAllowlist = Object.freeze({
  origins: new Set<string>(),
  pattern: undefined,
});

/**
 * Validates one configured origin and returns its canonical form. Throws HardenConfigError, naming
 * `option`, for `*` or a `*` anywhere in it, `null`, a non-http(s) scheme, userinfo, a path, query,
 * fragment or trailing slash, whitespace, an empty host or a host that ends in a dot. `patternOption`
 * names the option that takes a pattern, for the fix of an origin with a `*` in it.
 */
export function normalizeConfiguredOrigin(value: unknown, option: string, patternOption?: string): string {
  if (typeof value !== 'string') {
    throw new HardenConfigError(
      option,
      value,
      'an origin must be a string',
      "write it as 'https://app.example'",
    );
  }
  if (value === '*') {
    throw new HardenConfigError(
      option,
      value,
      'a wildcard trusts every site on the web',
      "list each origin exactly, such as 'https://app.example'",
    );
  }
  if (value.includes('*')) {
    // `https://*.app.example` would be kept as a literal host that no browser ever sends as its Origin.
    const pattern =
      patternOption === undefined ? '' : `, or give a RegExp for the subdomains in ${patternOption}`;
    throw new HardenConfigError(
      option,
      value,
      'a * in an origin is not a wildcard: the origin would match only a request whose Origin header contains the * itself, so it trusts no real site',
      `list each origin exactly, such as 'https://a.app.example'${pattern}`,
    );
  }
  if (value.trim().toLowerCase() === 'null') {
    throw new HardenConfigError(
      option,
      value,
      "the 'null' origin is shared by sandboxed iframes, data: URLs and local files, so any site can send it",
      "remove 'null' and list the real origins of the front end",
    );
  }
  if (/\s/.test(value)) {
    throw new HardenConfigError(option, value, 'the origin contains whitespace', 'remove the whitespace');
  }

  const shape = ORIGIN_SHAPE.exec(value);
  if (!shape) {
    throw new HardenConfigError(
      option,
      value,
      'an origin is only scheme, host and port, with no path, query, fragment or trailing slash',
      `write it as '${originPrefixOf(value)}'`,
    );
  }
  const scheme = `${shape[1]?.toLowerCase()}:`;
  const authority = shape[2] ?? '';
  if (!WEB_SCHEMES.has(scheme)) {
    throw new HardenConfigError(
      option,
      value,
      `the scheme ${scheme} is not http: or https:`,
      'use an http or https origin',
    );
  }
  if (authority.includes('@')) {
    throw new HardenConfigError(
      option,
      value,
      'the origin contains userinfo (user@), which browsers never send and which hides the real host',
      'remove the part before @',
    );
  }

  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HardenConfigError(
      option,
      value,
      'the origin is not a valid URL',
      "write it as 'https://app.example'",
    );
  }
  if (url.hostname === '') {
    throw new HardenConfigError(option, value, 'the host is empty', "write it as 'https://app.example'");
  }
  if (url.hostname.endsWith('.')) {
    throw new HardenConfigError(
      option,
      value,
      'the host ends in a dot, which makes it a different origin from the host without the dot',
      `remove the trailing dot: '${url.origin.replace(/\.(?=(:\d+)?$)/, '')}'`,
    );
  }
  return url.origin;
}

/**
 * Returns the request's Origin header when it is a canonical http(s) origin, as browsers send it, and
 * undefined otherwise: absent, `null`, several origins joined by a comma, another spelling of an
 * origin, or anything that is not an origin.
 */
export function canonicalRequestOrigin(header: string | undefined): string | undefined {
  if (header === undefined || !ORIGIN_SHAPE.test(header)) return undefined;
  let url: URL;
  try {
    url = new URL(header);
  } catch {
    return undefined;
  }
  if (!WEB_SCHEMES.has(url.protocol) || url.origin !== header) return undefined;
  return header;
}

/**
 * Builds the canonical origin of a request from its protocol and Host header, or returns undefined
 * when the host is missing or is not a plain `host[:port]`.
 */
export function originFromHost(protocol: string, host: string | undefined): string | undefined {
  const scheme = protocol.toLowerCase().replace(/:$/, '');
  if (!host || (scheme !== 'http' && scheme !== 'https')) return undefined;
  if (/[\s/?#@\\]/.test(host)) return undefined;
  try {
    const url = new URL(`${scheme}://${host}`);
    return url.hostname === '' ? undefined : url.origin;
  } catch {
    return undefined;
  }
}

/**
 * Validates configured origins and an optional pattern and returns the allowlist. `option` names the
 * list in errors (`cors.origins`), `patternOption` the pattern. The pattern is wrapped as
 * `^(?:pattern)$`, so it must match a whole origin. The `g` and `y` flags are rejected because they make
 * `test()` depend on the previous call.
 */
export function createOriginAllowlist(
  origins: readonly unknown[],
  option: string,
  pattern?: RegExp,
  patternOption = `${option}Pattern`,
): OriginAllowlist {
  const normalized = new Set<string>();
  origins.forEach((origin, index) => {
    normalized.add(normalizeConfiguredOrigin(origin, `${option}[${index}]`, patternOption));
  });
  return {
    origins: normalized,
    pattern: pattern === undefined ? undefined : anchorPattern(pattern, patternOption),
  };
}

/** Tells whether the request's Origin header is a canonical origin that the allowlist trusts. */
export function isTrustedOrigin(header: string | undefined, allowlist: OriginAllowlist): boolean {
  const origin = canonicalRequestOrigin(header);
  if (origin === undefined) return false;
  if (allowlist.origins.has(origin)) return true;
  return allowlist.pattern?.test(origin) === true;
}

function anchorPattern(pattern: unknown, option: string): RegExp {
  if (!(pattern instanceof RegExp)) {
    throw new HardenConfigError(
      option,
      pattern,
      'the pattern must be a RegExp',
      'pass a RegExp such as /https:\\/\\/[a-z0-9-]+\\.app\\.example/',
    );
  }
  if (pattern.global || pattern.sticky) {
    throw new HardenConfigError(
      option,
      pattern,
      'the g and y flags make test() remember where the last match ended, so the same origin can pass once and fail next time',
      'remove the g and y flags',
    );
  }
  return new RegExp(`^(?:${pattern.source})$`, pattern.flags);
}

/** Best guess at what the user meant, for the fix of a malformed origin. */
function originPrefixOf(value: string): string {
  try {
    const url = new URL(value);
    const clean = url.username === '' && url.password === '' && url.hostname !== '';
    if (WEB_SCHEMES.has(url.protocol) && clean) return url.origin;
  } catch {
    // Falls through to the generic example.
  }
  return 'https://app.example';
}
