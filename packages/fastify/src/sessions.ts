import fastifyCookie, { type CookieSerializeOptions } from '@fastify/cookie';
import fastifySession, { type FastifySessionObject, type SessionStore } from '@fastify/session';
import { HardenConfigError, isLoopbackAddress, isLoopbackHostname } from '@harden/core';
import Database from 'better-sqlite3';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HardenContext } from './context.js';
import { sendRejection } from './reject.js';
import type { ResolvedSession } from './session-options.js';
import {
  GuardedSessionStore,
  sessionExpiresAt,
  type UpdatableSessionStore,
} from './session-stores/guarded.js';
import { RedisSessionStore } from './session-stores/redis.js';
import { SqliteSessionStore } from './session-stores/sqlite.js';

declare module 'fastify' {
  interface Session {
    /**
     * Milliseconds since the epoch when the session was first stored, set by the plugin. The absolute
     * lifetime counts from it; a login that regenerates the session starts a new one.
     */
    createdAt?: number;
  }
}

export type { ResolvedSession, RouteSessionConfig, SessionOptions } from './session-options.js';
export { resolveSessionOptions, SESSION_DEFAULTS } from './session-options.js';

/** Longest accepted session cookie value. Ours are 76 characters: a 32-character id, a dot, a 43-character HMAC. */
const MAX_SESSION_COOKIE_LENGTH = 256;

/**
 * Fraction of the idle timeout that must pass after a save before an unmodified session is saved
 * again to move its idle window forward. Requests that only read a session write it at most once
 * per interval, so a session may end up to this fraction of the idle timeout before the idle timeout
 * after its last request has passed.
 */
const ROLLING_SAVE_INTERVAL = 0.1;

/** Retry-After value, in seconds, of a 503 sent while the session store is down. */
const STORE_RETRY_AFTER_SECONDS = '5';

// @fastify/session 11 (index.js, onSend) saves nothing and sends no cookie when `cookie.secure === true`
// and `request.protocol !== 'https'`. Browsers treat http://localhost and http://127.0.0.1 as secure
// contexts and store Secure cookies from them, so on a loopback connection the flag is set to this
// truthy value instead of `true`: that guard lets the session through, and the cookie serializer
// (cookie 2.x writes Secure for any truthy `secure`) still sends the attribute.
const SECURE_ON_LOOPBACK = 'loopback' as unknown as boolean;

/**
 * Registers @fastify/cookie (unless the app already did) and @fastify/session on the plugin's store,
 * with the hooks that keep the session cookie's attributes, reject duplicated session cookies, respond
 * with 503 while the store is down and clear the cookie after logout.
 */
export async function registerSession(
  app: FastifyInstance,
  resolved: ResolvedSession | undefined,
  context: HardenContext,
): Promise<void> {
  if (resolved === undefined) return;
  if (app.hasPlugin('@fastify/session')) {
    throw new HardenConfigError(
      'session',
      '<set>',
      '@fastify/session is already registered, and the plugin registers it itself',
      'remove your own registration of @fastify/session, or pass session: false to keep yours',
    );
  }

  const { store, isAvailable } = openSessionStore(app, resolved, context);
  if (resolved.insecureCookieOverHttp) {
    app.log.warn(
      { event: 'session.insecure_cookie' },
      'session.insecureCookieOverHttp is on: over plain HTTP to a non-loopback host the session cookie travels without Secure, readable by anyone on the network',
    );
  }
  const cookieName = resolved.cookieName;

  if (!app.hasPlugin('@fastify/cookie')) {
    // Defaults of every cookie set through reply.setCookie, including the clearing cookie that
    // @fastify/session sends for a stale id: a `__Host-` cookie is only replaced by a Secure one.
    await app.register(fastifyCookie, {
      parseOptions: {
        secure: resolved.insecureCookieOverHttp ? 'auto' : true,
        httpOnly: true,
        sameSite: resolved.sameSite,
        path: '/',
      },
    });
  }

  // Hook order matters: this onRequest hook runs after @fastify/cookie has parsed the header and before
  // @fastify/session reads the session, and this onSend hook before @fastify/session saves it.
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.cookie;
    if (header === undefined) return;
    if (countCookies(header, cookieName) > 1) {
      return sendRejection(
        request,
        reply,
        {
          status: 400,
          event: 'session.cookie_rejected',
          reason: 'duplicate-cookie',
          message:
            'The request carries the session cookie more than once. Clear the cookies of this site and sign in again.',
        },
        context.onRejection,
      );
    }
    const value = request.cookies[cookieName];
    if (value !== undefined && value.length > MAX_SESSION_COOKIE_LENGTH) {
      // Too long to be one of ours: drop it so the request gets a fresh session without a store lookup.
      delete request.cookies[cookieName];
      request.log.info(
        { event: 'session.cookie_ignored', reason: 'oversized', length: value.length },
        'session cookie ignored',
      );
      return;
    }
    if (value !== undefined && !isAvailable()) {
      return sendRejection(
        request,
        reply,
        {
          status: 503,
          event: 'session.store_unavailable',
          reason: 'store-unavailable',
          message: 'Sessions are unavailable for a moment. Try again shortly.',
          headers: { 'retry-after': STORE_RETRY_AFTER_SECONDS },
        },
        context.onRejection,
      );
    }
  });

  let warnedAboutPlainHttp = false;
  app.addHook('onSend', (request, _reply, payload, done) => {
    const session = sessionOf(request);
    if (session === undefined) {
      done(null, payload);
      return;
    }
    const transport = transportOf(request);
    session.cookie.path = '/';
    session.cookie.httpOnly = true;
    session.cookie.sameSite = resolved.sameSite;
    session.cookie.secure = secureAttribute(transport, resolved.insecureCookieOverHttp);

    const withheld = transport === 'plain-http' && !resolved.insecureCookieOverHttp;
    if (withheld && !warnedAboutPlainHttp && session.isModified()) {
      warnedAboutPlainHttp = true;
      request.log.warn(
        { event: 'session.cookie_withheld', reason: 'plain-http' },
        'session not saved: its Secure cookie cannot go over plain HTTP to a non-loopback host. Serve HTTPS, set trustProxy behind a TLS proxy, or set session.insecureCookieOverHttp for development',
      );
    }

    const resigned = acceptRotatedSignature(request, session, cookieName);
    if (withheld || session.isModified() || !isStored(session)) {
      // @fastify/session saves a modified session itself, and an unstored one only once it contains data.
      done(null, payload);
      return;
    }
    if (!resigned && !isRollingSaveDue(session, resolved.idleTimeout)) {
      done(null, payload);
      return;
    }
    // Saving here marks the session saved, so @fastify/session sends the cookie with the new expiry.
    session.touch();
    session.save((error?: unknown) => {
      if (error) done(error instanceof Error ? error : new Error(String(error)));
      else done(null, payload);
    });
  });

  await app.register(fastifySession, {
    secret: [...resolved.secrets],
    cookieName,
    cookie: {
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: resolved.sameSite,
      maxAge: resolved.idleTimeout,
    },
    store,
    saveUninitialized: false,
    // The idle window rolls through the onSend hook above, which saves at most every ROLLING_SAVE_INTERVAL of the idle
    // timeout, instead of writing the store on every request.
    rolling: false,
  });

  // @fastify/session leaves `request.session` an empty object when the request target is not a path
  // under the cookie's Path, such as the absolute form `GET http://host/notes`. Fastify still routes
  // such a request, and the app would fail on `request.session.get`, so it gets its session here.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.session === null || sessionOf(request) !== undefined) {
      done();
      return;
    }
    app.decryptSession(request.cookies[cookieName] ?? '', request, done);
  });

  // After @fastify/session's onSend: it sends nothing for a destroyed session, so logout clears the cookie here.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.session === null && request.cookies?.[cookieName] !== undefined) {
      reply.clearCookie(cookieName, clearingCookieOptions(request, resolved));
    }
    done(null, payload);
  });
}

type Transport = 'https' | 'loopback-http' | 'plain-http';

/**
 * Classifies how the request reached the app. HTTPS comes from Fastify's `request.protocol`, so it
 * follows the `trustProxy` setting. Loopback HTTP needs both a loopback peer and a loopback Host, the
 * origin a browser on this machine treats as a secure context.
 */
function transportOf(request: FastifyRequest): Transport {
  if (request.protocol === 'https') return 'https';
  if (isLoopbackAddress(request.raw.socket.remoteAddress) && isLoopbackHostname(request.hostname)) {
    return 'loopback-http';
  }
  return 'plain-http';
}

function secureAttribute(transport: Transport, insecureCookieOverHttp: boolean): boolean {
  if (transport === 'https') return true;
  if (transport === 'loopback-http') return SECURE_ON_LOOPBACK;
  // Over other plain HTTP, `true` makes @fastify/session keep the session to itself (see SECURE_ON_LOOPBACK).
  return !insecureCookieOverHttp;
}

function clearingCookieOptions(request: FastifyRequest, resolved: ResolvedSession): CookieSerializeOptions {
  return {
    path: '/',
    httpOnly: true,
    sameSite: resolved.sameSite,
    secure: secureAttribute(transportOf(request), resolved.insecureCookieOverHttp),
  };
}

/**
 * Makes @fastify/session accept a cookie that an older secret of the rotation list verified. It
 * compares the cookie with the session id signed by the first secret, and when they differ and the
 * session is unmodified it clears the cookie, which would sign the user out at every rotation. The
 * cookie is recorded as current instead. Returns true when that happened, so the caller saves the
 * session and the response carries the cookie signed by the new secret.
 */
function acceptRotatedSignature(
  request: FastifyRequest,
  session: FastifySessionObject,
  cookieName: string,
): boolean {
  const sent = request.cookies[cookieName];
  if (sent === undefined || sent === session.encryptedSessionId) return false;
  const sentId = sent.slice(0, sent.lastIndexOf('.'));
  // The id only matches when @fastify/session verified the signature and loaded this very session.
  if (sentId !== session.sessionId) return false;
  request.cookies[cookieName] = session.encryptedSessionId;
  return true;
}

/** Tells whether the session was loaded from the store or saved before, which stamps `createdAt`. */
function isStored(session: FastifySessionObject): boolean {
  return typeof session.createdAt === 'number';
}

/**
 * Tells whether ROLLING_SAVE_INTERVAL of the idle timeout has passed since the session was last
 * saved. @fastify/session 11 keeps the stored expiry as `cookie.originalExpires` when it loads a
 * session and moves `cookie.expires` to now + idle timeout; a save sets the expiry idle timeout ahead.
 */
function isRollingSaveDue(session: FastifySessionObject, idleTimeout: number): boolean {
  const storedExpiry = (session.cookie as { originalExpires?: Date | string }).originalExpires;
  if (storedExpiry === undefined) return true;
  const remaining = new Date(storedExpiry).getTime() - Date.now();
  return !(remaining <= idleTimeout && remaining > idleTimeout * (1 - ROLLING_SAVE_INTERVAL));
}

/** Returns the request's session, or undefined after destroy() or before @fastify/session ran. */
function sessionOf(request: FastifyRequest): FastifySessionObject | undefined {
  const session: unknown = request.session;
  if (typeof session !== 'object' || session === null) return undefined;
  if (typeof (session as Partial<FastifySessionObject>).isModified !== 'function') return undefined;
  return session as FastifySessionObject;
}

/** Counts the pairs of a Cookie header whose name is `name`, as browsers send them (`a=1; b=2`). */
export function countCookies(header: string, name: string): number {
  let count = 0;
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals !== -1 && pair.slice(0, equals).trim() === name) count += 1;
  }
  return count;
}

function openSessionStore(
  app: FastifyInstance,
  resolved: ResolvedSession,
  context: HardenContext,
): { store: SessionStore; isAvailable: () => boolean } {
  const expiresAt = (session: Parameters<typeof sessionExpiresAt>[0]) =>
    sessionExpiresAt(session, resolved.idleTimeout, resolved.absoluteTimeout);
  const shared = context.store;
  let inner: UpdatableSessionStore;
  let isAvailable = () => true;

  if (shared.kind === 'redis') {
    inner = new RedisSessionStore(shared.client, {
      prefix: `${shared.keyPrefix}sess:`,
      expiresAt,
    }).asSessionStore();
    isAvailable = () => shared.client.isReady;
  } else {
    let db: Database.Database;
    if (shared.kind === 'sqlite') {
      db = shared.db;
    } else {
      if (!resolved.dangerouslyAllowMemoryStore) {
        throw new HardenConfigError(
          'store',
          { memory: true },
          'sessions need a store that keeps them on the server across restarts and instances',
          'use { sqlite: path } or { redis: url }, or set session.dangerouslyAllowMemoryStore for tests',
        );
      }
      app.log.warn(
        { event: 'session.memory_store' },
        'sessions live in process memory: they vanish on restart and are not shared between instances',
      );
      db = new Database(':memory:');
      app.addHook('onClose', async () => void db.close());
    }
    const sqlite = new SqliteSessionStore(db, {
      expiresAt,
      purgeInterval: resolved.purgeInterval,
      log: app.log,
    });
    app.addHook('onClose', async () => sqlite.close());
    inner = sqlite;
  }

  return {
    store: new GuardedSessionStore(inner, {
      absoluteTimeout: resolved.absoluteTimeout,
      isAvailable,
      log: app.log,
    }),
    isAvailable,
  };
}
