import type { FastifyReply, FastifyRequest } from 'fastify';

/** A security layer's decision to refuse a request, before it is written as a response. */
export interface Rejection {
  /** HTTP status: 400 for malformed input, 403 for a refused origin or token, 429 past a rate limit, 503 when a store is down. */
  status: 400 | 403 | 429 | 503;
  /** Stable log event name, for example `csrf.rejected` or `rate_limit.exceeded`. */
  event: string;
  /** Machine-readable reason, logged and returned in the problem body, for example `cross-site` or `token-missing`. */
  reason: string;
  /** Short sentence for the user. Never contains a token, secret or cookie. */
  message: string;
  /** Extra response headers, such as `Retry-After`. */
  headers?: Readonly<Record<string, string>>;
  /** Extra structured log fields. Never a secret, token, password or whole cookie. */
  details?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Application hook that writes a rejection itself, for example to show a refused form again with
 * what the user typed. It returns true when it has sent a response; otherwise the default body is sent.
 */
export type RejectionHandler = (
  rejection: Rejection,
  request: FastifyRequest,
  reply: FastifyReply,
) => boolean | Promise<boolean>;

const TITLES: Record<Rejection['status'], string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/**
 * Logs a rejection once and sends it: through the application's handler when it takes it, else as a
 * JSON problem (RFC 9457) or a small HTML page, whichever the request's Accept header prefers.
 */
export async function sendRejection(
  request: FastifyRequest,
  reply: FastifyReply,
  rejection: Rejection,
  handler: RejectionHandler | undefined,
): Promise<FastifyReply> {
  request.log.warn(
    {
      event: rejection.event,
      reason: rejection.reason,
      method: request.method,
      route: request.routeOptions.url ?? null,
      ...rejection.details,
    },
    rejection.message,
  );

  reply.code(rejection.status);
  if (rejection.headers) reply.headers(rejection.headers);
  if (handler && (await handler(rejection, request, reply))) return reply;
  if (reply.sent) return reply;

  if (prefersHtml(request.headers.accept)) {
    return reply.type('text/html; charset=utf-8').send(renderProblemPage(rejection));
  }
  return reply.type('application/problem+json').send({
    type: 'about:blank',
    title: TITLES[rejection.status],
    status: rejection.status,
    detail: rejection.message,
    reason: rejection.reason,
  });
}

/**
 * Tells whether an Accept header ranks text/html above JSON. A browser navigation sends
 * `text/html,...`; fetch sends `*\/*` and API clients send `application/json`, which both get JSON.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  let html = -1;
  let json = -1;
  for (const part of accept.split(',')) {
    const [rawType = '', ...params] = part.split(';');
    const type = rawType.trim().toLowerCase();
    let quality = 1;
    for (const param of params) {
      const [name, value] = param.split('=');
      if (name?.trim().toLowerCase() === 'q') {
        const parsed = Number(value);
        quality = Number.isFinite(parsed) ? parsed : 0;
      }
    }
    if (type === 'text/html' || type === 'application/xhtml+xml') html = Math.max(html, quality);
    if (type === 'application/json' || type === 'application/problem+json') json = Math.max(json, quality);
  }
  return html > 0 && html >= json;
}

/** Escapes text for an HTML element body or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function renderProblemPage(rejection: Rejection): string {
  const title = `${rejection.status} ${TITLES[rejection.status]}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>
<body><h1>${title}</h1><p>${escapeHtml(rejection.message)}</p></body></html>
`;
}
