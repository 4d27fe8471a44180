import { isIP } from 'node:net';
import { parseSetCookieHeader } from '../cookies.js';
import {
  type HttpRequest,
  type HttpResponse,
  rawHeaderValues,
  sendRequest,
  type TlsSettings,
} from '../http.js';

/** Shared state of the probes: the target, the request settings and the cookies collected so far. */
export class ProbeContext {
  readonly target: URL;
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  readonly tls: TlsSettings;
  /** Cookie name to value, the latest Set-Cookie winning; sent back so a session exists. */
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie header value received, in order, for the cookie findings. */
  readonly seenSetCookies: string[] = [];

  constructor(target: URL, timeoutMs: number, maxRedirects: number, tls: TlsSettings) {
    this.target = target;
    this.timeoutMs = timeoutMs;
    this.maxRedirects = maxRedirects;
    this.tls = tls;
  }

  /** The target's origin, for example `http://127.0.0.1:3000`. */
  get origin(): string {
    return this.target.origin;
  }

  /** Resolves a path against the target. Callers have already checked that it stays on the target's origin. */
  url(path: string): string {
    return new URL(path, this.target).href;
  }

  /** Sends one request to the target's host with the run's timeout and TLS settings. */
  send(request: Omit<HttpRequest, 'timeoutMs' | 'tls'>, withCookies = true): Promise<HttpResponse> {
    const headers = { ...request.headers };
    const cookie = this.cookieHeader();
    if (withCookies && cookie) headers.cookie = cookie;
    return sendRequest({ ...request, headers, timeoutMs: this.timeoutMs, tls: this.tls });
  }

  /** Stores the cookies a response sets, so later probe requests carry them. */
  remember(response: HttpResponse): void {
    for (const header of rawHeaderValues(response, 'set-cookie')) {
      this.seenSetCookies.push(header);
      const cookie = parseSetCookieHeader(header);
      if (!cookie) continue;
      if (cookie.maxAge !== undefined && cookie.maxAge <= 0) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
  }

  /** Builds the Cookie header of the stored cookies; returns undefined when there are none. */
  cookieHeader(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** A request method and path, written `METHOD:/path` or `/path`. */
export interface MethodPath {
  method: string;
  path: string;
}

/** An origin no allowlist should accept; `kind` names how it was derived. */
export interface UntrustedOrigin {
  kind: string;
  origin: string;
}

/** A host an attacker can register or control, used for the unrelated origin. */
export const ATTACKER_ORIGIN = 'https://attacker.example';

/** Most dots of one host replaced by a letter: the first two and the last two when a host has more. */
export const MAX_DOT_LOOKALIKES = 4;

/**
 * Derives untrusted origins from the target and from each trusted origin: the host with a suffix
 * (`host.evil.test`), with a prefix (`evilhost`), a subdomain, the other scheme, another port, each dot
 * replaced by a letter (`appxexample.com`, what an unescaped `.` in a pattern accepts), the host cut
 * short by one character (`app.example.co`, what a substring test on a list accepts), `null` and an
 * unrelated origin. These are what a loose allowlist (regex, endsWith, startsWith, includes) lets
 * through. An IP address gets no name-based lookalike that is no valid origin: an IPv4 address keeps
 * the suffix, an IPv6 address only the other scheme and port. Per base origin at most
 * 5 + MAX_DOT_LOOKALIKES + 1 = 10, plus the 2 shared ones; candidates that are no valid origin are dropped.
 */
export function untrustedOrigins(target: URL, trustedOrigins: readonly string[]): UntrustedOrigin[] {
  const bases = [target.origin, ...trustedOrigins];
  const candidates: UntrustedOrigin[] = [];
  for (const base of bases) {
    const url = new URL(base);
    const scheme = url.protocol;
    const port = url.port ? `:${url.port}` : '';
    const label = base === target.origin ? 'target' : base;
    const defaultPort = scheme === 'https:' ? 443 : 80;
    const effectivePort = url.port ? Number(url.port) : defaultPort;
    const otherPort = effectivePort === 65535 ? effectivePort - 1 : effectivePort + 1;
    const otherScheme = scheme === 'https:' ? 'http:' : 'https:';
    const ipFamily = ipVersion(url.hostname);
    // A suffix keeps an IPv4 address a valid host (`127.0.0.1.evil.test`, a name anyone owning
    // evil.test can point anywhere). A prefix or a subdomain of an IPv4 address, and any name built
    // around a bracketed IPv6 address, is no valid host, so no browser can send it as an Origin.
    if (ipFamily !== 6) {
      candidates.push({
        kind: `suffix added to ${label}`,
        origin: `${scheme}//${url.hostname}.evil.test${port}`,
      });
    }
    if (ipFamily === 0) {
      candidates.push(
        { kind: `prefix added to ${label}`, origin: `${scheme}//evil${url.hostname}${port}` },
        { kind: `subdomain of ${label}`, origin: `${scheme}//evil.${url.hostname}${port}` },
      );
    }
    candidates.push(
      { kind: `other scheme than ${label}`, origin: `${otherScheme}//${url.host}` },
      { kind: `other port than ${label}`, origin: `${scheme}//${url.hostname}:${otherPort}` },
    );
    if (ipFamily !== 0) continue;
    // A one-label host (localhost) has no lookalike anyone could register.
    if (!url.hostname.includes('.')) continue;
    for (const host of dotLookalikes(url.hostname)) {
      candidates.push({ kind: `dot replaced in ${label}`, origin: `${scheme}//${host}${port}` });
    }
    candidates.push({
      kind: `${label} cut short`,
      origin: `${scheme}//${url.hostname.slice(0, -1)}${port}`,
    });
  }
  candidates.push(
    { kind: 'null origin', origin: 'null' },
    { kind: 'unrelated origin', origin: ATTACKER_ORIGIN },
  );

  const trusted = new Set([target.origin, ...trustedOrigins]);
  const seen = new Set<string>();
  return candidates.flatMap((candidate) => {
    const origin = candidate.origin === 'null' ? 'null' : serializedOrigin(candidate.origin);
    if (origin === null || trusted.has(origin) || seen.has(origin)) return [];
    seen.add(origin);
    return [{ kind: candidate.kind, origin }];
  });
}

/**
 * The host with one dot replaced by `x`, once per dot: `app.example.com` gives `appxexample.com` and
 * `app.examplexcom`. A host with more than MAX_DOT_LOOKALIKES dots gets its first two and last two.
 */
function dotLookalikes(hostname: string): string[] {
  const dots: number[] = [];
  for (let i = hostname.indexOf('.'); i !== -1; i = hostname.indexOf('.', i + 1)) dots.push(i);
  const half = MAX_DOT_LOOKALIKES / 2;
  const chosen = dots.length <= MAX_DOT_LOOKALIKES ? dots : [...dots.slice(0, half), ...dots.slice(-half)];
  return chosen.map((index) => `${hostname.slice(0, index)}x${hostname.slice(index + 1)}`);
}

/**
 * Returns the origin as a browser writes it (`https://host:443` becomes `https://host`), or null when it
 * is no valid URL, so no browser could send it as an Origin header.
 */
function serializedOrigin(origin: string): string | null {
  try {
    return new URL(origin).origin;
  } catch {
    return null;
  }
}

/** Returns 4 or 6 for an IPv4 or a bracketed IPv6 address (URL.hostname's spelling), 0 for a name. */
function ipVersion(hostname: string): number {
  return isIP(hostname.replace(/^\[(.*)\]$/, '$1'));
}
