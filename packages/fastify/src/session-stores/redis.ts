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

type Callback = (error?: unknown) => void;

/** The value a stored session that is not valid JSON parses to: an object the session guard rejects. */
const UNREADABLE_SESSION = Object.freeze({});

/**
 * A connect-redis store (9.x) on a node-redis v5 client. The key's TTL is the session's expiry, so
 * Redis drops idle and over-age sessions itself. A value that does not parse as JSON reads as an
 * empty object, which the session guard treats as no session and deletes, instead of an error (500).
 * `update` adds what connect-redis lacks: a write that never recreates a deleted key.
 */
export class RedisSessionStore extends RedisStore {
  readonly #client: RedisClient;
  readonly #options: RedisSessionStoreOptions;

  constructor(client: RedisClient, options: RedisSessionStoreOptions) {
    super({
      client,
      prefix: options.prefix,
      ttl: (session) => ttlSeconds(options.expiresAt(session as unknown as Session)),
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
    });
    this.#client = client;
    this.#options = options;
  }

  /** Writes a session only if its key still exists (SET … XX), so a deleted session is never written back. */
  update(sessionId: string, session: Session, callback: Callback): void {
    const key = this.#options.prefix + sessionId;
    const ttl = ttlSeconds(this.#options.expiresAt(session));
    const write =
      ttl > 0
        ? this.#client.set(key, JSON.stringify(session), {
            expiration: { type: 'EX', value: ttl },
            condition: 'XX',
          })
        : this.#client.del(key);
    write.then(
      () => callback(null),
      (error: unknown) => callback(error),
    );
  }

  /** Returns this store with the callback signature @fastify/session's types expect. */
  asSessionStore(): SessionStore & Pick<RedisSessionStore, 'update'> {
    return this as unknown as SessionStore & Pick<RedisSessionStore, 'update'>;
  }
}

function ttlSeconds(expiresAt: number): number {
  return Math.ceil((expiresAt - Date.now()) / 1000);
}
