// Shared set-up of the session tests: a listening Fastify app with the session layer on a real SQLite
// file or a real Redis (DB 1, a random key prefix per app), and small HTTP helpers.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type Database from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import { createClient } from 'redis';
import { SQLITE_SESSION_TABLE } from '../src/session-stores/sqlite.js';
import { registerSession, resolveSessionOptions, type SessionOptions } from '../src/sessions.js';
import { openStore, type SharedStore, type StoreOptions } from '../src/store.js';

declare module 'fastify' {
  interface Session {
    userId?: string;
    visits?: number;
  }
}

/** A secret that passes validation; tests that need a second one call makeSecret(). */
export const SECRET = makeSecret();

/** Returns a fresh random secret of 48 base64url characters. */
export function makeSecret(): string {
  return randomBytes(36).toString('base64url');
}

/** The Redis DB the session tests may use. */
export const REDIS_URL = 'redis://127.0.0.1:6379/1';

/** One backend the session table runs against, with direct access to what it stored. */
export interface StoreBackend {
  readonly options: StoreOptions;
  /** Number of stored sessions, read from the backend itself. */
  count(): Promise<number>;
  /** Tells whether a session id has a stored record, read from the backend itself. */
  has(sessionId: string): Promise<boolean>;
  /** Milliseconds until the stored record of a session expires, read from the backend itself. */
  ttl(sessionId: string): Promise<number>;
  /** Writes a raw record, bypassing the session layer. */
  writeRaw(sessionId: string, text: string, ttlMs: number): Promise<void>;
  /** Deletes everything this backend stored and closes it. */
  cleanup(): Promise<void>;
}

/** A backend factory, one row of the store table. */
export interface StoreCase {
  readonly name: 'sqlite' | 'redis';
  open(): Promise<StoreBackend>;
}

/** The stores every session behaviour is tested against. */
export const STORE_CASES: readonly StoreCase[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'harden-session-'));
      const path = join(dir, 'sessions.sqlite');
      let db: Database.Database | undefined;
      const database = async () => {
        if (db === undefined) {
          const BetterSqlite = (await import('better-sqlite3')).default;
          db = new BetterSqlite(path);
        }
        return db;
      };
      const table = async () => {
        const handle = await database();
        handle.exec(
          `CREATE TABLE IF NOT EXISTS ${SQLITE_SESSION_TABLE} (sid TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID`,
        );
        return handle;
      };
      return {
        options: { sqlite: path },
        async count() {
          const row = (await table()).prepare(`SELECT count(*) AS n FROM ${SQLITE_SESSION_TABLE}`).get() as {
            n: number;
          };
          return row.n;
        },
        async has(sessionId) {
          const row = (await table())
            .prepare(`SELECT 1 FROM ${SQLITE_SESSION_TABLE} WHERE sid = ?`)
            .get(sessionId);
          return row !== undefined;
        },
        async ttl(sessionId) {
          const row = (await table())
            .prepare(`SELECT expires_at AS expiresAt FROM ${SQLITE_SESSION_TABLE} WHERE sid = ?`)
            .get(sessionId) as { expiresAt: number } | undefined;
          return row === undefined ? -1 : row.expiresAt - Date.now();
        },
        async writeRaw(sessionId, text, ttlMs) {
          (await table())
            .prepare(
              `INSERT OR REPLACE INTO ${SQLITE_SESSION_TABLE} (sid, data, expires_at) VALUES (?, ?, ?)`,
            )
            .run(sessionId, text, Date.now() + ttlMs);
        },
        async cleanup() {
          db?.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'redis',
    async open() {
      const keyPrefix = `harden-test:${randomBytes(6).toString('hex')}:`;
      const client = createClient({ url: REDIS_URL });
      await client.connect();
      const sessionKeys = async () => {
        const keys: string[] = [];
        for await (const batch of client.scanIterator({ MATCH: `${keyPrefix}sess:*`, COUNT: 100 })) {
          keys.push(...batch);
        }
        return keys;
      };
      return {
        options: { redis: REDIS_URL, keyPrefix },
        async count() {
          return (await sessionKeys()).length;
        },
        async has(sessionId) {
          return (await client.exists(`${keyPrefix}sess:${sessionId}`)) === 1;
        },
        async ttl(sessionId) {
          return client.pTTL(`${keyPrefix}sess:${sessionId}`);
        },
        async writeRaw(sessionId, text, ttlMs) {
          await client.set(`${keyPrefix}sess:${sessionId}`, text, {
            expiration: { type: 'PX', value: ttlMs },
          });
        },
        async cleanup() {
          const keys: string[] = [];
          for await (const batch of client.scanIterator({ MATCH: `${keyPrefix}*`, COUNT: 100 }))
            keys.push(...batch);
          if (keys.length > 0) await client.del(keys);
          await client.close();
        },
      };
    },
  },
];

/** Log lines the app wrote, parsed from pino's JSON. */
export type LogLine = Record<string, unknown>;

/** A listening app with the session routes of the tests. */
export interface SessionApp {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly port: number;
  readonly store: SharedStore;
  readonly logs: LogLine[];
  /** The first session secret, which signs new cookies. */
  readonly secret: string;
  close(): Promise<void>;
}

/** Extra settings of startSessionApp. */
export interface StartOptions {
  /** Fastify's trustProxy. Default: false. */
  trustProxy?: boolean | string;
  /** Host to listen on. Default: 127.0.0.1. */
  host?: string;
}

/**
 * Starts Fastify with the session layer on `storeOptions` and these routes:
 * GET /public (touches no session), POST /login (regenerate, then set userId), GET /me, POST /visit
 * (counts visits without login), GET /slow (responds after 300 ms), POST /logout (destroy).
 */
export async function startSessionApp(
  storeOptions: StoreOptions,
  sessionOptions: Partial<SessionOptions> = {},
  startOptions: StartOptions = {},
): Promise<SessionApp> {
  const logs: LogLine[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) {
        if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
      }
      callback();
    },
  });
  const app = Fastify({ logger: { level: 'info', stream }, trustProxy: startOptions.trustProxy ?? false });
  const resolved = resolveSessionOptions({ secret: SECRET, ...sessionOptions });
  if (resolved === undefined) throw new Error('sessions are off');
  const { store, close } = await openStore(storeOptions, app.log);
  app.addHook('onClose', close);
  await registerSession(app, resolved, {
    store,
    publicOrigin: undefined,
    onRejection: undefined,
    production: false,
  });

  app.get('/public', async () => ({ ok: true }));
  app.post('/login', async (request) => {
    await request.session.regenerate();
    request.session.set('userId', 'user-1');
    return { sessionId: request.session.sessionId };
  });
  app.get('/me', async (request) => ({
    userId: request.session.get('userId') ?? null,
    sessionId: request.session.sessionId,
    createdAt: request.session.get('createdAt') ?? null,
  }));
  app.post('/visit', async (request) => {
    request.session.set('visits', (request.session.get('visits') ?? 0) + 1);
    return { visits: request.session.get('visits'), sessionId: request.session.sessionId };
  });
  app.get('/slow', async (request) => {
    await sleep(300);
    return { userId: request.session.get('userId') ?? null };
  });
  app.post('/logout', async (request) => {
    await request.session.destroy();
    return { ok: true };
  });

  await app.listen({ port: 0, host: startOptions.host ?? '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the test server has no TCP address');
  const host = startOptions.host === '::1' ? '[::1]' : (startOptions.host ?? '127.0.0.1');
  return {
    app,
    url: `http://${host}:${address.port}`,
    port: address.port,
    store,
    logs,
    secret: resolved.secrets[0] ?? '',
    close: () => app.close(),
  };
}

/** A response read with node:http, which sends headers exactly as given. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The Set-Cookie header lines. */
  setCookies: string[];
}

/** Sends one request with node:http; `headers` may repeat a name or carry bytes fetch would refuse. */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string | string[]> = {},
  host = '127.0.0.1',
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host, port, method, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const setCookie = response.headers['set-cookie'] ?? [];
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          setCookies: setCookie,
        });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

/** Returns the session cookie's `name=value` pair from Set-Cookie lines, or undefined. */
export function sessionCookieFrom(setCookies: readonly string[], name = '__Host-sid'): string | undefined {
  for (const line of setCookies) {
    const pair = line.split(';')[0] ?? '';
    if (pair.startsWith(`${name}=`) && pair.length > name.length + 1) return pair;
  }
  return undefined;
}

/** Returns the session id (the store key) inside a signed cookie pair `name=id.signature`. */
export function sessionIdOf(cookiePair: string): string {
  const value = cookiePair.slice(cookiePair.indexOf('=') + 1);
  return decodeURIComponent(value).slice(0, decodeURIComponent(value).lastIndexOf('.'));
}

/** Logs in and returns the session cookie pair. */
export async function login(port: number, cookie?: string): Promise<string> {
  const response = await rawRequest(port, 'POST', '/login', cookie ? { cookie } : {});
  const pair = sessionCookieFrom(response.setCookies);
  if (response.status !== 200 || pair === undefined) {
    throw new Error(`login failed: ${response.status} ${response.body}`);
  }
  return pair;
}

/** Returns the signed-in user of a cookie, or null. */
export async function whoAmI(port: number, cookie: string): Promise<string | null> {
  const response = await rawRequest(port, 'GET', '/me', { cookie });
  if (response.status !== 200) throw new Error(`/me answered ${response.status}: ${response.body}`);
  return (JSON.parse(response.body) as { userId: string | null }).userId;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 50 ms until it returns true; fails after `timeoutMs`. */
export async function waitFor(
  description: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${description}`);
}
