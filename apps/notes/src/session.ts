import type {} from '@fastify/session';
import type { FastifyRequest } from 'fastify';
import type { NotesDatabase, User } from './db.js';

declare module 'fastify' {
  interface Session {
    /** The signed-in user's id. */
    accountId?: number;
    /** The user's session version at sign-in. A password reset raises it, which ends this session. */
    sessionVersion?: number;
  }
}

/** Name of the session cookie, given to @harden/fastify, so a rejection can tell whether a request carried one. */
export const SESSION_COOKIE_NAME = '__Host-sid';

/**
 * True when the request came with the session cookie, whether or not the session it names still exists.
 * A request rejected before @fastify/cookie parsed its cookies (the default rate limit runs first) is
 * read from its Cookie header.
 */
export function hasSessionCookie(request: FastifyRequest): boolean {
  const cookies = request.cookies as FastifyRequest['cookies'] | null | undefined;
  if (cookies != null) return cookies[SESSION_COOKIE_NAME] !== undefined;
  const header = request.headers.cookie ?? '';
  return header.split(';').some((pair) => pair.split('=', 1)[0]?.trim() === SESSION_COOKIE_NAME);
}

/**
 * True once @fastify/session has loaded the request's session. A request rejected in `onRequest` (the
 * default rate limit, a duplicated session cookie) never gets that far, and `request.session` is null.
 */
export function isSessionLoaded(request: FastifyRequest): boolean {
  const session = request.session as FastifyRequest['session'] | null;
  return session !== null && typeof session.get === 'function';
}

/**
 * True when the request's session was loaded from the store, not created for this request: the store
 * stamps `createdAt` on a session's first write. A made-up or wrongly signed cookie gets a new session.
 */
export function hasStoredSession(request: FastifyRequest): boolean {
  return isSessionLoaded(request) && typeof request.session.createdAt === 'number';
}

/**
 * Signs the user in. The session is regenerated first, so the id a visitor had before login (which an
 * attacker may have planted) never carries the signed-in state, and the old record is deleted.
 */
export async function signIn(request: FastifyRequest, user: User): Promise<void> {
  await request.session.regenerate();
  request.session.set('accountId', user.id);
  request.session.set('sessionVersion', user.sessionVersion);
}

/** Signs out: deletes the server-side session record, so the cookie stops working everywhere. */
export async function signOut(request: FastifyRequest): Promise<void> {
  await request.session.destroy();
}

/**
 * Returns the signed-in user, or undefined. A session whose user is gone or whose password was reset
 * after it signed in is destroyed here, so it cannot be used again.
 */
export async function currentUser(request: FastifyRequest, db: NotesDatabase): Promise<User | undefined> {
  const session = request.session;
  const accountId = session.get('accountId');
  if (accountId === undefined) return undefined;
  const user = db.findUserById(accountId);
  if (user && user.sessionVersion === session.get('sessionVersion')) return user;
  request.log.info(
    { event: 'session.revoked', userId: accountId },
    'session ended: account changed since sign-in',
  );
  await session.destroy();
  return undefined;
}
