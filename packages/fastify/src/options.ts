import { closestMatch, HardenConfigError } from '@harden/core';
import type { CorsOptions, RouteCorsConfig } from './cors.js';
import type { CsrfOptions, RouteCsrfConfig } from './csrf.js';
import type { HeadersOptions, RouteHeadersConfig } from './headers.js';
import type { HttpsOptions, RouteHttpsConfig } from './https.js';
import type { RateLimitOptions, RouteRateLimitConfig } from './rate-limit.js';
import type { RejectionHandler } from './reject.js';
import type { RouteSessionConfig, SessionOptions } from './sessions.js';
import type { StoreOptions } from './store.js';

/**
 * Options of `app.register(harden, options)`. Only `session.secret` is needed: every measure is on by
 * default, and an option that weakens one says so in its name.
 */
export interface HardenOptions {
  /**
   * The app's own public origin, scheme, host and port (`https://notes.example`). The cross-origin
   * check compares request origins with it. Default: each request's own Host and protocol.
   */
  origin?: string;
  /** Server-side sessions. `false` turns sessions off for an app that has no cookie login. */
  session: SessionOptions | false;
  /** Where sessions and rate-limit counters live. Default: an SQLite file, `.harden/harden.sqlite`. */
  store?: StoreOptions;
  /** Security headers and the Content-Security-Policy. */
  headers?: HeadersOptions;
  /** HSTS and the redirect of plain HTTP to HTTPS. */
  https?: HttpsOptions;
  /** The default rate limit of every route and the named limits routes can share. */
  rateLimit?: RateLimitOptions;
  /** Origins trusted for cross-origin API calls. Default: none. */
  cors?: CorsOptions;
  /** The cross-origin check and the CSRF token of every unsafe request. */
  csrf?: CsrfOptions;
  /** How many instances of the app run at once, for the start-up audit. Default: 1. */
  instances?: number;
  /**
   * Sets Fastify's error and not-found handlers so that no response carries a stack trace or an internal
   * message. Set false when the application calls `setErrorHandler` and `setNotFoundHandler` itself:
   * Fastify refuses a second not-found handler in the same scope. Security headers are sent either way.
   * Default: true.
   */
  errorHandlers?: boolean;
  /** Writes rejections the application wants to render itself, such as a refused form shown again. */
  onRejection?: RejectionHandler;
}

/** Every top-level option; the type makes adding an option to HardenOptions without listing it here fail. */
const HARDEN_OPTION_KEYS: Readonly<Record<keyof HardenOptions, true>> = {
  origin: true,
  session: true,
  store: true,
  headers: true,
  https: true,
  rateLimit: true,
  cors: true,
  csrf: true,
  instances: true,
  errorHandlers: true,
  onRejection: true,
};

/** Options of Fastify's `register` itself, which Fastify passes on to the plugin with its own. */
const FASTIFY_REGISTER_KEYS = new Set(['prefix', 'logLevel', 'logSerializers']);

/**
 * Rejects a top-level option the plugin does not know, such as `rateLimt`, with HardenConfigError
 * naming the closest known option and listing them all: an ignored typo would leave a measure at its
 * default while the user believes it configured. Fastify's own register options (`prefix`, `logLevel`,
 * `logSerializers`) are let through: Fastify reads them, not the plugin.
 */
export function assertKnownOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new HardenConfigError(
      'options',
      describeKind(options),
      'the plugin options must be an object',
      'pass { session: { secret } } as the second argument of app.register',
    );
  }
  const known = Object.keys(HARDEN_OPTION_KEYS);
  for (const key of Object.keys(options)) {
    if (key in HARDEN_OPTION_KEYS || FASTIFY_REGISTER_KEYS.has(key)) continue;
    const closest = closestMatch(key, known);
    const guess = closest === undefined ? '' : `did you mean ${closest}? `;
    throw new HardenConfigError(
      key,
      // The value is not quoted: a misplaced option could be a secret.
      describeKind((options as Record<string, unknown>)[key]),
      'it is not an option of @harden/fastify',
      `${guess}use one of ${known.join(', ')}`,
    );
  }
}

/** Describes a value by its kind only, such as `(an object)`, for errors about values that may be secret. */
function describeKind(value: unknown): string {
  if (value === null) return '(null)';
  if (Array.isArray(value)) return '(an array)';
  return `(${typeof value === 'object' ? 'an object' : `a ${typeof value}`})`;
}

/** Per-route settings, under `config.harden` of a Fastify route. Validated when the route is added. */
export interface RouteHardenConfig {
  headers?: RouteHeadersConfig;
  https?: RouteHttpsConfig;
  session?: RouteSessionConfig;
  rateLimit?: RouteRateLimitConfig;
  cors?: RouteCorsConfig;
  csrf?: RouteCsrfConfig;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    harden?: RouteHardenConfig;
  }
}
