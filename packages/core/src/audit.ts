import { isLoopbackHostname } from './cookies.js';
import type { CspDirectives } from './csp.js';

/**
 * The deploy audit: effective options in, findings out, in the spirit of Django's `check --deploy`.
 * It takes plain data and performs no I/O, so any adapter can feed it and a test can call it directly.
 * A finding with severity `error` stops a production start-up; `warning` and `info` are only logged.
 */

/** Severity of a finding. */
export type AuditSeverity = 'error' | 'warning' | 'info';

/** One problem of the effective configuration, with the fix. */
export interface AuditFinding {
  /** Stable identifier, such as `session-secret-short`. */
  readonly id: string;
  readonly severity: AuditSeverity;
  /** Description of the problem and why it matters. Never quotes a secret. */
  readonly message: string;
  /** The change that removes the finding. */
  readonly fix: string;
}

/** The effective configuration the audit reads. Every field is optional: a missing part is not audited. */
export interface AuditInput {
  /** Session signing secrets, newest first. An empty list or undefined means sessions are off. */
  readonly sessionSecrets?: readonly string[];
  readonly cors?: {
    /** Exact trusted origins. `*` in the list means any origin. */
    readonly origins: readonly string[];
    readonly credentials: boolean;
    /** True when every request origin is reflected back as trusted. */
    readonly reflectsAnyOrigin?: boolean;
    /** Source of a trusted-origin pattern, if one is set. */
    readonly pattern?: string;
  };
  /** CSP directives as name to source list, or false when the Content-Security-Policy header is off. */
  readonly contentSecurityPolicy?: CspDirectives | false;
  readonly https?: {
    /** True when plain HTTP requests are redirected to HTTPS. */
    readonly forceHttps: boolean;
    /** True when Strict-Transport-Security is sent over HTTPS. */
    readonly hsts: boolean;
    /**
     * True when the redirect's target host is fixed by configuration (the app's origin or a host
     * allowlist) rather than taken from the request's Host header. Default: true.
     */
    readonly redirectHostPinned?: boolean;
  };
  /** Kind of the store that keeps sessions and rate-limit counters. */
  readonly store?: 'memory' | 'sqlite' | 'redis';
  /** How many instances of the app run at once. Default: 1. */
  readonly instances?: number;
  /** Fastify's trustProxy setting as configured (a function is passed as the string `function`). */
  readonly trustProxy?: boolean | number | string | readonly string[];
  /** Routes whose unsafe methods skip the CSRF check, as `METHOD /url`. */
  readonly csrfDisabledRoutes?: readonly string[];
}

/** Minimum session secret length, in bytes of UTF-8. */
export const MIN_SECRET_BYTES = 32;

/** Minimum number of distinct characters in a session secret. `aaaa...` or a repeated word has fewer. */
export const MIN_SECRET_DISTINCT_CHARACTERS = 10;

/** Runs every check and returns the findings, errors first. */
export function auditConfiguration(input: AuditInput): AuditFinding[] {
  const findings = [
    ...auditSessionSecrets(input.sessionSecrets),
    ...auditCors(input.cors),
    ...auditContentSecurityPolicy(input.contentSecurityPolicy),
    ...auditHttps(input.https),
    ...auditStore(input.store, input.instances ?? 1),
    ...auditTrustProxy(input.trustProxy),
    ...auditCsrf(input.csrfDisabledRoutes ?? []),
  ];
  const rank: Record<AuditSeverity, number> = { error: 0, warning: 1, info: 2 };
  return findings.sort((a, b) => rank[a.severity] - rank[b.severity]);
}

function auditSessionSecrets(secrets: readonly string[] | undefined): AuditFinding[] {
  const findings: AuditFinding[] = [];
  (secrets ?? []).forEach((secret, index) => {
    const name = index === 0 ? 'the session secret' : `session secret number ${index + 1}`;
    const bytes = Buffer.byteLength(secret, 'utf8');
    if (bytes < MIN_SECRET_BYTES) {
      findings.push({
        id: 'session-secret-short',
        severity: 'error',
        message: `${name} is ${bytes} bytes long, shorter than ${MIN_SECRET_BYTES}, so its signature can be brute-forced`,
        fix: "generate one with `node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\"`",
      });
    }
    const distinct = new Set(secret).size;
    if (distinct < MIN_SECRET_DISTINCT_CHARACTERS) {
      findings.push({
        id: 'session-secret-low-variety',
        severity: 'error',
        message: `${name} contains only ${distinct} distinct characters, so it is a pattern rather than a random value`,
        fix: 'replace it with random bytes, such as 32 bytes from crypto.randomBytes encoded as base64url',
      });
    }
  });
  return findings;
}

function auditCors(cors: AuditInput['cors']): AuditFinding[] {
  if (!cors) return [];
  const findings: AuditFinding[] = [];
  if (cors.credentials && cors.origins.includes('*')) {
    findings.push({
      id: 'cors-wildcard-with-credentials',
      severity: 'error',
      message:
        "CORS trusts every origin (*) with credentials, so any website can read responses made with the user's cookies",
      fix: 'list the exact origins of your front ends',
    });
  }
  if (cors.credentials && cors.reflectsAnyOrigin) {
    findings.push({
      id: 'cors-reflect-with-credentials',
      severity: 'error',
      message:
        "CORS reflects any request origin with credentials, so any website can read responses made with the user's cookies",
      fix: 'list the exact origins of your front ends',
    });
  }
  for (const origin of cors.credentials ? cors.origins : []) {
    if (!origin.startsWith('http://') || isLoopbackOrigin(origin)) continue;
    findings.push({
      id: 'cors-plain-http-origin',
      severity: 'warning',
      message: `CORS trusts ${origin} with credentials over plain HTTP, so anyone on the network path can inject a script into that origin and read the user's responses`,
      fix: `serve that front end over HTTPS and list ${origin.replace('http://', 'https://')} instead`,
    });
  }
  if (cors.pattern !== undefined) {
    findings.push({
      id: 'cors-origin-pattern',
      severity: 'info',
      message: `CORS also trusts every origin matching the pattern ${cors.pattern}, so a mistake in it trusts foreign sites`,
      fix: "prefer an exact list of origins; keep the pattern's dots escaped and its host suffix fixed",
    });
  }
  return findings;
}

function auditContentSecurityPolicy(policy: AuditInput['contentSecurityPolicy']): AuditFinding[] {
  if (policy === undefined) return [];
  if (policy === false) {
    return [
      {
        id: 'csp-off',
        severity: 'warning',
        message: 'the Content-Security-Policy header is off, so an injected script runs unhindered',
        fix: 'keep the default policy and relax single directives per route instead',
      },
    ];
  }

  // Browsers fall back to default-src when script-src is absent.
  const directive = policy['script-src'] !== undefined ? 'script-src' : 'default-src';
  const value = policy[directive];
  if (!Array.isArray(value)) {
    return [
      {
        id: 'csp-no-script-src',
        severity: 'warning',
        message:
          'the Content-Security-Policy has neither script-src nor default-src, so it allows scripts from anywhere',
        fix: "set script-src to 'self' with a nonce",
      },
    ];
  }

  const sources = value.map((source) => source.toLowerCase());
  const findings: AuditFinding[] = [];
  if (sources.includes("'unsafe-inline'")) {
    // CSP level 2 browsers ignore 'unsafe-inline' when a nonce or hash is present, but older ones do not.
    const neutralized = sources.some((source) => /^'(nonce-|sha256-|sha384-|sha512-)/.test(source));
    findings.push({
      id: 'csp-unsafe-inline',
      severity: neutralized ? 'warning' : 'error',
      message: neutralized
        ? `${directive} contains 'unsafe-inline'; current browsers ignore it next to a nonce or hash, but older ones run every inline script`
        : `${directive} contains 'unsafe-inline', so any injected inline script runs`,
      fix: "remove 'unsafe-inline' and give each inline script the response's nonce",
    });
  }
  if (sources.includes("'unsafe-eval'")) {
    findings.push({
      id: 'csp-unsafe-eval',
      severity: 'warning',
      message: `${directive} contains 'unsafe-eval', so strings that reach eval(), new Function() or string timers run as code`,
      fix: "remove 'unsafe-eval' and replace the code that builds scripts from strings",
    });
  }
  return findings;
}

function auditHttps(https: AuditInput['https']): AuditFinding[] {
  if (!https?.forceHttps) return [];
  const findings: AuditFinding[] = [];
  if (!https.hsts) {
    findings.push({
      id: 'hsts-off-with-https',
      severity: 'warning',
      message:
        'HTTPS is forced but Strict-Transport-Security is off, so every first plain-HTTP request can be intercepted before the redirect',
      fix: 'turn HSTS on (max-age of at least one year), or confirm that a proxy in front sends it',
    });
  }
  if (https.redirectHostPinned === false) {
    findings.push({
      id: 'https-redirect-host-from-request',
      severity: 'error',
      message:
        "HTTPS is forced but the redirect's host is taken from the request's Host header, so a forged Host sends the redirect to another site, and a shared cache can keep that redirect for every visitor",
      fix: "set the plugin's origin option to the app's public origin, or list the app's host names in https.redirectHosts",
    });
  }
  return findings;
}

function auditStore(store: AuditInput['store'], instances: number): AuditFinding[] {
  if (instances <= 1 || store === undefined || store === 'redis') return [];
  if (store === 'memory') {
    return [
      {
        id: 'memory-store-multiple-instances',
        severity: 'error',
        message: `${instances} instances each keep their own in-memory store, so every rate limit is multiplied by ${instances} and sessions are not shared`,
        fix: 'use the Redis store: store: { redis: process.env.REDIS_URL }',
      },
    ];
  }
  return [
    {
      id: 'sqlite-store-multiple-instances',
      severity: 'warning',
      message: `${instances} instances share sessions and rate limits only if they run on one machine with one SQLite file`,
      fix: 'use the Redis store when the instances run on more than one machine',
    },
  ];
}

function auditTrustProxy(trustProxy: AuditInput['trustProxy']): AuditFinding[] {
  if (trustProxy === true) {
    return [
      {
        id: 'trust-proxy-all',
        severity: 'error',
        message:
          'trustProxy is true, so every hop is trusted: any client can set X-Forwarded-For and X-Forwarded-Proto to pick its rate-limit key and fake HTTPS',
        fix: "set trustProxy to the addresses or CIDRs of the proxies in front, such as '10.0.0.5' or '10.0.0.0/24'",
      },
    ];
  }
  if (typeof trustProxy === 'number') {
    return [
      {
        id: 'trust-proxy-hop-count',
        severity: 'error',
        message: `trustProxy is the hop count ${trustProxy}, which Fastify 5 ignores, so the app trusts no proxy: client addresses and HTTPS detection fall back to the proxy's`,
        fix: "set trustProxy to the addresses or CIDRs of the proxies in front, such as '10.0.0.5' or '10.0.0.0/24', or to false when there is no proxy",
      },
    ];
  }
  const entries = trustedEntries(trustProxy);
  const ranges = entries.flatMap((entry) => {
    const range = parseAddressRange(entry);
    return range ? [range] : [];
  });
  if (ranges.length === 0) return [];

  const covered = coveredSpaces(ranges);
  if (covered.length > 0) {
    return [
      {
        id: 'trust-proxy-all-addresses',
        severity: 'error',
        message: `trustProxy lists ${ranges.map((range) => range.entry).join(', ')}, which together cover every ${covered.join(' and every ')} address, so every client is a trusted proxy: it can set X-Forwarded-For and X-Forwarded-Proto to pick its rate-limit key and fake HTTPS`,
        fix: 'list only the addresses of your proxies, or their subnet, such as 10.0.0.5 or 10.1.0.0/16',
      },
    ];
  }

  const findings: AuditFinding[] = [];
  for (const range of ranges) {
    if (range.prefix < (range.family === 4 ? BROAD_IPV4_PREFIX : BROAD_IPV6_PREFIX)) {
      findings.push({
        id: 'trust-proxy-broad-range',
        severity: 'warning',
        message: `trustProxy trusts ${range.entry}, a range broader than /${range.family === 4 ? BROAD_IPV4_PREFIX : BROAD_IPV6_PREFIX} for ${range.family === 4 ? 'IPv4' : 'IPv6'}, so any client inside it can set X-Forwarded-For and X-Forwarded-Proto`,
        fix: 'list only the addresses of your proxies, or their subnet, such as 10.0.0.5 or 10.1.0.0/16',
      });
    } else if (range.start !== range.end && !isNonPublic(range)) {
      findings.push({
        id: 'trust-proxy-public-range',
        severity: 'warning',
        message: `trustProxy trusts ${range.entry}, a range of public addresses, so any client at one of them can set X-Forwarded-For and X-Forwarded-Proto`,
        fix: "keep public ranges only when every address in them is a proxy you use, such as a CDN's published ranges; otherwise list the proxies' own addresses",
      });
    }
  }
  return findings;
}

/** Shortest IPv4 prefix the trustProxy check accepts without a warning: 10.0.0.0/8 is the largest private network. */
const BROAD_IPV4_PREFIX = 8;
/** Shortest IPv6 prefix the trustProxy check accepts without a warning: a /32 is a whole provider's allocation. */
const BROAD_IPV6_PREFIX = 32;

/** A trusted address range as an interval of 128-bit numbers, IPv4 placed in ::ffff:0:0/96. */
interface AddressRange {
  readonly entry: string;
  /** The family the range is measured in: an IPv6 range inside ::ffff:0:0/96 trusts IPv4 peers. */
  readonly family: 4 | 6;
  /** Prefix length in that family. */
  readonly prefix: number;
  readonly start: bigint;
  readonly end: bigint;
}

const IPV4_MAPPED_START = 0xffffn << 32n;
const IPV4_MAPPED_END = IPV4_MAPPED_START + 0xffff_ffffn;
const IPV6_END = (1n << 128n) - 1n;

/** Ranges that hold no public address: private, loopback, link-local, shared (CGNAT) and unique-local. */
const NON_PUBLIC_RANGES = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '100.64.0.0/10',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
].map((entry) => parseAddressRange(entry) as AddressRange);

/** The entries of a trustProxy list or comma-separated string; a function has none. */
function trustedEntries(trustProxy: AuditInput['trustProxy']): string[] {
  if (typeof trustProxy === 'string') return trustProxy === 'function' ? [] : trustProxy.split(',');
  if (Array.isArray(trustProxy)) return trustProxy.flatMap((entry: string) => entry.split(','));
  return [];
}

/**
 * Parses `address` or `address/prefix` (dotted IPv4 or IPv6) into an interval. Returns undefined for
 * anything else, such as proxy-addr's names (`loopback`) or netmask spelling, which are not checked.
 */
function parseAddressRange(text: string): AddressRange | undefined {
  const entry = text.trim();
  const [address = '', prefixText, extra] = entry.split('/');
  if (extra !== undefined || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))) return undefined;
  const ipv4 = parseIpv4(address);
  const value = ipv4 === undefined ? parseIpv6(address) : IPV4_MAPPED_START | ipv4;
  if (value === undefined) return undefined;
  const bits = ipv4 === undefined ? 128 : 32;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return undefined;
  const hostBits = BigInt(bits - prefix);
  const start = (value >> hostBits) << hostBits;
  const end = start + (1n << hostBits) - 1n;
  // An IPv6 range at or inside the IPv4-mapped block is an IPv4 range for proxy-addr.
  if (start >= IPV4_MAPPED_START && end <= IPV4_MAPPED_END) {
    return { entry, family: 4, prefix: ipv4 === undefined ? prefix - 96 : prefix, start, end };
  }
  return { entry, family: ipv4 === undefined ? 6 : 4, prefix, start, end };
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255))
    return undefined;
  return parts.reduce((value, part) => (value << 8n) | BigInt(part), 0n);
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-f:.]+$/i.test(text) || text.split('::').length > 2) return undefined;
  let groups = text;
  const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const ipv4 = parseIpv4(tail[2] ?? '');
    if (ipv4 === undefined) return undefined;
    groups = `${tail[1]}${(ipv4 >> 16n).toString(16)}:${(ipv4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = groups.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - headGroups.length - restGroups.length;
  if (rest === undefined ? missing !== 0 : missing < 1) return undefined;
  const all = [...headGroups, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...restGroups];
  if (!all.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return undefined;
  return all.reduce((value, group) => (value << 16n) | BigInt(`0x${group}`), 0n);
}

/** Names the address spaces (`IPv4`, `IPv6`) that the ranges cover completely. */
function coveredSpaces(ranges: readonly AddressRange[]): string[] {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const covers = (low: bigint, high: bigint): boolean => {
    let next = low;
    for (const range of sorted) {
      if (range.start > next) break;
      if (range.end >= next) next = range.end + 1n;
      if (next > high) return true;
    }
    return false;
  };
  const spaces: string[] = [];
  if (covers(IPV4_MAPPED_START, IPV4_MAPPED_END)) spaces.push('IPv4');
  if (covers(0n, IPV4_MAPPED_START - 1n) && covers(IPV4_MAPPED_END + 1n, IPV6_END)) spaces.push('IPv6');
  return spaces;
}

function isNonPublic(range: AddressRange): boolean {
  return NON_PUBLIC_RANGES.some((block) => range.start >= block.start && range.end <= block.end);
}

function auditCsrf(disabledRoutes: readonly string[]): AuditFinding[] {
  return disabledRoutes.map((route) => ({
    id: 'csrf-disabled-route',
    severity: 'warning' as const,
    message: `${route} skips the CSRF check (config.harden.csrf.dangerouslyDisable), so another site can submit it with the user's cookies`,
    fix: 'remove dangerouslyDisable unless the route authenticates every request by other means, such as a webhook signature',
  }));
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    return isLoopbackHostname(new URL(origin).hostname);
  } catch {
    return false;
  }
}
