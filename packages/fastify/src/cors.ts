import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import {
  createOriginAllowlist,
  describeValue,
  HardenConfigError,
  isTrustedOrigin,
  type OriginAllowlist,
} from '@harden/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { HardenContext } from './context.js';
import { sendRejection } from './reject.js';

/**
 * CORS for an exact allowlist of origins, through @fastify/cors.
 *
 * Harden decides trust itself and hands @fastify/cors, per request, either the one trusted origin or
 * `origin: false`. Giving it the whole list instead would still make it send
 * `Access-Control-Allow-Credentials` to untrusted origins (@fastify/cors 11.4.3 adds that header whatever the
 * origin). Its hook runs at `onRequest`, before the rate limiter and the route, so 404, 429 and 500
 * responses to a trusted origin carry the CORS headers too and a front end can read their status.
 */

/** Options of `cors`. Default: no origin is trusted, and no response carries CORS headers. */
export interface CorsOptions {
  /**
   * Exact origins (scheme, host and port) whose scripts may read responses, such as
   * `['https://app.example', 'http://127.0.0.1:5173']`. Normalized to the form browsers send: lower case,
   * punycode, no default port. Default: none.
   */
  origins?: readonly string[];
  /** Whether trusted origins may send cookies and read the responses (`Access-Control-Allow-Credentials`). Default: true. */
  credentials?: boolean;
  /** Methods a preflight allows. Default: GET, HEAD, POST, PUT, PATCH, DELETE. */
  methods?: readonly string[];
  /** Request headers a preflight allows. The list must contain `content-type` and `x-csrf-token`. Default: those two. */
  allowedHeaders?: readonly string[];
  /**
   * Response headers the front end may read beyond the CORS-safelisted ones. Default: `retry-after`,
   * `ratelimit` and `ratelimit-policy`, so a front end can tell the user how long to wait after a 429.
   */
  exposedHeaders?: readonly string[];
  /** How long a browser may cache a preflight, in seconds (`Access-Control-Max-Age`). Default: 600. */
  maxAge?: number;
  /**
   * Also trusts every origin that this pattern matches as a whole: it is wrapped as `^(?:...)$` and
   * tried only on origins in canonical form. A loose pattern trusts foreign sites, so prefer `origins`.
   * Default: none.
   */
  dangerouslyAllowOriginPattern?: RegExp;
}

/** Per-route CORS settings under `config.harden.cors`. */
export interface RouteCorsConfig {
  /** `false` sends no CORS header on this route's responses, even to a trusted origin. Default: true. */
  enabled?: boolean;
}

/** Validated CORS options. */
export interface ResolvedCors {
  readonly allowlist: OriginAllowlist;
  readonly credentials: boolean;
  readonly methods: readonly string[];
  readonly allowedHeaders: readonly string[];
  readonly exposedHeaders: readonly string[];
  readonly maxAgeSeconds: number;
}

/** Defaults of the CORS options. */
export const CORS_DEFAULTS = Object.freeze({
  credentials: true,
  methods: Object.freeze(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
  allowedHeaders: Object.freeze(['content-type', 'x-csrf-token']),
  exposedHeaders: Object.freeze(['retry-after', 'ratelimit', 'ratelimit-policy']),
  maxAgeSeconds: 600,
});

/** Request headers every CORS configuration must allow, so a front end can send JSON and its CSRF token. */
const REQUIRED_ALLOWED_HEADERS = ['content-type', 'x-csrf-token'];

const KNOWN_OPTIONS = new Set([
  'origins',
  'credentials',
  'methods',
  'allowedHeaders',
  'exposedHeaders',
  'maxAge',
  'dangerouslyAllowOriginPattern',
]);

/** An HTTP token, as a method or header name must be. */
const TOKEN = /^[!#$%&'*+\-.^\w`|~]+$/;

/** Maximum length of an Origin header value copied into a log line. */
const MAX_LOGGED_ORIGIN_LENGTH = 200;

/** Validates the CORS options once, at registration. Throws HardenConfigError with the fix. */
export function resolveCorsOptions(options: CorsOptions | undefined): ResolvedCors {
  const corsOptions: CorsOptions = options ?? {};
  for (const key of Object.keys(corsOptions)) {
    if (!KNOWN_OPTIONS.has(key)) {
      const hint =
        key === 'origin' ? "write the list as 'origins'" : `use one of ${[...KNOWN_OPTIONS].join(', ')}`;
      throw new HardenConfigError(
        `cors.${key}`,
        (corsOptions as Record<string, unknown>)[key],
        'it is not a CORS option',
        hint,
      );
    }
  }

  const credentials = corsOptions.credentials ?? CORS_DEFAULTS.credentials;
  if (typeof credentials !== 'boolean') {
    throw new HardenConfigError(
      'cors.credentials',
      credentials,
      'it must be true or false',
      'pass true or false',
    );
  }

  const origins = validateOriginList(corsOptions.origins, credentials);
  const allowlist = createOriginAllowlist(
    origins,
    'cors.origins',
    corsOptions.dangerouslyAllowOriginPattern,
    'cors.dangerouslyAllowOriginPattern',
  );

  const methods = validateTokenList('cors.methods', corsOptions.methods ?? CORS_DEFAULTS.methods).map(
    (method) => method.toUpperCase(),
  );
  const allowedHeaders = validateTokenList(
    'cors.allowedHeaders',
    corsOptions.allowedHeaders ?? CORS_DEFAULTS.allowedHeaders,
  ).map((header) => header.toLowerCase());
  for (const required of REQUIRED_ALLOWED_HEADERS) {
    if (!allowedHeaders.includes(required)) {
      throw new HardenConfigError(
        'cors.allowedHeaders',
        corsOptions.allowedHeaders,
        `it lacks ${required}, which front ends need to send JSON and the CSRF token`,
        `add '${required}' to the list`,
      );
    }
  }
  const exposedHeaders = validateTokenList(
    'cors.exposedHeaders',
    corsOptions.exposedHeaders ?? CORS_DEFAULTS.exposedHeaders,
  );

  const maxAgeSeconds = corsOptions.maxAge ?? CORS_DEFAULTS.maxAgeSeconds;
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0) {
    throw new HardenConfigError(
      'cors.maxAge',
      maxAgeSeconds,
      'it must be a whole number of seconds, 0 or more',
      'pass a number of seconds such as 600',
    );
  }

  return { allowlist, credentials, methods, allowedHeaders, exposedHeaders, maxAgeSeconds };
}

/**
 * Rejects untrusted preflights with 403, then registers @fastify/cors with a per-request decision.
 * A trusted origin gets `Access-Control-Allow-Origin` set to itself. Any other request gets no CORS
 * header but still `Vary: Origin`, so a cache never serves the response for one origin to another.
 */
export async function registerCors(
  app: FastifyInstance,
  resolved: ResolvedCors,
  context: HardenContext,
): Promise<void> {
  app.addHook('onRoute', (route) => validateRouteConfig(route.config?.harden?.cors, route));

  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'OPTIONS') return;
    const origin = request.headers.origin;
    if (origin === undefined || request.headers['access-control-request-method'] === undefined) return;
    if (isTrustedOrigin(origin, resolved.allowlist)) return;

    return sendRejection(
      request,
      reply,
      {
        status: 403,
        event: 'cors.origin_refused',
        reason: 'untrusted-origin',
        message: 'This origin is not allowed to call this server from a browser.',
        headers: { Vary: 'Origin' },
        details: { origin: origin.slice(0, MAX_LOGGED_ORIGIN_LENGTH) },
      },
      context.onRejection,
    );
  });

  if (resolved.allowlist.origins.size === 0 && resolved.allowlist.pattern === undefined) return;

  const trustedOptions: Omit<FastifyCorsOptions, 'origin'> = {
    credentials: resolved.credentials,
    methods: [...resolved.methods],
    allowedHeaders: [...resolved.allowedHeaders],
    maxAge: resolved.maxAgeSeconds,
    strictPreflight: true,
    preflightContinue: false,
    optionsSuccessStatus: 204,
  };
  // An explicit undefined would override @fastify/cors's null default and send an empty header.
  if (resolved.exposedHeaders.length > 0) trustedOptions.exposedHeaders = [...resolved.exposedHeaders];

  // Requests whose CORS headers @fastify/cors decided in its onRequest hook.
  const decided = new WeakSet<FastifyRequest>();
  // @fastify/cors replies to preflights on its own `OPTIONS *` route. With a per-request delegator it
  // rebuilds its options for every request its hook sees (10 to 20 µs a request, measured with bench/),
  // so it is registered in a child scope where that hook runs only for its own route.
  await app.register(async (preflightScope) => {
    await preflightScope.register(fastifyCors, {
      hook: 'onRequest',
      delegator: (request: FastifyRequest, callback) => {
        decided.add(request);
        const origin = request.headers.origin;
        if (origin !== undefined && isTrustedOrigin(origin, resolved.allowlist)) {
          callback(null, { ...trustedOptions, origin });
        } else {
          callback(null, { origin: false });
        }
      },
    });
  });

  // Every other response gets the simple CORS headers here, including a 429 that the rate limiter sent
  // before any CORS hook ran. A trusted front end can then read the real status, and every origin gets
  // `Vary: Origin`.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!decided.has(request)) addSimpleResponseHeaders(request, reply, resolved);
    done(null, payload);
  });
}

function addSimpleResponseHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  resolved: ResolvedCors,
): void {
  const vary = reply.getHeader('vary');
  const varyList = Array.isArray(vary) ? vary.join(', ') : String(vary ?? '');
  if (!/(^|,)\s*(origin|\*)\s*(,|$)/i.test(varyList)) {
    reply.header('vary', varyList === '' ? 'Origin' : `${varyList}, Origin`);
  }
  const origin = request.headers.origin;
  if (origin === undefined || !isTrustedOrigin(origin, resolved.allowlist)) return;
  if (request.routeOptions.config?.harden?.cors?.enabled === false) return;
  reply.header('access-control-allow-origin', origin);
  if (resolved.credentials) reply.header('access-control-allow-credentials', 'true');
  if (resolved.exposedHeaders.length > 0) {
    reply.header('access-control-expose-headers', resolved.exposedHeaders.join(', '));
  }
}

function validateRouteConfig(config: unknown, route: RouteOptions): void {
  if (config === undefined) return;
  const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
  const where = `config.harden.cors of ${methods} ${route.url}`;
  if (typeof config !== 'object' || config === null) {
    throw new HardenConfigError(
      where,
      config,
      'it must be an object',
      'pass { enabled: false } or leave it out',
    );
  }
  for (const [key, value] of Object.entries(config)) {
    if (key !== 'enabled') {
      throw new HardenConfigError(`${where}.${key}`, value, 'it is not a route CORS option', 'use enabled');
    }
    if (typeof value !== 'boolean') {
      throw new HardenConfigError(
        `${where}.enabled`,
        value,
        'it must be true or false',
        'pass true or false',
      );
    }
  }
}

function validateOriginList(origins: unknown, credentials: boolean): readonly unknown[] {
  if (origins === undefined) return [];
  if (origins === true || origins === '*') {
    const problem = credentials
      ? "it trusts every origin, and with credentials any website could read responses made with the user's cookies"
      : 'it trusts every origin';
    throw new HardenConfigError(
      'cors.origins',
      origins,
      problem,
      "list the exact origins, such as ['https://app.example']",
    );
  }
  if (origins instanceof RegExp) {
    throw new HardenConfigError(
      'cors.origins',
      origins,
      'a pattern is not a list of origins',
      'list exact origins, or pass the pattern as cors.dangerouslyAllowOriginPattern',
    );
  }
  if (!Array.isArray(origins)) {
    throw new HardenConfigError(
      'cors.origins',
      origins,
      'it must be an array of origins',
      "pass ['https://app.example']",
    );
  }
  return origins;
}

function validateTokenList(option: string, list: unknown): string[] {
  if (!Array.isArray(list)) {
    throw new HardenConfigError(
      option,
      list,
      'it must be an array of names',
      `pass an array such as ['${option.endsWith('methods') ? 'GET' : 'content-type'}']`,
    );
  }
  list.forEach((item, index) => {
    if (typeof item !== 'string' || !TOKEN.test(item) || item === '*') {
      throw new HardenConfigError(
        `${option}[${index}]`,
        item,
        'it is not a single method or header name (wildcards are not allowed)',
        `remove ${describeValue(item)} or write the exact name`,
      );
    }
  });
  return list as string[];
}
