import type { IncomingMessage, ServerResponse } from 'node:http';
import { HardenConfigError } from '@harden/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import helmet from 'helmet';
import type { HardenContext } from './context.js';
import { sendRejection } from './reject.js';

/** Strict-Transport-Security. Defaults: max-age two years, includeSubDomains, no preload. */
export interface HstsOptions {
  /** Seconds browsers remember to use HTTPS only. At least one year. Default: 63072000 (two years). */
  maxAge?: number;
  /** Adds `preload`, the request to be listed in browsers' built-in HSTS lists. Needs includeSubDomains and a max-age of a year or more. Default: false. */
  preload?: boolean;
  /** Leaves `includeSubDomains` out, so subdomains may still be reached over plain HTTP. Default: false. */
  dangerouslyExcludeSubDomains?: boolean;
  /** Allows a max-age below one year, for a short trial. Default: false. */
  dangerouslyAllowShortMaxAge?: boolean;
}

/**
 * HSTS and the redirect of plain HTTP to HTTPS. Whether a request came over HTTPS is `request.protocol`,
 * which follows Fastify's `trustProxy`: `X-Forwarded-Proto` counts only from a trusted proxy.
 */
export interface HttpsOptions {
  /** Strict-Transport-Security, sent only on responses to HTTPS requests. */
  hsts?: HstsOptions;
  /** Sends no Strict-Transport-Security header at all. Default: false. */
  dangerouslyDisableHsts?: boolean;
  /**
   * Redirects plain-HTTP requests to HTTPS: 301 for GET and HEAD, 308 for other methods so the method
   * and body are kept. The target host is the plugin's `origin` when set, else the request's Host.
   * Default: true when the plugin's `origin` is an https origin, false otherwise, so a development
   * server on http://127.0.0.1 (no origin, or an http one) keeps working. Behind a TLS proxy, set
   * Fastify's `trustProxy` so that proxied requests count as HTTPS.
   */
  forceHttps?: boolean;
  /** Port of the redirect target when the plugin has no `origin`. Default: 443 (no port in the URL). */
  httpsPort?: number;
  /**
   * Host names (no port) a redirect may go to when the plugin has no `origin`. A request whose Host is
   * not listed gets a 400 instead of a redirect. Default: any well-formed Host. That lets a client
   * choose the redirect target, so set `origin` or this list in production.
   */
  redirectHosts?: readonly string[];
  /** Exact paths (no query) served over plain HTTP despite forceHttps, such as `/healthz`. Default: none. */
  exemptPaths?: readonly string[];
}

/** A route's HTTPS settings, under `config.harden.https`. */
export interface RouteHttpsConfig {
  /** Serves this route over plain HTTP despite forceHttps, for health checks. Default: false. */
  exempt?: boolean;
}

/** Validated HTTPS options. */
export interface ResolvedHttps {
  /** Strict-Transport-Security value decided by helmet, or undefined when HSTS is off. */
  readonly hstsHeader: string | undefined;
  readonly forceHttps: boolean;
  readonly httpsPort: number;
  readonly exemptPaths: ReadonlySet<string>;
  /** Lower-case host names a redirect may go to, or undefined for any well-formed Host. */
  readonly redirectHosts: ReadonlySet<string> | undefined;
}

/** One year in seconds: the least max-age browsers' preload lists accept and the least this plugin allows. */
export const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;

/** Default HSTS max-age: two years. */
export const DEFAULT_HSTS_MAX_AGE = 2 * ONE_YEAR_SECONDS;

const HTTPS_OPTION_NAMES: ReadonlySet<string> = new Set([
  'hsts',
  'dangerouslyDisableHsts',
  'forceHttps',
  'httpsPort',
  'redirectHosts',
  'exemptPaths',
]);
const HSTS_OPTION_NAMES: ReadonlySet<string> = new Set([
  'maxAge',
  'preload',
  'dangerouslyExcludeSubDomains',
  'dangerouslyAllowShortMaxAge',
]);

const BOOLEAN_OPTION_NAMES: ReadonlySet<string> = new Set([
  'dangerouslyDisableHsts',
  'forceHttps',
  'preload',
  'dangerouslyExcludeSubDomains',
  'dangerouslyAllowShortMaxAge',
]);

/** Longest Host header value accepted for a redirect: a 253-character name, a colon and a port. */
const MAX_HOST_LENGTH = 253 + 6;

/** A DNS name or IPv4 address with an optional port, or a bracketed IPv6 address with an optional port. */
const HOST_PATTERN =
  /^(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/i;

/** Tells whether a request arrived over HTTPS, as Fastify's `trustProxy` decides. */
export function isHttpsRequest(request: FastifyRequest): boolean {
  const protocol = request.protocol;
  // A trusted proxy may write the scheme in upper case; Fastify passes it through as sent.
  return protocol === 'https' || protocol?.toLowerCase() === 'https';
}

/**
 * Validates the https option and decides the HSTS header value with helmet. `publicOrigin` is the
 * plugin's `origin`: when it is https, forceHttps defaults to true.
 */
export function resolveHttpsOptions(options: HttpsOptions | undefined, publicOrigin?: string): ResolvedHttps {
  const given = options ?? {};
  rejectUnknownKeys(given, HTTPS_OPTION_NAMES, 'https');

  const servedOverHttps = typeof publicOrigin === 'string' && /^https:\/\//i.test(publicOrigin);
  const forceHttps = given.forceHttps ?? servedOverHttps;
  if (typeof forceHttps !== 'boolean') {
    throw new HardenConfigError('https.forceHttps', forceHttps, 'it is not a boolean', 'write true or false');
  }
  const httpsPort = given.httpsPort ?? 443;
  if (!Number.isInteger(httpsPort) || httpsPort < 1 || httpsPort > 65535) {
    throw new HardenConfigError(
      'https.httpsPort',
      httpsPort,
      'it is not a TCP port',
      'give an integer from 1 to 65535',
    );
  }
  const exemptPaths: unknown = given.exemptPaths ?? [];
  if (!Array.isArray(exemptPaths)) {
    throw new HardenConfigError(
      'https.exemptPaths',
      exemptPaths,
      'it is not a list of paths',
      "write a list such as ['/healthz']",
    );
  }
  exemptPaths.forEach((path: unknown, index) => {
    if (typeof path !== 'string' || !path.startsWith('/') || path.includes('?')) {
      throw new HardenConfigError(
        `https.exemptPaths[${index}]`,
        path,
        'it is not a path',
        "write a path that starts with '/' and has no query, such as '/healthz'",
      );
    }
  });

  const redirectHosts: unknown = given.redirectHosts;
  if (redirectHosts !== undefined && !Array.isArray(redirectHosts)) {
    throw new HardenConfigError(
      'https.redirectHosts',
      redirectHosts,
      'it is not a list of host names',
      "write a list such as ['notes.example']",
    );
  }
  (redirectHosts ?? []).forEach((host: unknown, index: number) => {
    if (typeof host !== 'string' || host.includes(':') || hostForRedirect(host, 443) !== host.toLowerCase()) {
      throw new HardenConfigError(
        `https.redirectHosts[${index}]`,
        host,
        'it is not a host name',
        "write a name without scheme or port, such as 'notes.example'",
      );
    }
  });

  return {
    hstsHeader: given.dangerouslyDisableHsts === true ? undefined : decideHsts(given.hsts ?? {}),
    forceHttps,
    httpsPort,
    exemptPaths: new Set(exemptPaths as string[]),
    redirectHosts:
      redirectHosts === undefined
        ? undefined
        : new Set((redirectHosts as string[]).map((host) => host.toLowerCase())),
  };
}

function decideHsts(hsts: HstsOptions): string {
  rejectUnknownKeys(hsts, HSTS_OPTION_NAMES, 'https.hsts');
  const maxAge = hsts.maxAge ?? DEFAULT_HSTS_MAX_AGE;
  const includeSubDomains = hsts.dangerouslyExcludeSubDomains !== true;
  const preload = hsts.preload === true;

  if (!Number.isInteger(maxAge) || maxAge < 0) {
    throw new HardenConfigError(
      'https.hsts.maxAge',
      maxAge,
      'it is not a whole number of seconds',
      `give seconds, such as ${DEFAULT_HSTS_MAX_AGE} for two years`,
    );
  }
  if (maxAge < ONE_YEAR_SECONDS && hsts.dangerouslyAllowShortMaxAge !== true) {
    throw new HardenConfigError(
      'https.hsts.maxAge',
      maxAge,
      'it is less than one year, so browsers forget to insist on HTTPS between visits',
      `give at least ${ONE_YEAR_SECONDS} (one year), or set dangerouslyAllowShortMaxAge: true for a trial`,
    );
  }
  if (preload && (!includeSubDomains || maxAge < ONE_YEAR_SECONDS)) {
    throw new HardenConfigError(
      'https.hsts.preload',
      true,
      "the browsers' preload lists accept only a policy with includeSubDomains and a max-age of at least one year",
      'remove dangerouslyExcludeSubDomains and dangerouslyAllowShortMaxAge, or leave preload off',
    );
  }

  let value: string | undefined;
  const recorder = {
    setHeader(_name: string, header: string): void {
      value = header;
    },
  };
  helmet.strictTransportSecurity({ maxAge, includeSubDomains, preload })(
    {} as IncomingMessage,
    recorder as unknown as ServerResponse,
    () => {},
  );
  if (value === undefined) throw new Error('helmet set no Strict-Transport-Security header');
  return value;
}

function rejectUnknownKeys(options: object, known: ReadonlySet<string>, prefix: string): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new HardenConfigError(
      prefix,
      options,
      'it is not an object',
      `pass an object with ${[...known].join(', ')}`,
    );
  }
  for (const [key, value] of Object.entries(options)) {
    if (!known.has(key)) {
      throw new HardenConfigError(
        `${prefix}.${key}`,
        value,
        `it is not an option of ${prefix}`,
        `use one of ${[...known].join(', ')}`,
      );
    }
    // Every option named like a switch is a boolean; a string such as 'yes' must not count by truthiness.
    if (BOOLEAN_OPTION_NAMES.has(key) && value !== undefined && typeof value !== 'boolean') {
      throw new HardenConfigError(`${prefix}.${key}`, value, 'it is not a boolean', 'write true or false');
    }
  }
}

/**
 * Registers the redirect of plain HTTP to HTTPS when forceHttps is on. HSTS itself is written by the
 * headers measure's onSend hook, so that a response costs one hook.
 */
export async function registerHttps(
  app: FastifyInstance,
  resolved: ResolvedHttps,
  context: HardenContext,
): Promise<void> {
  app.addHook('onRoute', (route) => {
    const https: unknown = route.config?.harden?.https;
    if (https === undefined) return;
    const routeName = `${[route.method].flat().join(',')} ${route.url}`;
    const prefix = `[${routeName}] config.harden.https`;
    if (https === null || typeof https !== 'object' || Array.isArray(https)) {
      throw new HardenConfigError(
        prefix,
        https,
        'it is not an object',
        'write { exempt: true } or leave it out',
      );
    }
    for (const [key, value] of Object.entries(https)) {
      if (key !== 'exempt')
        throw new HardenConfigError(
          `${prefix}.${key}`,
          value,
          'it is not a route https option',
          'use exempt',
        );
      if (typeof value !== 'boolean')
        throw new HardenConfigError(`${prefix}.exempt`, value, 'it is not a boolean', 'write true or false');
    }
  });

  if (!resolved.forceHttps) return;

  const publicHost = publicHostOf(context.publicOrigin);
  if (publicHost === undefined && resolved.redirectHosts === undefined) {
    app.log.warn(
      { event: 'https.redirect_host_from_request' },
      'forceHttps builds redirect URLs from the request Host header because the plugin has no origin; set origin or https.redirectHosts so clients cannot choose the target host',
    );
  }

  let untrustedProxyReported = false;
  const redirectToHttps: onRequestHookHandler = (request, reply, done) => {
    if (isHttpsRequest(request) || isExempt(request, resolved)) {
      done();
      return;
    }
    // A TLS proxy that trustProxy does not name makes every request look like plain HTTP, so each one is
    // redirected to itself. The header is not trusted here; it only explains the loop, once per process.
    if (!untrustedProxyReported && /^\s*https\s*$/i.test(String(request.headers['x-forwarded-proto']))) {
      untrustedProxyReported = true;
      request.log.warn(
        { event: 'https.untrusted_forwarded_proto', peer: request.socket.remoteAddress },
        "a plain-HTTP request carried X-Forwarded-Proto: https from a peer Fastify's trustProxy does not trust, so it was redirected to HTTPS; if a TLS proxy runs in front of the app, set trustProxy to its address, or every request is redirected in a loop",
      );
    }
    // The redirect sends the reply itself, so done() is called only when it fails before sending.
    redirect(request, reply, publicHost, resolved, context).catch((error: unknown) => done(error as Error));
  };
  app.addHook('onRequest', redirectToHttps);
}

function isExempt(request: FastifyRequest, resolved: ResolvedHttps): boolean {
  // Only plain-HTTP requests reach this, so reading routeOptions (which allocates) is off the HTTPS path.
  if (request.routeOptions.config?.harden?.https?.exempt === true) return true;
  if (resolved.exemptPaths.size === 0) return false;
  const url = request.url;
  const queryStart = url.indexOf('?');
  return resolved.exemptPaths.has(queryStart === -1 ? url : url.slice(0, queryStart));
}

async function redirect(
  request: FastifyRequest,
  reply: FastifyReply,
  publicHost: string | undefined,
  resolved: ResolvedHttps,
  context: HardenContext,
): Promise<void> {
  // RFC 9112 requires a 400 for several Host headers; Node keeps the first and drops the rest silently.
  const host =
    publicHost ??
    (countHostHeaders(request.raw.rawHeaders) === 1 ? allowedHost(request.host, resolved) : undefined);
  const path = request.url;
  if (host === undefined || !path.startsWith('/')) {
    await sendRejection(
      request,
      reply,
      {
        status: 400,
        event: 'https.redirect_refused',
        reason: host === undefined ? 'invalid-host' : 'invalid-target',
        message: 'This request cannot be redirected to HTTPS because its Host header or target is malformed.',
      },
      context.onRejection,
    );
    return;
  }
  const status = request.method === 'GET' || request.method === 'HEAD' ? 301 : 308;
  await reply.code(status).header('location', `https://${host}${path}`).send();
}

function countHostHeaders(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (rawHeaders[index]?.toLowerCase() === 'host') count++;
  }
  return count;
}

function allowedHost(requestHost: string | undefined, resolved: ResolvedHttps): string | undefined {
  const host = hostForRedirect(requestHost, resolved.httpsPort);
  if (host === undefined || resolved.redirectHosts === undefined) return host;
  const name = resolved.httpsPort === 443 ? host : host.slice(0, host.lastIndexOf(':'));
  return resolved.redirectHosts.has(name) ? host : undefined;
}

/** Returns the host (and port) of the configured public origin, or undefined when there is none. */
function publicHostOf(origin: string | undefined): string | undefined {
  if (origin === undefined) return undefined;
  try {
    return new URL(origin).host;
  } catch {
    throw new HardenConfigError(
      'origin',
      origin,
      'it is not a URL',
      "give the app's origin, such as 'https://notes.example'",
    );
  }
}

/**
 * Validates a request's Host header for use in a redirect URL and swaps its port for the HTTPS port.
 * Returns undefined for a malformed Host, so no attacker-shaped value (user info, path, spaces, line
 * breaks, a very long value) reaches the Location header.
 */
export function hostForRedirect(host: string | undefined, httpsPort: number): string | undefined {
  if (!host || host.length > MAX_HOST_LENGTH || !HOST_PATTERN.test(host)) return undefined;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:[0-9]*$/, '');
  return httpsPort === 443 ? name.toLowerCase() : `${name.toLowerCase()}:${httpsPort}`;
}
