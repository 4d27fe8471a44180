import type {} from '@fastify/csrf-protection';
import type { FastifyReply } from 'fastify';

/** Token of each reply, so a page with many forms (one per note) creates one token, not one per form. */
const tokens = new WeakMap<FastifyReply, string>();

/**
 * Returns the CSRF token for the hidden `_csrf` field of a form (and for the `x-csrf-token` header of
 * API calls). Every form of the app takes its token from here and nowhere else. The token is bound to
 * a secret that @fastify/csrf-protection, registered by @harden/fastify, keeps in the server-side session.
 */
export function csrfToken(reply: FastifyReply): string {
  let token = tokens.get(reply);
  if (token === undefined) {
    token = reply.generateCsrf();
    tokens.set(reply, token);
  }
  return token;
}
