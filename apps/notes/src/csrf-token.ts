import type {} from '@fastify/csrf-protection';
import type { FastifyReply } from 'fastify';

/**
 * Returns the CSRF token for the hidden `_csrf` field of a form (and for the `x-csrf-token` header of
 * API calls). Every form of the app takes its token from here and nowhere else. The token is bound to
 * a secret that @fastify/csrf-protection, registered by @harden/fastify, keeps in the server-side session.
 */
export function csrfToken(reply: FastifyReply): string {
  return reply.generateCsrf();
}
