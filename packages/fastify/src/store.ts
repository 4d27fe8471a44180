import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HardenConfigError } from '@harden/core';
import Database from 'better-sqlite3';
import { createClient } from 'redis';

/** A node-redis client (v5), as connect-redis and rate-limiter-flexible take it. */
export type RedisClient = ReturnType<typeof createClient>;

/**
 * Where sessions and rate-limit counters live. Default: `{ sqlite: '.harden/harden.sqlite' }`, one file
 * relative to the working directory, no server. `{ redis: url or client }` shares them across instances.
 * `{ memory: true }` keeps rate-limit counters in this process only and is refused for sessions.
 */
export type StoreOptions =
  | { sqlite: string | Database.Database }
  | { redis: string | RedisClient }
  | { memory: true };

/** The opened store. The plugin closes what it opened itself when Fastify closes. */
export type SharedStore =
  | { kind: 'sqlite'; db: Database.Database; path: string }
  | { kind: 'redis'; client: RedisClient; keyPrefix: string }
  | { kind: 'memory' };

/** Default SQLite file of the embedded store, relative to the working directory. */
export const DEFAULT_SQLITE_PATH = '.harden/harden.sqlite';

/** Key prefix of every Redis key the plugin writes. */
export const REDIS_KEY_PREFIX = 'harden:';

/** Validates the store option and opens it. Returns the store and a function that closes what was opened here. */
export async function openStore(
  options: StoreOptions | undefined,
): Promise<{ store: SharedStore; close: () => Promise<void> }> {
  const chosen = options ?? { sqlite: DEFAULT_SQLITE_PATH };

  if ('sqlite' in chosen) {
    if (typeof chosen.sqlite !== 'string') {
      return { store: { kind: 'sqlite', db: chosen.sqlite, path: chosen.sqlite.name }, close: async () => {} };
    }
    if (chosen.sqlite.length === 0) {
      throw new HardenConfigError('store.sqlite', chosen.sqlite, 'the path is empty', "give a file path such as './data/harden.sqlite'");
    }
    const path = resolve(chosen.sqlite);
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    return { store: { kind: 'sqlite', db, path }, close: async () => void db.close() };
  }

  if ('redis' in chosen) {
    if (typeof chosen.redis !== 'string') {
      return { store: { kind: 'redis', client: chosen.redis, keyPrefix: REDIS_KEY_PREFIX }, close: async () => {} };
    }
    if (!/^rediss?:\/\//.test(chosen.redis)) {
      throw new HardenConfigError('store.redis', '<redacted URL>', 'it is not a redis:// or rediss:// URL', "give a URL such as 'redis://127.0.0.1:6379/0' or a connected node-redis client");
    }
    const client = createClient({ url: chosen.redis });
    return { store: { kind: 'redis', client, keyPrefix: REDIS_KEY_PREFIX }, close: async () => { if (client.isOpen) await client.close(); } };
  }

  if ('memory' in chosen && chosen.memory === true) return { store: { kind: 'memory' }, close: async () => {} };

  throw new HardenConfigError('store', chosen, 'it is not a known store', "use { sqlite: path }, { redis: url or client } or { memory: true }");
}
