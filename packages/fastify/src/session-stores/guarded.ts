import type { SessionStore } from '@fastify/session';
import type { FastifyBaseLogger, Session } from 'fastify';

type Callback = (error?: unknown) => void;

/** A session store that can also write a session only while its record exists. */
export interface UpdatableSessionStore extends SessionStore {
  update(sessionId: string, session: Session, callback: Callback): void;
}
type GetCallback = (error: unknown, session?: Session | null) => void;

/** Settings of the session guard. */
export interface SessionGuardOptions {
  /** Milliseconds after `createdAt` when a session ends however active it is. */
  absoluteTimeout: number;
  /** Tells whether the store can take commands now. A Redis client that is reconnecting cannot. */
  isAvailable: () => boolean;
  /** Logger for corrupt records. */
  log: FastifyBaseLogger;
}

/**
 * The error a session operation fails with while the store is down. Fastify's error handler turns
 * `statusCode` into the response status, so the client sees 503, not 500; the message names no
 * internal address and the original error is kept as `cause` for the log.
 */
export class SessionStoreUnavailableError extends Error {
  readonly statusCode = 503;
  readonly code = 'HARDEN_SESSION_STORE_UNAVAILABLE';

  constructor(cause?: unknown) {
    super('The session store is unavailable. Try again shortly.', { cause });
    this.name = 'SessionStoreUnavailableError';
  }
}

/**
 * Returns when a session expires, in milliseconds since the epoch: the end of its idle window (the
 * cookie's `expires`, moved forward on every save) or the end of its absolute lifetime, whichever
 * comes first.
 */
export function sessionExpiresAt(session: Session, idleTimeout: number, absoluteTimeout: number): number {
  const now = Date.now();
  const cookieExpires = session.cookie?.expires ? new Date(session.cookie.expires).getTime() : Number.NaN;
  const idleEnd = Number.isFinite(cookieExpires) ? cookieExpires : now + idleTimeout;
  const createdAt = typeof session.createdAt === 'number' ? session.createdAt : now;
  return Math.min(idleEnd, createdAt + absoluteTimeout);
}

/**
 * Wraps a session store with the rules every store must keep, whatever its backend:
 * - a record past its idle window or absolute lifetime, or one that is not a session object, is
 *   deleted and read as no session, so @fastify/session gives the request a fresh id;
 * - the first write stamps `createdAt`, from which the absolute lifetime counts, and inserts the record;
 * - a later write (the session has `createdAt`) only updates an existing record. So a request that
 *   loaded the session before a concurrent logout or login deleted it cannot write it back;
 * - a failing or unavailable store fails with SessionStoreUnavailableError (503);
 * - each callback runs once, even if a backend would call it again after it threw.
 */
export class GuardedSessionStore implements SessionStore {
  readonly #inner: UpdatableSessionStore;
  readonly #options: SessionGuardOptions;

  constructor(inner: UpdatableSessionStore, options: SessionGuardOptions) {
    this.#inner = inner;
    this.#options = options;
  }

  get(sessionId: string, callback: GetCallback): void {
    const done = once(callback);
    if (!this.#options.isAvailable()) {
      done(new SessionStoreUnavailableError());
      return;
    }
    this.#inner.get(sessionId, (error, stored) => {
      if (error) {
        done(new SessionStoreUnavailableError(error));
        return;
      }
      if (stored === null || stored === undefined) {
        done(null, null);
        return;
      }
      const problem = this.#problemOf(stored);
      if (problem === undefined) {
        done(null, stored);
        return;
      }
      if (problem === 'corrupt') {
        this.#options.log.warn(
          { event: 'session.corrupt_record' },
          'a stored session had an unexpected shape; it was deleted and the request gets a fresh session',
        );
      }
      // The request goes on with a fresh session whether or not the delete succeeds; the TTL or the
      // purge removes the record later.
      this.#inner.destroy(sessionId, () => done(null, null));
    });
  }

  set(sessionId: string, session: Session, callback: Callback): void {
    const done = once(callback);
    if (!this.#options.isAvailable()) {
      done(new SessionStoreUnavailableError());
      return;
    }
    const finish = (error?: unknown) => done(error ? new SessionStoreUnavailableError(error) : null);
    if (typeof session.createdAt === 'number') {
      this.#inner.update(sessionId, session, finish);
      return;
    }
    session.createdAt = Date.now();
    this.#inner.set(sessionId, session, finish);
  }

  destroy(sessionId: string, callback: Callback): void {
    const done = once(callback);
    if (!this.#options.isAvailable()) {
      done(new SessionStoreUnavailableError());
      return;
    }
    this.#inner.destroy(sessionId, (error) => done(error ? new SessionStoreUnavailableError(error) : null));
  }

  #problemOf(stored: unknown): 'corrupt' | 'expired' | undefined {
    if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return 'corrupt';
    // JSON.parse makes "__proto__" an own key, and @fastify/session copies every key onto the session.
    if (Object.hasOwn(stored, '__proto__')) return 'corrupt';
    const record = stored as Partial<Session>;
    if (typeof record.cookie !== 'object' || record.cookie === null) return 'corrupt';
    if (typeof record.createdAt !== 'number' || !Number.isFinite(record.createdAt)) return 'corrupt';

    const now = Date.now();
    if (record.createdAt + this.#options.absoluteTimeout <= now) return 'expired';
    const expires = record.cookie.expires ? new Date(record.cookie.expires).getTime() : Number.NaN;
    if (Number.isFinite(expires) && expires <= now) return 'expired';
    return undefined;
  }
}

function once<Arguments extends unknown[]>(
  callback: (...args: Arguments) => void,
): (...args: Arguments) => void {
  let called = false;
  return (...args: Arguments) => {
    if (called) return;
    called = true;
    callback(...args);
  };
}
