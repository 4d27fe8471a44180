// The plugin registers @fastify/session and @fastify/csrf-protection, so an app that uses
// `request.session` and `reply.generateCsrf()` gets their types through this package.
/// <reference types="@fastify/session" preserve="true" />
/// <reference types="@fastify/csrf-protection" preserve="true" />
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { registerAudit, resolveInstances } from './audit.js';
import type { HardenContext } from './context.js';
import { registerCors, resolveCorsOptions } from './cors.js';
import { registerCsrf, resolveCsrfOptions } from './csrf.js';
import { registerErrorHandlers } from './errors.js';
import { registerHeaders, resolveHeadersOptions } from './headers.js';
import { registerHttps, resolveHttpsOptions } from './https.js';
import { assertKnownOptions, type HardenOptions } from './options.js';
import { registerRateLimit, resolveRateLimitOptions } from './rate-limit.js';
import { registerSession, resolveSessionOptions } from './sessions.js';
import { openStore } from './store.js';

/**
 * Registers every measure: rate limits, HTTPS and HSTS, security headers, CORS, server-side sessions
 * and CSRF protection, in that order. Every option is validated before anything is registered.
 */
const hardenPlugin: FastifyPluginAsync<HardenOptions> = async (
  app: FastifyInstance,
  options: HardenOptions,
) => {
  assertKnownOptions(options);
  const https = resolveHttpsOptions(options.https, options.origin);
  const headers = resolveHeadersOptions(options.headers);
  const cors = resolveCorsOptions(options.cors);
  const session = resolveSessionOptions(options.session);
  const rateLimit = resolveRateLimitOptions(options.rateLimit);
  const csrf = resolveCsrfOptions(options.csrf, {
    cors,
    publicOrigin: options.origin,
    sessionCookieName: session?.cookieName,
  });
  const instances = resolveInstances(options.instances);

  const { store, close } = await openStore(options.store, app.log);
  app.addHook('onClose', close);

  const context: HardenContext = {
    store,
    publicOrigin: options.origin,
    onRejection: options.onRejection,
    production: process.env.NODE_ENV === 'production',
  };

  // Rate limits first: the default limit counts every request before another measure can refuse it.
  await registerRateLimit(app, rateLimit, context);
  await registerHttps(app, https, context);
  await registerHeaders(app, headers, context, https.hstsHeader);
  if (options.errorHandlers !== false) registerErrorHandlers(app);
  await registerCors(app, cors, context);
  await registerSession(app, session, context);
  const csrfRegistration = await registerCsrf(app, csrf, context);
  registerAudit(app, { https, headers, cors, session, csrf: csrfRegistration, instances }, context);
};

/** The Harden plugin for Fastify 5: `await app.register(harden, { session: { secret } })`. */
export const harden = fp(hardenPlugin, { fastify: '5.x', name: '@harden/fastify' });
export default harden;

export type { AuditSources } from './audit.js';
export { getAuditFindings, HardenAuditError } from './audit.js';
export type { HardenContext } from './context.js';
export type { CorsOptions, RouteCorsConfig } from './cors.js';
export type { CsrfOptions, RouteCsrfConfig } from './csrf.js';
export type { ErrorPage } from './errors.js';
export { handleError, handleNotFound, sendErrorPage } from './errors.js';
export type {
  CspDirectiveOverrides,
  CspOptions,
  HeadersOptions,
  ReferrerPolicy,
  RouteHeadersConfig,
  SecurityHeaderName,
} from './headers.js';
export { DEFAULT_CSP_DIRECTIVES, DEFAULT_HEADER_VALUES, SECURITY_HEADER_NAMES } from './headers.js';
export type { HstsOptions, HttpsOptions, RouteHttpsConfig } from './https.js';
export type { HardenOptions, RouteHardenConfig } from './options.js';
export type {
  Attempt,
  AttemptGuard,
  BruteForceApi,
  BruteForceOptions,
  GuardOptions,
  HardenApi,
  RateLimitOptions,
  RouteRateLimitConfig,
  StoreErrorBehavior,
} from './rate-limit.js';
export { accountKey, mailboxKey, normalizeAccountId } from './rate-limit.js';
export type { Rejection, RejectionHandler } from './reject.js';
export { escapeHtml, prefersHtml, sendRejection } from './reject.js';
export type { RouteSessionConfig, SessionOptions } from './sessions.js';
export type { RedisClient, SharedStore, StoreOptions } from './store.js';
