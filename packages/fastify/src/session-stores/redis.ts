import type { SessionStore } from '@fastify/session';
import { RedisStore } from 'connect-redis';
import type { Session } from 'fastify';
import type { RedisClient } from '../store.js';

/** Settings of the Redis session store. */
export interface RedisSessionStoreOptions {
  /** Prefix of every session key, such as `harden:sess:`. */
  prefix: string;
  /** Returns when a session expires, in milliseconds since the epoch; it becomes the key's TTL. */
  expiresAt: (session: Session) => number;
}

/** The value a stored session that is not valid JSON parses to: an object the session guard rejects. */
const UNREADABLE_SESSION = Object.freeze({});

/**
 * Creates a connect-redis store (9.x) on a node-redis v5 client. The key's TTL is the session's expiry,
 * so Redis drops idle and over-age sessions itself. A value that does not parse as JSON reads as an
 * empty object, which the session guard treats as no session and deletes, instead of an error (500).
 */
export function createRedisSessionStore(
  client: RedisClient,
  options: RedisSessionStoreOptions,
): SessionStore {
  return new RedisStore({
    client,
    prefix: options.prefix,
    ttl: (session) => Math.ceil((options.expiresAt(session as unknown as Session) - Date.now()) / 1000),
    serializer: {
      parse: (text: string) => {
        try {
          return JSON.parse(text);
        } catch {
          return UNREADABLE_SESSION;
        }
      },
      stringify: (session) => JSON.stringify(session),
    },
  }) as unknown as SessionStore;
}
