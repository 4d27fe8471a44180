import type {} from '@fastify/csrf-protection';
import type { FastifyReply } from 'fastify';

/**
 * Returns the CSRF token for the hidden `_csrf` field of a form (and for the `x-csrf-token` header of
 * API calls). Every form of the app takes its token from here and nowhere else.
 */
export function csrfToken(reply: FastifyReply): string {
  // TODO: until @harden/fastify registers @fastify/csrf-protection, `generateCsrf` is missing and
  // forms carry an empty token, which means they are NOT protected against CSRF yet.
  if (typeof reply.generateCsrf !== 'function') return '';
  return reply.generateCsrf();
}
