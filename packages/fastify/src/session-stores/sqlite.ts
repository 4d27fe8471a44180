import type { SessionStore } from '@fastify/session';
import type Database from 'better-sqlite3';
import type { FastifyBaseLogger, Session } from 'fastify';

/** Settings of the SQLite session store. */
export interface SqliteSessionStoreOptions {
  /** Returns when a session expires, in milliseconds since the epoch. A row past it is never returned. */
  expiresAt: (session: Session) => number;
  /** Milliseconds between two purges of expired rows. */
  purgeInterval: number;
  /** Logger for purge failures and corrupt rows. */
  log: FastifyBaseLogger;
}

type Callback = (error?: unknown) => void;
type GetCallback = (error: unknown, session?: Session | null) => void;

interface SessionRow {
  data: string;
}

/** Name of the table that contains the sessions, created on first use. */
export const SQLITE_SESSION_TABLE = 'harden_sessions';

/**
 * A session store on better-sqlite3 with the express-session store interface (get, set, destroy,
 * touch) that @fastify/session takes. Statements are prepared once. A row past its expiry is never
 * returned, and a timer that does not keep the process alive deletes such rows every `purgeInterval`.
 * A row whose JSON does not parse is deleted and reported as no session. `update` writes only a row
 * that still exists.
 */
export class SqliteSessionStore implements SessionStore {
  readonly #options: SqliteSessionStoreOptions;
  readonly #select: Database.Statement<[string, number], SessionRow>;
  readonly #upsert: Database.Statement<[string, string, number]>;
  readonly #update: Database.Statement<[string, number, string]>;
  readonly #delete: Database.Statement<[string]>;
  readonly #touch: Database.Statement<[number, string]>;
  readonly #purge: Database.Statement<[number]>;
  readonly #timer: NodeJS.Timeout;

  constructor(db: Database.Database, options: SqliteSessionStoreOptions) {
    this.#options = options;
    db.exec(`
      CREATE TABLE IF NOT EXISTS ${SQLITE_SESSION_TABLE} (
        sid TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS ${SQLITE_SESSION_TABLE}_expires_at ON ${SQLITE_SESSION_TABLE} (expires_at);
    `);
    this.#select = db.prepare(`SELECT data FROM ${SQLITE_SESSION_TABLE} WHERE sid = ? AND expires_at > ?`);
    this.#upsert = db.prepare(
      `INSERT INTO ${SQLITE_SESSION_TABLE} (sid, data, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (sid) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
    );
    this.#update = db.prepare(`UPDATE ${SQLITE_SESSION_TABLE} SET data = ?, expires_at = ? WHERE sid = ?`);
    this.#delete = db.prepare(`DELETE FROM ${SQLITE_SESSION_TABLE} WHERE sid = ?`);
    this.#touch = db.prepare(`UPDATE ${SQLITE_SESSION_TABLE} SET expires_at = ? WHERE sid = ?`);
    this.#purge = db.prepare(`DELETE FROM ${SQLITE_SESSION_TABLE} WHERE expires_at <= ?`);

    this.#timer = setInterval(() => this.#purgeAndLog(), options.purgeInterval);
    this.#timer.unref();
  }

  get(sessionId: string, callback: GetCallback): void {
    let session: Session | null;
    try {
      session = this.#read(sessionId);
    } catch (error) {
      callback(error);
      return;
    }
    callback(null, session);
  }

  set(sessionId: string, session: Session, callback: Callback): void {
    callback(this.#run(() => this.#write(sessionId, session)));
  }

  /** Writes a session only if its row still exists, so a deleted session is never written back. */
  update(sessionId: string, session: Session, callback: Callback): void {
    callback(this.#run(() => this.#write(sessionId, session, 'update')));
  }

  destroy(sessionId: string, callback: Callback): void {
    callback(this.#run(() => this.#delete.run(sessionId)));
  }

  touch(sessionId: string, session: Session, callback: Callback): void {
    callback(this.#run(() => this.#touch.run(this.#options.expiresAt(session), sessionId)));
  }

  /** Deletes every expired row now. Returns how many were deleted. */
  purgeExpired(): number {
    return this.#purge.run(Date.now()).changes;
  }

  /** Stops the purge timer. The database itself belongs to the caller. */
  close(): void {
    clearInterval(this.#timer);
  }

  #read(sessionId: string): Session | null {
    const row = this.#select.get(sessionId, Date.now());
    if (row === undefined) return null;
    try {
      return JSON.parse(row.data) as Session;
    } catch {
      this.#delete.run(sessionId);
      this.#options.log.warn(
        { event: 'session.corrupt_record', store: 'sqlite' },
        'a stored session was not valid JSON; it was deleted and the request gets a fresh session',
      );
      return null;
    }
  }

  #write(sessionId: string, session: Session, mode: 'upsert' | 'update' = 'upsert'): void {
    const expiresAt = this.#options.expiresAt(session);
    if (expiresAt <= Date.now()) {
      this.#delete.run(sessionId);
      return;
    }
    if (mode === 'update') this.#update.run(JSON.stringify(session), expiresAt, sessionId);
    else this.#upsert.run(sessionId, JSON.stringify(session), expiresAt);
  }

  #run(operation: () => unknown): unknown {
    try {
      operation();
      return null;
    } catch (error) {
      return error;
    }
  }

  #purgeAndLog(): void {
    try {
      this.purgeExpired();
    } catch (error) {
      this.#options.log.warn(
        { event: 'session.purge_failed', err: error },
        'could not delete expired sessions; the next purge tries again',
      );
    }
  }
}
