import fastifyCsrfProtection from '@fastify/csrf-protection';
import type {} from '@fastify/session';
import {
  checkCrossOrigin,
  createOriginAllowlist,
  HardenConfigError,
  normalizeConfiguredOrigin,
  type OriginAllowlist,
  SAFE_METHODS,
} from '@harden/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { HardenContext } from './context.js';
import type { ResolvedCors } from './cors.js';
import { type Rejection, sendRejection } from './reject.js';

/**
 * CSRF protection for every request whose method is not GET, HEAD or OPTIONS, on every route.
 *
 * Layer 1, at `onRequest` (before the body is read): the cross-origin decision of @harden/core from
 * `Sec-Fetch-Site` and `Origin`. It needs no token, so it also covers requests without a session.
 *
 * Layer 2, at `preValidation` (after the body is parsed, before schema validation and the handler):
 * a request that carries the session cookie must carry a token from @fastify/csrf-protection, whose
 * secret lives in the server-side session. The token is read from the `_csrf` field of a parsed body or
 * from the `x-csrf-token` header, never from the query string or a cookie. A request without the
 * session cookie, such as an API client with a bearer token, has no ambient credential to abuse and
 * skips this layer.
 *
 * Both layers use the method on the request line: method-override headers and `_method` fields are
 * never read. A body the token cannot be read from (text/plain, multipart, an unparsed content type)
 * simply has no token.
 */

/** Options of `csrf`. Default: only the app's own origin and the CORS origins may send unsafe requests. */
export interface CsrfOptions {
  /**
   * Origins, besides the app's own and `cors.origins`, whose pages may submit unsafe requests, such as a
   * sibling subdomain that hosts a form. Exact origins, normalized like `cors.origins`. Default: none.
   */
  trustedOrigins?: readonly string[];
}

/** Per-route CSRF settings under `config.harden.csrf`. */
export interface RouteCsrfConfig {
  /**
   * `true` skips both CSRF layers on this route, so another site can submit it with the user's cookies.
   * Only for a route that authenticates each request another way, such as a signed webhook. The start-up
   * audit lists every such route. Default: false.
   */
  dangerouslyDisable?: boolean;
}

/** Validated CSRF options. */
export interface ResolvedCsrf {
  /** The app's own origin in canonical form, or undefined to use each request's Host and protocol. */
  readonly publicOrigin: string | undefined;
  /** CORS origins, the pattern of CORS and `csrf.trustedOrigins`. */
  readonly trustedOrigins: OriginAllowlist;
  /** Name of the session cookie whose presence requires a token, or undefined when sessions are off. */
  readonly sessionCookieName: string | undefined;
}

/** Result of `registerCsrf`, read by the start-up audit. */
export interface CsrfRegistration {
  /** `METHOD /url` of every unsafe route method that set `dangerouslyDisable`, filled as routes are added. */
  readonly disabledRoutes: readonly string[];
}

/** Form field that carries the token. */
export const CSRF_FIELD = '_csrf';

/** Request header that carries the token for fetch and XMLHttpRequest. */
export const CSRF_HEADER = 'x-csrf-token';

/** Maximum length of a header value copied into a log line. */
const MAX_LOGGED_HEADER_LENGTH = 200;

/** Sentences for the user, by rejection reason. They fit a form submission and an API call alike. */
const MESSAGES: Record<string, string> = {
  'cross-site':
    'This request came from another site and was blocked. Open the page on this site and try again.',
  'origin-mismatch':
    'This request came from another site and was blocked. Open the page on this site and try again.',
  'origin-null':
    'This request came from a page without an origin and was blocked. Open the page on this site and try again.',
  'token-missing': 'This request is missing its security token. Reload the page and try again.',
  'token-invalid': 'This request has an expired or unknown security token. Reload the page and try again.',
};

/**
 * Validates the CSRF options together with what they depend on: the resolved CORS options, the
 * plugin's `origin` option and the session cookie name (undefined when sessions are off).
 */
export function resolveCsrfOptions(
  options: CsrfOptions | undefined,
  dependencies: {
    cors: ResolvedCors;
    publicOrigin: string | undefined;
    sessionCookieName: string | undefined;
  },
): ResolvedCsrf {
  const csrfOptions: CsrfOptions = options ?? {};
  for (const key of Object.keys(csrfOptions)) {
    if (key !== 'trustedOrigins') {
      throw new HardenConfigError(
        `csrf.${key}`,
        (csrfOptions as Record<string, unknown>)[key],
        'it is not a CSRF option',
        'use trustedOrigins, or config.harden.csrf on a route',
      );
    }
  }
  const extra = csrfOptions.trustedOrigins ?? [];
  if (!Array.isArray(extra)) {
    throw new HardenConfigError(
      'csrf.trustedOrigins',
      extra,
      'it must be an array of origins',
      "pass ['https://forms.example']",
    );
  }
  // csrf.trustedOrigins takes no pattern of its own: the CORS pattern applies to the cross-origin check too.
  const own = createOriginAllowlist(
    extra,
    'csrf.trustedOrigins',
    undefined,
    'cors.dangerouslyAllowOriginPattern',
  );
  const cors = dependencies.cors.allowlist;

  return {
    publicOrigin:
      dependencies.publicOrigin === undefined
        ? undefined
        : normalizeConfiguredOrigin(dependencies.publicOrigin, 'origin'),
    trustedOrigins: { origins: new Set([...cors.origins, ...own.origins]), pattern: cors.pattern },
    sessionCookieName: dependencies.sessionCookieName,
  };
}

/**
 * Adds both CSRF layers to every route and registers @fastify/csrf-protection (which decorates
 * `reply.generateCsrf()`) when sessions are on. Call it after the session plugin is registered.
 */
export async function registerCsrf(
  app: FastifyInstance,
  resolved: ResolvedCsrf,
  context: HardenContext,
): Promise<CsrfRegistration> {
  const disabledRoutes: string[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    if (readRouteConfig(route.config?.harden?.csrf, route) !== true) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (!SAFE_METHODS.has(method)) disabledRoutes.push(`${method} ${route.url}`);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    if (SAFE_METHODS.has(request.method) || isDisabled(request)) return;
    const decision = checkCrossOrigin({
      method: request.method,
      secFetchSite: headerValue(request.headers['sec-fetch-site']),
      origin: request.headers.origin,
      host: request.host,
      protocol: request.protocol,
      publicOrigin: resolved.publicOrigin,
      trustedOrigins: resolved.trustedOrigins,
    });
    if (decision.allow) return;
    return reject(request, reply, decision.reason, context);
  });

  const cookieName = resolved.sessionCookieName;
  if (cookieName === undefined) return { disabledRoutes };
  if (!app.hasRequestDecorator('session')) {
    // A session cookie name without the session plugin would silently drop the token layer.
    throw new Error('registerCsrf: @fastify/session must be registered before CSRF tokens can be checked');
  }

  await app.register(fastifyCsrfProtection, {
    sessionPlugin: '@fastify/session',
    getToken: readToken,
    // Harden logs one `csrf.rejected` line itself, so the plugin's own line goes to debug.
    logLevel: 'debug',
  });

  app.addHook('preValidation', async (request, reply) => {
    if (SAFE_METHODS.has(request.method) || isDisabled(request)) return;
    if (request.cookies?.[cookieName] === undefined) return;

    if (readToken(request) === undefined) return reject(request, reply, 'token-missing', context);
    if (!verifyToken(app, request)) return reject(request, reply, 'token-invalid', context);
  });

  return { disabledRoutes };
}

/**
 * Reads the token from the parsed body's `_csrf` field or the `x-csrf-token` header. Never from the
 * query string or a cookie: a token in a URL leaks through logs and Referer, and a cookie is sent by
 * the browser on the forged request too.
 */
function readToken(request: FastifyRequest): string | undefined {
  const body = request.body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const field = (body as Record<string, unknown>)[CSRF_FIELD];
    if (typeof field === 'string' && field !== '') return field;
  }
  const header = request.headers[CSRF_HEADER];
  return typeof header === 'string' && header !== '' ? header : undefined;
}

/**
 * Runs @fastify/csrf-protection's check against the session's secret. Its hook sends its own error
 * response on failure, so it gets a stand-in reply here and Harden writes the rejection instead.
 */
function verifyToken(app: FastifyInstance, request: FastifyRequest): boolean {
  if (request.session === undefined) return false;
  let valid = false;
  const standInReply = { send: () => standInReply } as unknown as FastifyReply;
  app.csrfProtection(request, standInReply, () => {
    valid = true;
  });
  return valid;
}

function isDisabled(request: FastifyRequest): boolean {
  return request.routeOptions.config?.harden?.csrf?.dangerouslyDisable === true;
}

function readRouteConfig(config: unknown, route: RouteOptions): boolean {
  if (config === undefined) return false;
  const where = `config.harden.csrf of ${Array.isArray(route.method) ? route.method.join(',') : route.method} ${route.url}`;
  if (typeof config !== 'object' || config === null) {
    throw new HardenConfigError(
      where,
      config,
      'it must be an object',
      'pass { dangerouslyDisable: true } or leave it out',
    );
  }
  for (const [key, value] of Object.entries(config)) {
    if (key !== 'dangerouslyDisable') {
      throw new HardenConfigError(
        `${where}.${key}`,
        value,
        'it is not a route CSRF option',
        'use dangerouslyDisable',
      );
    }
    if (typeof value !== 'boolean') {
      throw new HardenConfigError(
        `${where}.dangerouslyDisable`,
        value,
        'it must be true or false',
        'pass true or false',
      );
    }
  }
  return (config as RouteCsrfConfig).dangerouslyDisable === true;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function reject(
  request: FastifyRequest,
  reply: FastifyReply,
  reason: string,
  context: HardenContext,
): Promise<FastifyReply> {
  const details: Record<string, string> = {};
  const site = headerValue(request.headers['sec-fetch-site']);
  if (site !== undefined) details.secFetchSite = site.slice(0, MAX_LOGGED_HEADER_LENGTH);
  if (request.headers.origin !== undefined)
    details.origin = request.headers.origin.slice(0, MAX_LOGGED_HEADER_LENGTH);

  const rejection: Rejection = {
    status: 403,
    event: 'csrf.rejected',
    reason,
    message: MESSAGES[reason] ?? 'This request was blocked.',
    details,
  };
  return sendRejection(request, reply, rejection, context.onRejection);
}
