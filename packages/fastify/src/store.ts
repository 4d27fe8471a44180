import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HardenConfigError } from '@harden/core';
import Database from 'better-sqlite3';
import type { FastifyBaseLogger } from 'fastify';
import { createClient } from 'redis';

/** A node-redis client (v5), as connect-redis and rate-limiter-flexible take it. */
export type RedisClient = ReturnType<typeof createClient>;

/**
 * Where sessions and rate-limit counters live. Default: `{ sqlite: '.harden/harden.sqlite' }`, one file
 * relative to the working directory, no server. `{ redis: url or client }` shares them across instances;
 * `keyPrefix` (default `harden:`) starts every key the plugin writes. `{ memory: true }` keeps rate-limit
 * counters in this process only and is rejected for sessions.
 */
export type StoreOptions =
  | { sqlite: string | Database.Database }
  | { redis: string | RedisClient; keyPrefix?: string }
  | { memory: true };

/** The opened store. The plugin closes what it opened itself when Fastify closes. */
export type SharedStore =
  | { kind: 'sqlite'; db: Database.Database; path: string }
  | { kind: 'redis'; client: RedisClient; keyPrefix: string }
  | { kind: 'memory' };

/** Default SQLite file of the embedded store, relative to the working directory. */
export const DEFAULT_SQLITE_PATH = '.harden/harden.sqlite';

/** Default key prefix of every Redis key the plugin writes. */
export const REDIS_KEY_PREFIX = 'harden:';

/** Connection attempts at start-up before a URL-given Redis counts as unreachable and registration fails. */
const STARTUP_CONNECT_ATTEMPTS = 3;

/** Longest wait between two reconnection attempts to Redis, in milliseconds. */
const MAX_RECONNECT_DELAY_MS = 5_000;

/**
 * Validates the store option and opens it. Returns the store and a function that closes what was opened
 * here. A Redis URL is connected now, so an unreachable Redis fails registration with its address.
 */
export async function openStore(
  options: StoreOptions | undefined,
  log: FastifyBaseLogger,
): Promise<{ store: SharedStore; close: () => Promise<void> }> {
  const chosen = options ?? { sqlite: DEFAULT_SQLITE_PATH };

  if ('sqlite' in chosen) {
    if (typeof chosen.sqlite !== 'string') {
      return {
        store: { kind: 'sqlite', db: chosen.sqlite, path: chosen.sqlite.name },
        close: async () => {},
      };
    }
    if (chosen.sqlite.length === 0) {
      throw new HardenConfigError(
        'store.sqlite',
        chosen.sqlite,
        'the path is empty',
        "give a file path such as './data/harden.sqlite'",
      );
    }
    const path = resolve(chosen.sqlite);
    // Sessions and counters are private to the app's user: a new folder is 0700 and the database 0600.
    // SQLite gives its -wal and -shm files the mode of the database file.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    // In WAL mode, NORMAL syncs at checkpoints instead of on every commit: still no corruption, but a power
    // loss may drop the last commits. FULL cost 1.5 ms per rate-limit hit on the build machine, NORMAL 28 µs.
    db.pragma('synchronous = NORMAL');
    return { store: { kind: 'sqlite', db, path }, close: async () => void db.close() };
  }

  if ('redis' in chosen) {
    const keyPrefix = resolveKeyPrefix(chosen.keyPrefix);
    if (typeof chosen.redis !== 'string') {
      const client = chosen.redis;
      if (!client.isOpen) {
        throw new HardenConfigError(
          'store.redis',
          '<node-redis client>',
          'the client is not connected',
          'await client.connect() before registering the plugin, or pass the Redis URL instead',
        );
      }
      watchRedisHealth(client, log, 'the given Redis client', () => false);
      return { store: { kind: 'redis', client, keyPrefix }, close: async () => {} };
    }
    if (!/^rediss?:\/\//.test(chosen.redis)) {
      throw new HardenConfigError(
        'store.redis',
        '<redacted URL>',
        'it is not a redis:// or rediss:// URL',
        "give a URL such as 'redis://127.0.0.1:6379/0' or a connected node-redis client",
      );
    }
    const address = redactRedisUrl(chosen.redis);
    const client = createUrlClient(chosen.redis);
    let starting = true;
    watchRedisHealth(client, log, address, () => starting);
    await connectRedis(client, address);
    starting = false;
    return { store: { kind: 'redis', client, keyPrefix }, close: () => closeRedis(client) };
  }

  if ('memory' in chosen && chosen.memory === true)
    return { store: { kind: 'memory' }, close: async () => {} };

  throw new HardenConfigError(
    'store',
    chosen,
    'it is not a known store',
    'use { sqlite: path }, { redis: url or client } or { memory: true }',
  );
}

/** Returns a Redis URL without its user name and password, for logs and error messages. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '<unparsable Redis URL>';
  }
}

function resolveKeyPrefix(keyPrefix: string | undefined): string {
  if (keyPrefix === undefined) return REDIS_KEY_PREFIX;
  if (typeof keyPrefix !== 'string' || keyPrefix.length === 0 || /[\s*?[\]]/.test(keyPrefix)) {
    throw new HardenConfigError(
      'store.keyPrefix',
      keyPrefix,
      'it must be a non-empty string without spaces or the glob characters * ? [ ]',
      "use a prefix such as 'harden:' or 'myapp:harden:'",
    );
  }
  return keyPrefix;
}

/**
 * Creates the client of a Redis URL. Commands fail at once while Redis is down instead of waiting in
 * an offline queue, so a request gets a 503 instead of hanging. Reconnection never stops: it backs off
 * up to MAX_RECONNECT_DELAY_MS, except during start-up (see connectRedis).
 */
function createUrlClient(url: string): RedisClient {
  let connectedOnce = false;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2_000,
      reconnectStrategy: (retries) => {
        if (!connectedOnce && retries >= STARTUP_CONNECT_ATTEMPTS - 1) return false;
        return Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS) + Math.floor(Math.random() * 100);
      },
    },
  });
  client.once('ready', () => {
    connectedOnce = true;
  });
  return client;
}

async function connectRedis(client: RedisClient, address: string): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Redis at ${address} is unreachable (${reason}). Start Redis, or fix the store.redis option.`,
    );
  }
}

/**
 * Logs one `store.redis_unavailable` line when Redis goes away and one `store.redis_recovered` line
 * when it is back. The 'error' listener is also what keeps node-redis from crashing the process:
 * an EventEmitter without one throws.
 */
function watchRedisHealth(
  client: RedisClient,
  log: FastifyBaseLogger,
  address: string,
  isStarting: () => boolean,
): void {
  let unavailable = false;
  client.on('error', (error: unknown) => {
    if (unavailable || isStarting()) return;
    unavailable = true;
    const reason = error instanceof Error ? error.message : String(error);
    log.warn(
      { event: 'store.redis_unavailable', redis: address, reason },
      'Redis is unreachable; sessions answer 503 until it is back, and the client keeps reconnecting',
    );
  });
  client.on('ready', () => {
    if (!unavailable) return;
    unavailable = false;
    log.info({ event: 'store.redis_recovered', redis: address }, 'Redis is reachable again');
  });
}

async function closeRedis(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  if (client.isReady) {
    await client.close();
    return;
  }
  // A client that is reconnecting has nothing to flush, and close() would wait for the connection.
  client.destroy();
}
