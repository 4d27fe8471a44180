import { STATUS_CODES } from 'node:http';
import { escapeHtml, prefersHtml } from '@harden/fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Fixed messages for the errors Fastify's router sends before routing: a URL it cannot decode
 * (`/%E0%A4%A`) and a path parameter over `maxParamLength`. Fastify's own messages quote the URL, so
 * they are never sent.
 */
const ROUTER_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_BAD_URL: 'The address of this request is not valid.',
  FST_ERR_MAX_PARAM_LENGTH: 'The address of this request is too long.',
};

/**
 * Security headers of a router error. Fastify sends these replies without running any hook (the
 * context it builds for them has none), so the headers measure of @harden/fastify, an onSend hook, never
 * runs for them. The body is a fixed page with no script, style or link, so the policy allows nothing.
 * The other values are the plugin's defaults; `router errors carry every header of the plugin's 404`
 * in bad-input.test.ts fails when the plugin adds a header this list lacks.
 */
export const ROUTER_ERROR_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
  'permissions-policy':
    'accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), hid=(), idle-detection=(), local-fonts=(), magnetometer=(), microphone=(), midi=(), payment=(), screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()',
  'cache-control': 'no-store',
};

/** The plugin's default Strict-Transport-Security value, sent on router errors over HTTPS only. */
const HSTS = 'max-age=63072000; includeSubDomains';

/**
 * Fastify's `frameworkErrors` handler: sends a router error with its status kept (400 or 414), a fixed
 * message that never echoes the URL, a body that fits Accept, and the security headers. These requests
 * skip every hook, so the rate limiter does not count them and CORS headers are not added: their body
 * says nothing a cross-origin reader could use, and the router does no work worth limiting.
 */
export function handleRouterError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status =
    typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500
      ? error.statusCode
      : 400;
  const title = STATUS_CODES[status] ?? 'Bad Request';
  const detail = ROUTER_MESSAGES[error.code] ?? 'The request was not accepted.';
  request.log.info({ event: 'request.invalid', status, code: error.code }, 'router rejected the request');

  reply.code(status).headers(ROUTER_ERROR_HEADERS);
  if (isHttps(request)) reply.header('strict-transport-security', HSTS);
  if (prefersHtml(request.headers.accept)) {
    const heading = escapeHtml(`${status} ${title}`);
    reply
      .type('text/html; charset=utf-8')
      .send(
        `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${heading}</title></head>\n<body><h1>${heading}</h1><p>${escapeHtml(detail)}</p></body></html>\n`,
      );
    return;
  }
  // A string, because these replies have no serializer of the app's own.
  reply.type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title, status, detail }));
}

/** True on the TLS listener itself; a proxy's X-Forwarded-Proto is not read here. */
function isHttps(request: FastifyRequest): boolean {
  return (request.raw.socket as { encrypted?: boolean } | null)?.encrypted === true;
}
