// The shared store: option validation, the Redis start-up error, the key prefix, and the SQLite
// session store's expiry and purge.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Session } from 'fastify';
import Fastify from 'fastify';
import { createClient } from 'redis';
import { SqliteSessionStore } from '../src/session-stores/sqlite.js';
import { openStore, REDIS_KEY_PREFIX, redactRedisUrl } from '../src/store.js';
import { login, REDIS_URL, STORE_CASES, sessionIdOf, startSessionApp, waitFor } from './session-fixtures.js';

// Nothing listens here while these tests run: the outage test starts its own Redis on 6391 and
// runs in another file, so the start-up checks use a port of their own.
const UNREACHABLE_PORT = 6392;

const log = Fastify().log;

function sessionExpiringIn(ms: number): Session {
  return {
    cookie: { originalMaxAge: ms, expires: new Date(Date.now() + ms) },
    createdAt: Date.now(),
  } as Session;
}

describe('store option', () => {
  test('unreachable redis url fails start-up without credentials', async () => {
    const url = `redis://app-user:hunter2-secret@127.0.0.1:${UNREACHABLE_PORT}/1`;
    await assert.rejects(openStore({ redis: url }, log), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(
        error.message,
        new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${UNREACHABLE_PORT}/1 is unreachable \\(`),
      );
      assert.match(error.message, /Start Redis, or fix the store\.redis option\.$/);
      assert.doesNotMatch(error.message, /hunter2|app-user/);
      return true;
    });
  });

  test('redis url is redacted for logs', () => {
    assert.equal(redactRedisUrl('redis://user:pass@10.0.0.5:6379/2'), 'redis://10.0.0.5:6379/2');
    assert.equal(
      redactRedisUrl('rediss://:only-password@cache.internal:6380'),
      'rediss://cache.internal:6380',
    );
    assert.equal(redactRedisUrl('not a url'), '<unparsable Redis URL>');
  });

  test('redis option that is not a url is rejected', async () => {
    await assert.rejects(openStore({ redis: 'http://127.0.0.1:6379' }, log), {
      message:
        'Invalid option store.redis = "<redacted URL>": it is not a redis:// or rediss:// URL. Fix: give a URL such as \'redis://127.0.0.1:6379/0\' or a connected node-redis client',
    });
  });

  test('unconnected redis client is rejected', async () => {
    const client = createClient({ url: REDIS_URL });
    await assert.rejects(openStore({ redis: client }, log), {
      message:
        'Invalid option store.redis = "<node-redis client>": the client is not connected. Fix: await client.connect() before registering the plugin, or pass the Redis URL instead',
    });
  });

  test('bad key prefix is rejected', async () => {
    for (const keyPrefix of ['', 'has space:', 'glob*:']) {
      await assert.rejects(openStore({ redis: REDIS_URL, keyPrefix }, log), {
        message: `Invalid option store.keyPrefix = ${JSON.stringify(keyPrefix)}: it must be a non-empty string without spaces or the glob characters * ? [ ]. Fix: use a prefix such as 'harden:' or 'myapp:harden:'`,
      });
    }
  });

  test('key prefix starts every session key', async () => {
    const keyPrefix = `harden-test:${randomBytes(6).toString('hex')}:`;
    const server = await startSessionApp({ redis: REDIS_URL, keyPrefix });
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    try {
      assert.equal(server.store.kind === 'redis' && server.store.keyPrefix, keyPrefix);
      const cookie = await login(server.port);
      assert.equal(await client.exists(`${keyPrefix}sess:${sessionIdOf(cookie)}`), 1);
      assert.equal(await client.exists(`${REDIS_KEY_PREFIX}sess:${sessionIdOf(cookie)}`), 0);
    } finally {
      await server.close();
      const keys: string[] = [];
      for await (const batch of client.scanIterator({ MATCH: `${keyPrefix}*` })) keys.push(...batch);
      if (keys.length > 0) await client.del(keys);
      await client.close();
    }
  });

  test('given redis client is left open on close', async () => {
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    const { store, close } = await openStore({ redis: client }, log);
    assert.equal(store.kind, 'redis');
    await close();
    assert.equal(client.isOpen, true, 'the app owns the client it passed');
    await client.close();
  });

  test('sqlite store files are owner-only', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'harden-store-mode-'));
    const previousUmask = process.umask(0o022);
    try {
      const path = join(parent, 'new-folder', 'harden.sqlite');
      const { store, close } = await openStore({ sqlite: path }, log);
      assert.equal(store.kind, 'sqlite');
      if (store.kind === 'sqlite') store.db.exec('CREATE TABLE probe (x); INSERT INTO probe VALUES (1)');
      assert.equal(statSync(join(parent, 'new-folder')).mode & 0o777, 0o700);
      for (const file of ['harden.sqlite', 'harden.sqlite-wal', 'harden.sqlite-shm']) {
        assert.equal(statSync(join(parent, 'new-folder', file)).mode & 0o777, 0o600, file);
      }
      await close();
    } finally {
      process.umask(previousUmask);
      rmSync(parent, { recursive: true, force: true });
    }
  });

  test('empty sqlite path is rejected', async () => {
    await assert.rejects(openStore({ sqlite: '' }, log), {
      message:
        'Invalid option store.sqlite = "": the path is empty. Fix: give a file path such as \'./data/harden.sqlite\'',
    });
  });
});

describe('sqlite session store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'harden-store-'));

  test('expired row is never returned', () => {
    const db = new Database(join(dir, 'expired.sqlite'));
    const store = new SqliteSessionStore(db, { expiresAt: () => Date.now() - 1, purgeInterval: 60_000, log });
    try {
      db.prepare('INSERT INTO harden_sessions (sid, data, expires_at) VALUES (?, ?, ?)').run(
        'old',
        JSON.stringify(sessionExpiringIn(1000)),
        Date.now() - 1,
      );
      store.get('old', (error, session) => {
        assert.equal(error, null);
        assert.equal(session, null);
      });
      store.set('new', sessionExpiringIn(1000), (error) => assert.equal(error, null));
      const row = db.prepare('SELECT 1 FROM harden_sessions WHERE sid = ?').get('new');
      assert.equal(row, undefined, 'a session already past its expiry is not written');
    } finally {
      store.close();
      db.close();
    }
  });

  test('purge deletes expired rows and keeps live ones', () => {
    const db = new Database(join(dir, 'purge.sqlite'));
    const store = new SqliteSessionStore(db, {
      expiresAt: () => Date.now() + 60_000,
      purgeInterval: 60_000,
      log,
    });
    try {
      const insert = db.prepare('INSERT INTO harden_sessions (sid, data, expires_at) VALUES (?, ?, ?)');
      insert.run('gone-1', '{}', Date.now() - 10);
      insert.run('gone-2', '{}', Date.now() - 10_000);
      store.set('live', sessionExpiringIn(60_000), (error) => assert.equal(error, null));
      assert.equal(store.purgeExpired(), 2);
      const sids = db.prepare('SELECT sid FROM harden_sessions ORDER BY sid').pluck().all();
      assert.deepEqual(sids, ['live']);
    } finally {
      store.close();
      db.close();
    }
  });

  test('purge timer removes expired sessions', async () => {
    const sqlite = STORE_CASES.find((storeCase) => storeCase.name === 'sqlite');
    assert.ok(sqlite);
    const backend = await sqlite.open();
    const server = await startSessionApp(backend.options, {
      idleTimeout: 300,
      absoluteTimeout: 60_000,
      purgeInterval: 100,
    });
    try {
      const cookie = await login(server.port);
      assert.equal(await backend.has(sessionIdOf(cookie)), true);
      await waitFor(
        'the purge to delete the idle session',
        async () => !(await backend.has(sessionIdOf(cookie))),
      );
      assert.equal(await backend.count(), 0);
    } finally {
      await server.close();
      await backend.cleanup();
    }
  });

  test('unparsable row is deleted and reads as none', () => {
    const db = new Database(join(dir, 'corrupt.sqlite'));
    const store = new SqliteSessionStore(db, {
      expiresAt: () => Date.now() + 60_000,
      purgeInterval: 60_000,
      log,
    });
    try {
      db.prepare('INSERT INTO harden_sessions (sid, data, expires_at) VALUES (?, ?, ?)').run(
        'broken',
        '{"cookie":',
        Date.now() + 60_000,
      );
      store.get('broken', (error, session) => {
        assert.equal(error, null);
        assert.equal(session, null);
      });
      assert.equal(db.prepare('SELECT 1 FROM harden_sessions WHERE sid = ?').get('broken'), undefined);
    } finally {
      store.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
