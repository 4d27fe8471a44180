import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { escapeHtml, prefersHtml } from './reject.js';

/**
 * Messages for Fastify's own client errors. Their original messages can quote the request body (a JSON
 * parser's "Unexpected token ... in JSON"), so they are never sent as they are.
 */
const CLIENT_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'The request body is not valid JSON.',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request body is empty but its content type is JSON.',
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is too large.',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'The request content type is not supported.',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'The Content-Length header does not match the body.',
  FST_ERR_CTP_EMPTY_TYPE: 'The request has an empty Content-Type header.',
  FST_ERR_CTP_INVALID_TYPE: 'The request Content-Type header is invalid.',
  FST_ERR_BAD_URL: 'The request URL is malformed.',
  FST_ERR_ASYNC_CONSTRAINT: 'The request does not match this route.',
  FST_ERR_NOT_FOUND: 'There is nothing at this address.',
};

/** The body of an error response: a JSON problem (RFC 9457) or a small HTML page, by Accept. */
export interface ErrorPage {
  status: number;
  title: string;
  detail: string;
}

/**
 * Sets the plugin-wide error and not-found handlers, so no response carries a stack trace or an internal
 * error message. A 4xx keeps its status and gets a message safe to show. A 5xx gets a generic message and
 * is logged at error level with the error. The headers measure's onSend hook adds the security headers
 * to these responses too.
 */
export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
}

/** Writes a safe response for an error thrown by a route, a hook or Fastify itself. */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // A 503 is kept because the session store throws it while Redis is down, and clients may retry it.
  const unavailable = (error as { statusCode?: unknown } | null)?.statusCode === 503;
  const status = clientStatusOf(error) ?? (unavailable ? 503 : 500);
  if (status >= 500) {
    request.log.error({ event: 'request.failed', err: error }, 'request failed');
    return sendErrorPage(request, reply, {
      status,
      title: STATUS_CODES[status] ?? 'Internal Server Error',
      detail: 'Something went wrong on our side. Try again later.',
    });
  }
  request.log.info(
    { event: 'request.invalid', status, code: error?.code },
    'request rejected with a client error',
  );
  return sendErrorPage(request, reply, {
    status,
    title: STATUS_CODES[status] ?? 'Bad Request',
    detail: clientMessageOf(error, status),
  });
}

/** Writes the 404 response for a path no route matches. */
export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  request.log.info({ event: 'request.not_found', method: request.method }, 'no route matches the request');
  return sendErrorPage(request, reply, {
    status: 404,
    title: 'Not Found',
    detail: 'There is nothing at this address.',
  });
}

/** Sends an error page as HTML or as a JSON problem, whichever the request's Accept header prefers. */
export function sendErrorPage(request: FastifyRequest, reply: FastifyReply, page: ErrorPage): FastifyReply {
  reply.code(page.status);
  if (prefersHtml(request.headers.accept)) {
    const title = escapeHtml(`${page.status} ${page.title}`);
    return reply
      .type('text/html; charset=utf-8')
      .send(
        `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1><p>${escapeHtml(page.detail)}</p></body></html>\n`,
      );
  }
  return reply
    .type('application/problem+json')
    .send({ type: 'about:blank', title: page.title, status: page.status, detail: page.detail });
}

/** Returns the 4xx status an error carries, or undefined for a server error or a value that is not an error. */
function clientStatusOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { statusCode, status } = error as { statusCode?: unknown; status?: unknown };
  const candidate = typeof statusCode === 'number' ? statusCode : status;
  return typeof candidate === 'number' && Number.isInteger(candidate) && candidate >= 400 && candidate <= 499
    ? candidate
    : undefined;
}

/**
 * Picks a 4xx message safe to show: schema validation messages (they name the field, not the server's
 * internals), a fixed message for Fastify's own codes, the message of an error marked `expose: true`
 * (the http-errors convention), else the status text.
 */
function clientMessageOf(error: FastifyError, status: number): string {
  if (error.validation) return error.message;
  const known = error.code === undefined ? undefined : CLIENT_MESSAGES[error.code];
  if (known) return known;
  if ((error as { expose?: unknown }).expose === true && typeof error.message === 'string')
    return error.message;
  return `${STATUS_CODES[status] ?? 'Bad Request'}.`;
}
