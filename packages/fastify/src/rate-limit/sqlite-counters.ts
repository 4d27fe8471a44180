import type Database from 'better-sqlite3';
import type { CounterState, CounterTable } from './memory-counters.js';

/** Table of rate-limit windows in the shared SQLite file. */
export const SQLITE_TABLE = 'harden_rate_limits';

/** Writes between two sweeps of expired rows, so the table does not grow with keys that stopped coming. */
const SWEEP_EVERY_WRITES = 10_000;

type Row = [points: number, expiresAt: number];

/**
 * Rate-limit windows in SQLite: every hit is one prepared `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`,
 * atomic across every process that opens the same file. Statements are prepared once here, because
 * preparing them per call (as rate-limiter-flexible's SQLite store does) costs several times the query.
 */
export class SqliteCounterTable implements CounterTable {
  readonly shared = true;
  private readonly add: Database.Statement<[string, number, number, number, number], Row>;
  private readonly replace: Database.Statement<[string, number, number], Row>;
  private readonly select: Database.Statement<[string, number], Row>;
  private readonly remove: Database.Statement<[string], Row>;
  private readonly sweep: Database.Statement<[number]>;
  private writesSinceSweep = 0;

  constructor(db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS ${SQLITE_TABLE} (
      key TEXT PRIMARY KEY,
      points INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    ) WITHOUT ROWID`);
    db.exec(`CREATE INDEX IF NOT EXISTS ${SQLITE_TABLE}_expires_at ON ${SQLITE_TABLE} (expires_at)`);

    // In the DO UPDATE clause, bare column names are the stored row and `excluded` is the new one.
    this.add = db
      .prepare<[string, number, number, number, number], Row>(
        `INSERT INTO ${SQLITE_TABLE} (key, points, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET
           points = CASE WHEN expires_at > ? THEN points + excluded.points ELSE excluded.points END,
           expires_at = CASE WHEN expires_at > ? THEN expires_at ELSE excluded.expires_at END
         RETURNING points, expires_at`,
      )
      .raw(true);
    this.replace = db
      .prepare<[string, number, number], Row>(
        `INSERT INTO ${SQLITE_TABLE} (key, points, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET points = excluded.points, expires_at = excluded.expires_at
         RETURNING points, expires_at`,
      )
      .raw(true);
    this.select = db
      .prepare<[string, number], Row>(
        `SELECT points, expires_at FROM ${SQLITE_TABLE} WHERE key = ? AND expires_at > ?`,
      )
      .raw(true);
    this.remove = db
      .prepare<[string], Row>(`DELETE FROM ${SQLITE_TABLE} WHERE key = ? RETURNING points, expires_at`)
      .raw(true);
    this.sweep = db.prepare<[number]>(`DELETE FROM ${SQLITE_TABLE} WHERE expires_at <= ?`);
    this.sweep.run(Date.now());
  }

  upsert(key: string, points: number, msDuration: number, replace: boolean, now: number): CounterState {
    if (++this.writesSinceSweep >= SWEEP_EVERY_WRITES) {
      this.writesSinceSweep = 0;
      this.sweep.run(now);
    }
    const row = replace
      ? this.replace.get(key, points, now + msDuration)
      : this.add.get(key, points, now + msDuration, now, now);
    // RETURNING always yields the written row.
    const [total, expiresAt] = row as Row;
    return { points: total, expiresAt };
  }

  get(key: string, now: number): CounterState | undefined {
    const row = this.select.get(key, now);
    return row === undefined ? undefined : { points: row[0], expiresAt: row[1] };
  }

  delete(key: string, now: number): boolean {
    const row = this.remove.get(key);
    return row !== undefined && row[1] > now;
  }
}
