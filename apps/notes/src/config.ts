import { isIP } from 'node:net';

/** Settings of the notes app, read from the environment once at start-up by `loadConfig`. */
export interface AppConfig {
  /** Interface to listen on. `HOST`, default 127.0.0.1. */
  host: string;
  /** Port of the main listener (HTTPS when TLS is set). `PORT`, default 3000; 0 picks a free port. */
  port: number;
  /** Directory of the SQLite files, the generated session secret and the mail outbox. `DATA_DIR`, default ./data. */
  dataDir: string;
  /** Session signing secret given in `SESSION_SECRET`, or undefined to generate and store one in DATA_DIR. */
  sessionSecret: string | undefined;
  /** Redis URL for sessions and rate limits (`REDIS_URL`), or undefined for the SQLite store in DATA_DIR. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key of this app (`REDIS_KEY_PREFIX`), so apps can share a Redis database. Default `harden:`. */
  redisKeyPrefix: string;
  /** Fastify's trustProxy: `false`, or the proxies' IPs and CIDRs. `TRUST_PROXY`, default false. */
  trustProxy: false | string[];
  /** Exact origins trusted to call the JSON API with credentials. `CORS_ORIGINS`, default none. */
  corsOrigins: string[];
  /** The app's own origin as users reach it (`PUBLIC_ORIGIN`), used in reset links and the origin check. */
  publicOrigin: string | undefined;
  /** Certificate and key file paths (`TLS_CERT`, `TLS_KEY`) to serve HTTPS directly. */
  tls: { certPath: string; keyPath: string } | undefined;
  /** Port of the plain-HTTP listener that redirects to HTTPS when TLS is set. `HTTP_PORT`, default 8080. */
  httpPort: number;
  /** SMTP URL for password-reset mail (`SMTP_URL`); without it mail goes to DATA_DIR/outbox/. */
  smtpUrl: string | undefined;
  /** Sender address of password-reset mail. `MAIL_FROM`, default notes@localhost. */
  mailFrom: string;
  /** Pino log level. `LOG_LEVEL`, default info. */
  logLevel: string;
  /** True when NODE_ENV is `production`. */
  production: boolean;
}

/** An environment variable with an invalid value. The message names the variable, the value and the fix. */
export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, shownValue: string, problem: string, fix: string) {
    super(`Invalid environment variable ${variable}=${shownValue}: ${problem}. Fix: ${fix}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 3000;
const DEFAULT_HTTP_PORT = 8080;
const DEFAULT_DATA_DIR = './data';
const DEFAULT_REDIS_KEY_PREFIX = 'harden:';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** Shortest SESSION_SECRET accepted, in bytes: the plugin signs cookies with it. */
const MIN_SECRET_BYTES = 32;

/**
 * Reads and validates the environment. Throws a ConfigError for the first invalid variable. It does
 * no I/O: the generated session secret is read or created later by `resolveSessionSecret`.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const tlsCert = nonEmpty(env.TLS_CERT);
  const tlsKey = nonEmpty(env.TLS_KEY);
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    const [missing, given] = tlsCert === undefined ? ['TLS_CERT', 'TLS_KEY'] : ['TLS_KEY', 'TLS_CERT'];
    throw new ConfigError(
      missing,
      '(unset)',
      `${given} is set but ${missing} is not`,
      'set both TLS_CERT and TLS_KEY, or neither',
    );
  }

  return {
    host: nonEmpty(env.HOST) ?? DEFAULT_HOST,
    port: parsePort('PORT', env.PORT, DEFAULT_PORT),
    dataDir: nonEmpty(env.DATA_DIR) ?? DEFAULT_DATA_DIR,
    sessionSecret: parseSessionSecret(env.SESSION_SECRET),
    redisUrl: parseRedisUrl(env.REDIS_URL),
    redisKeyPrefix: parseRedisKeyPrefix(env.REDIS_KEY_PREFIX),
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    corsOrigins: parseOrigins('CORS_ORIGINS', env.CORS_ORIGINS),
    publicOrigin: parsePublicOrigin(env.PUBLIC_ORIGIN),
    tls: tlsCert !== undefined && tlsKey !== undefined ? { certPath: tlsCert, keyPath: tlsKey } : undefined,
    httpPort: parsePort('HTTP_PORT', env.HTTP_PORT, DEFAULT_HTTP_PORT),
    smtpUrl: parseSmtpUrl(env.SMTP_URL),
    mailFrom: nonEmpty(env.MAIL_FROM) ?? 'notes@localhost',
    logLevel: parseLogLevel(env.LOG_LEVEL),
    production: env.NODE_ENV === 'production',
  };
}

/** Replaces the password of a URL with `***`, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function parsePort(variable: string, value: string | undefined, fallback: number): number {
  const text = nonEmpty(value);
  if (text === undefined) return fallback;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port > 65535) {
    throw new ConfigError(
      variable,
      JSON.stringify(value),
      'it is not a port number',
      `give an integer from 0 to 65535, such as ${fallback}`,
    );
  }
  return port;
}

function parseSessionSecret(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const bytes = Buffer.byteLength(value);
  if (bytes < MIN_SECRET_BYTES) {
    throw new ConfigError(
      'SESSION_SECRET',
      `(a secret of ${bytes} bytes)`,
      `it is shorter than ${MIN_SECRET_BYTES} bytes`,
      'use a random value such as the output of `openssl rand -base64 48`, or unset it to have one generated in DATA_DIR',
    );
  }
  return value;
}

function parseRedisUrl(value: string | undefined): string | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  if (!/^rediss?:\/\/[^/]/.test(text) || !URL.canParse(text)) {
    throw new ConfigError(
      'REDIS_URL',
      JSON.stringify(redactUrl(text)),
      'it is not a redis:// or rediss:// URL',
      'give a URL such as redis://127.0.0.1:6379/0',
    );
  }
  return text;
}

function parseRedisKeyPrefix(value: string | undefined): string {
  const text = nonEmpty(value);
  if (text === undefined) return DEFAULT_REDIS_KEY_PREFIX;
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(text)) {
    throw new ConfigError(
      'REDIS_KEY_PREFIX',
      JSON.stringify(value),
      'it must be 1 to 64 letters, digits or : _ . -',
      'use a prefix such as notes:',
    );
  }
  return text;
}

/** Fix text of every TRUST_PROXY error: the proxies' addresses or CIDRs, never a hop count. */
const TRUST_PROXY_FIX =
  'give the addresses or CIDRs of the proxies in front of the app, separated by commas, such as TRUST_PROXY=10.0.0.5 or TRUST_PROXY=10.0.0.0/24, or false when there is no proxy';

function parseTrustProxy(value: string | undefined): false | string[] {
  const text = nonEmpty(value);
  if (text === undefined || text === 'false') return false;
  if (text === 'true') {
    throw new ConfigError(
      'TRUST_PROXY',
      '"true"',
      'trusting every peer lets any client forge X-Forwarded-For and X-Forwarded-Proto',
      TRUST_PROXY_FIX,
    );
  }
  if (/^\d+$/.test(text)) {
    // Fastify 5 maps a numeric trustProxy to "trust no peer" (it cannot check who sent the hops).
    throw new ConfigError(
      'TRUST_PROXY',
      JSON.stringify(value),
      "Fastify 5 ignores a hop count and trusts no proxy, so every client would get the proxy's address and HTTPS behind the proxy would go unseen",
      TRUST_PROXY_FIX,
    );
  }
  const entries = text.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const range = parseTrustedRange(entry);
    if (range === undefined) {
      throw new ConfigError(
        'TRUST_PROXY',
        JSON.stringify(value),
        `${JSON.stringify(entry)} is not an IP address or CIDR`,
        TRUST_PROXY_FIX,
      );
    }
    const shortest = range.family === 4 ? MIN_IPV4_PREFIX : MIN_IPV6_PREFIX;
    if (range.prefix < shortest) {
      throw new ConfigError(
        'TRUST_PROXY',
        JSON.stringify(value),
        `${JSON.stringify(entry)} is broader than /${shortest} for ${range.family === 4 ? 'IPv4' : 'IPv6'}, so a client inside it can forge X-Forwarded-For and X-Forwarded-Proto`,
        `list the addresses of the proxies themselves, or their subnet of /${MIN_IPV4_PREFIX} or longer for IPv4 and /${MIN_IPV6_PREFIX} or longer for IPv6, such as 10.0.0.5 or 10.1.0.0/16`,
      );
    }
  }
  return entries;
}

/** Shortest IPv4 prefix TRUST_PROXY accepts: a /8 is the largest private network (10.0.0.0/8). */
const MIN_IPV4_PREFIX = 8;
/** Shortest IPv6 prefix TRUST_PROXY accepts: a /32 is a whole provider's allocation. */
const MIN_IPV6_PREFIX = 32;
/** ::ffff:0:0/96, the IPv4-mapped block: Fastify's proxy-addr matches IPv4 peers against ranges in it. */
const IPV4_MAPPED_NETWORK = 0xffffn << 32n;

/**
 * Parses an IP address or CIDR as Fastify's proxy-addr reads it, or returns undefined. An IPv6 range
 * that contains IPv4-mapped addresses (::ffff:0.0.0.0/96, or a broader one such as ::/80) trusts IPv4
 * peers too, so it is measured as the IPv4 range it holds.
 */
function parseTrustedRange(entry: string): { family: 4 | 6; prefix: number } | undefined {
  const [address = '', prefixText, extra] = entry.split('/');
  // A zone id (fe80::1%eth0) names an interface, not a proxy.
  const found = address.includes('%') ? 0 : isIP(address);
  if ((found !== 4 && found !== 6) || extra !== undefined) return undefined;
  const family: 4 | 6 = found;
  const bits = family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return undefined;
  if (family === 4 || prefix < MIN_IPV6_PREFIX) return { family, prefix };
  const shift = BigInt(128 - Math.min(prefix, 96));
  if (ipv6ToBigInt(address) >> shift === IPV4_MAPPED_NETWORK >> shift) {
    return { family: 4, prefix: Math.max(0, prefix - 96) };
  }
  return { family, prefix };
}

/** Reads a valid IPv6 address (checked with isIP first), including a dotted IPv4 tail, as a number. */
function ipv6ToBigInt(address: string): bigint {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

function parseOrigins(variable: string, value: string | undefined): string[] {
  const text = nonEmpty(value);
  if (text === undefined) return [];
  return text.split(',').map((entry) => parseOrigin(variable, entry.trim()));
}

/** PUBLIC_ORIGIN takes one origin, so its errors ask for one and never mention a list. */
function parsePublicOrigin(value: string | undefined): string | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  const fix =
    'give the one origin users type in the address bar: scheme, host and port only, such as https://notes.example or https://127.0.0.1:3443';
  if (/[\s,]/.test(text)) {
    throw new ConfigError(
      'PUBLIC_ORIGIN',
      JSON.stringify(text),
      'it holds more than one value, but the app has exactly one public origin',
      fix,
    );
  }
  return parseOrigin('PUBLIC_ORIGIN', text, fix);
}

const ORIGIN_LIST_FIX =
  'give exact origins such as https://app.example or http://127.0.0.1:5173, separated by commas';

/** Accepts only an exact origin (`https://host[:port]`): no path, wildcard, query or credentials. */
function parseOrigin(variable: string, entry: string, fix = ORIGIN_LIST_FIX): string {
  if (entry.includes('*')) {
    throw new ConfigError(variable, JSON.stringify(entry), 'wildcards are not allowed', fix);
  }
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    throw new ConfigError(variable, JSON.stringify(entry), 'it is not a URL origin', fix);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(variable, JSON.stringify(entry), 'the scheme must be http or https', fix);
  }
  if (url.origin !== entry) {
    throw new ConfigError(
      variable,
      JSON.stringify(entry),
      `it is not an exact origin (expected ${url.origin})`,
      fix,
    );
  }
  return url.origin;
}

function parseSmtpUrl(value: string | undefined): string | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  if (!/^smtps?:\/\//.test(text) || !URL.canParse(text)) {
    throw new ConfigError(
      'SMTP_URL',
      JSON.stringify(redactUrl(text)),
      'it is not an smtp:// or smtps:// URL',
      'give a URL such as smtps://user:password@mail.example:465',
    );
  }
  return text;
}

function parseLogLevel(value: string | undefined): string {
  const text = nonEmpty(value) ?? 'info';
  if (!LOG_LEVELS.includes(text)) {
    throw new ConfigError(
      'LOG_LEVEL',
      JSON.stringify(value),
      'it is not a pino level',
      `use one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return text;
}
