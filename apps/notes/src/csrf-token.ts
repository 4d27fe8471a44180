import type {} from '@fastify/csrf-protection';
import type { FastifyReply } from 'fastify';

/** Token of each reply, so a page with many forms (one per note) creates one token, not one per form. */
const tokens = new WeakMap<FastifyReply, string>();

/** Replies whose forms are rendered without a token, so that rendering them stores no session. */
const tokenless = new WeakSet<FastifyReply>();

/**
 * Renders this reply's forms without the `_csrf` field, so rendering them creates no session. For a
 * rejected request with no stored session: one that may belong to an attacker's flood stores nothing.
 */
export function omitCsrfToken(reply: FastifyReply): void {
  tokenless.add(reply);
}

/** Returns the token for a form's hidden `_csrf` field, or undefined after `omitCsrfToken` for the reply. */
export function formCsrfToken(reply: FastifyReply): string | undefined {
  return tokenless.has(reply) ? undefined : csrfToken(reply);
}

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
