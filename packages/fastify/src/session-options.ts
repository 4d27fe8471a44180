import {
  cookieAttributeProblem,
  HardenConfigError,
  hasSecureCookiePrefix,
  signingSecretProblem,
} from '@harden/core';

/**
 * Server-side sessions (@fastify/session and @fastify/cookie), stored in the plugin's `store`. Only
 * `secret` is required. Durations are in milliseconds.
 */
export interface SessionOptions {
  /**
   * The secret that signs the session cookie, or a list for rotation: the first signs new cookies and
   * every one verifies old ones. Each needs at least 32 bytes and 10 distinct characters. Required.
   */
  secret: string | readonly string[];
  /**
   * Time without a request after which a session ends. Requests move it forward; an unmodified session
   * is written back at most once per tenth of it, so it may end up to a tenth early. Default: 30 minutes.
   */
  idleTimeout?: number;
  /** Time after a session was first stored after which it ends, however active. Default: 12 hours. */
  absoluteTimeout?: number;
  /** Name of the session cookie. Default: `__Host-sid` (Secure, Path=/ and no Domain, enforced by browsers). */
  cookieName?: string;
  /**
   * The cookie's SameSite attribute. Default: `'lax'`. `'none'` weakens the CSRF defence and needs
   * `dangerouslyAllowSameSiteNone: true` as well.
   */
  sameSite?: 'lax' | 'strict' | 'none';
  /** Time between two deletions of expired sessions from the SQLite store. Default: 5 minutes. */
  purgeInterval?: number;
  /**
   * Sends the session cookie without Secure over plain HTTP to a host that is not loopback, such as a
   * development server reached by its LAN address, where anyone on the network can read it. Needs a
   * `cookieName` without the `__Host-` or `__Secure-` prefix. Default: false.
   */
  insecureCookieOverHttp?: boolean;
  /**
   * Accepts the `{ memory: true }` store for sessions: they live in this process only, vanish on
   * restart and are not shared between instances. Default: false.
   */
  dangerouslyAllowMemoryStore?: boolean;
  /**
   * Accepts `sameSite: 'none'`: browsers then send the session cookie with requests other sites start
   * (forms, fetches, iframes), so only the Origin check and the CSRF token stand against cross-site
   * request forgery. For a front end on another site that needs the cookie. Default: false.
   */
  dangerouslyAllowSameSiteNone?: boolean;
}

/** Per-route session settings under `config.harden.session`. Currently there are none. */
export type RouteSessionConfig = Record<never, never>;

/** Session options after validation, with every default filled in. */
export interface ResolvedSession {
  readonly secrets: readonly string[];
  readonly idleTimeout: number;
  readonly absoluteTimeout: number;
  readonly cookieName: string;
  readonly sameSite: 'lax' | 'strict' | 'none';
  readonly purgeInterval: number;
  readonly insecureCookieOverHttp: boolean;
  readonly dangerouslyAllowMemoryStore: boolean;
}

const MINUTE = 60 * 1000;

/** Defaults of the session options. */
export const SESSION_DEFAULTS = {
  idleTimeout: 30 * MINUTE,
  absoluteTimeout: 12 * 60 * MINUTE,
  cookieName: '__Host-sid',
  sameSite: 'lax',
  purgeInterval: 5 * MINUTE,
} as const;

const KNOWN_OPTIONS = new Set<string>([
  'secret',
  'idleTimeout',
  'absoluteTimeout',
  'cookieName',
  'sameSite',
  'purgeInterval',
  'insecureCookieOverHttp',
  'dangerouslyAllowMemoryStore',
  'dangerouslyAllowSameSiteNone',
]);

/**
 * Validates the session options. Returns undefined when sessions are turned off with `false`.
 * Throws HardenConfigError naming the option, the value (never a secret) and the fix.
 */
export function resolveSessionOptions(
  options: SessionOptions | false | undefined,
): ResolvedSession | undefined {
  if (options === false) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new HardenConfigError(
      'session',
      options,
      'it is missing',
      'pass { secret } with a random secret of at least 32 bytes, or session: false for an app without cookie login',
    );
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new HardenConfigError(
        `session.${key}`,
        '<set>',
        'it is not a session option',
        `use only ${[...KNOWN_OPTIONS].join(', ')}`,
      );
    }
  }

  if (options.secret === undefined) {
    throw new HardenConfigError(
      'session.secret',
      undefined,
      'it is missing',
      'give a random secret of 32 bytes or more, for example from `openssl rand -base64 32`',
    );
  }
  const secrets = resolveSecrets(options.secret);
  const idleTimeout = resolveDuration(
    'session.idleTimeout',
    options.idleTimeout,
    SESSION_DEFAULTS.idleTimeout,
  );
  const absoluteTimeout = resolveDuration(
    'session.absoluteTimeout',
    options.absoluteTimeout,
    SESSION_DEFAULTS.absoluteTimeout,
  );
  if (idleTimeout > absoluteTimeout) {
    throw new HardenConfigError(
      'session.idleTimeout',
      idleTimeout,
      `it is longer than session.absoluteTimeout (${absoluteTimeout} ms), so the idle timeout could never end a session`,
      'make idleTimeout at most absoluteTimeout',
    );
  }
  const purgeInterval = resolveDuration(
    'session.purgeInterval',
    options.purgeInterval,
    SESSION_DEFAULTS.purgeInterval,
  );

  const insecureCookieOverHttp = resolveFlag(
    'session.insecureCookieOverHttp',
    options.insecureCookieOverHttp,
  );
  const dangerouslyAllowMemoryStore = resolveFlag(
    'session.dangerouslyAllowMemoryStore',
    options.dangerouslyAllowMemoryStore,
  );

  const sameSite = options.sameSite ?? SESSION_DEFAULTS.sameSite;
  if (sameSite !== 'lax' && sameSite !== 'strict' && sameSite !== 'none') {
    throw new HardenConfigError(
      'session.sameSite',
      sameSite,
      'it is not a SameSite value',
      "use 'lax', 'strict' or 'none'",
    );
  }
  const dangerouslyAllowSameSiteNone = resolveFlag(
    'session.dangerouslyAllowSameSiteNone',
    options.dangerouslyAllowSameSiteNone,
  );
  if (sameSite === 'none' && !dangerouslyAllowSameSiteNone) {
    throw new HardenConfigError(
      'session.sameSite',
      sameSite,
      'SameSite=None sends the session cookie with requests that other sites start, so only the Origin check and the CSRF token are left against cross-site request forgery',
      "use 'lax' (the default) or 'strict'; if a front end on another site really needs the cookie, also set session.dangerouslyAllowSameSiteNone: true",
    );
  }

  const cookieName = options.cookieName ?? SESSION_DEFAULTS.cookieName;
  if (typeof cookieName !== 'string') {
    throw new HardenConfigError(
      'session.cookieName',
      cookieName,
      'it is not a string',
      "use a name such as '__Host-sid'",
    );
  }
  if (insecureCookieOverHttp && hasSecureCookiePrefix(cookieName)) {
    throw new HardenConfigError(
      'session.cookieName',
      cookieName,
      'browsers reject a cookie with this prefix unless it is Secure, and insecureCookieOverHttp sends it without Secure over plain HTTP',
      "set cookieName to a name without the __Host- or __Secure- prefix, such as 'sid', or turn insecureCookieOverHttp off",
    );
  }
  const problem = cookieAttributeProblem(cookieName, {
    secure: !insecureCookieOverHttp,
    path: '/',
    domain: undefined,
    sameSite,
  });
  if (problem !== undefined && sameSite === 'none' && problem.includes('SameSite')) {
    throw new HardenConfigError(
      'session.sameSite',
      sameSite,
      problem,
      "use 'lax' or 'strict', or turn insecureCookieOverHttp off",
    );
  }
  if (problem !== undefined) {
    throw new HardenConfigError(
      'session.cookieName',
      cookieName,
      problem,
      "use a name of letters, digits, '-' and '_', such as '__Host-sid'",
    );
  }

  return {
    secrets,
    idleTimeout,
    absoluteTimeout,
    cookieName,
    sameSite,
    purgeInterval,
    insecureCookieOverHttp,
    dangerouslyAllowMemoryStore,
  };
}

function resolveSecrets(secret: unknown): string[] {
  const list = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0) {
    throw new HardenConfigError(
      'session.secret',
      [],
      'the list of secrets is empty',
      'give at least one random secret of 32 bytes or more, for example from `openssl rand -base64 32`',
    );
  }
  return list.map((item: unknown, index) => {
    const option = Array.isArray(secret) ? `session.secret[${index}]` : 'session.secret';
    if (typeof item !== 'string') {
      throw new HardenConfigError(
        option,
        `<${typeof item}>`,
        'it is not a string',
        'give a random secret of 32 bytes or more, for example from `openssl rand -base64 32`',
      );
    }
    const problem = signingSecretProblem(item);
    if (problem !== undefined) {
      throw new HardenConfigError(
        option,
        '<redacted>',
        problem,
        'use a random secret of 32 bytes or more, for example from `openssl rand -base64 32`',
      );
    }
    return item;
  });
}

function resolveDuration(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new HardenConfigError(
      option,
      value,
      'it is not a positive whole number of milliseconds',
      `give a whole number of milliseconds, such as ${fallback}`,
    );
  }
  return value;
}

function resolveFlag(option: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw new HardenConfigError(option, value, 'it is not a boolean', 'use true or false');
  return value;
}
