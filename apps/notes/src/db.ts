import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** An account row. `sessionVersion` grows when the password is reset, which signs out older sessions. */
export interface User {
  id: number;
  email: string;
  passwordHash: string;
  sessionVersion: number;
  createdAt: number;
}

/** A note row, as the app shows it. */
export interface Note {
  id: number;
  userId: number;
  body: string;
  createdAt: number;
}

/**
 * Schema migrations, applied in order. `PRAGMA user_version` stores how many have run, so each runs
 * once. Append new steps, and never edit one that has shipped.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     id INTEGER PRIMARY KEY,
     email TEXT NOT NULL UNIQUE,
     password_hash TEXT NOT NULL,
     session_version INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE notes (
     id INTEGER PRIMARY KEY,
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     body TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX notes_by_user ON notes(user_id, id);
   CREATE TABLE password_resets (
     token_hash TEXT PRIMARY KEY,
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     expires_at INTEGER NOT NULL,
     used_at INTEGER
   );
   CREATE INDEX password_resets_by_user ON password_resets(user_id);`,
];

interface UserRow {
  id: number;
  email: string;
  password_hash: string;
  session_version: number;
  created_at: number;
}

interface NoteRow {
  id: number;
  user_id: number;
  body: string;
  created_at: number;
}

/** The app's SQLite database and every query it runs, prepared once. */
export class NotesDatabase {
  readonly sqlite: Database.Database;
  private readonly statements;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.sqlite = new Database(path);
    this.sqlite.pragma('journal_mode = WAL');
    this.sqlite.pragma('foreign_keys = ON');
    this.sqlite.pragma('busy_timeout = 5000');
    migrate(this.sqlite);

    const db = this.sqlite;
    this.statements = {
      insertUser: db.prepare<[string, string, number], UserRow>(
        'INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT(email) DO NOTHING RETURNING *',
      ),
      userByEmail: db.prepare<[string], UserRow>('SELECT * FROM users WHERE email = ?'),
      userById: db.prepare<[number], UserRow>('SELECT * FROM users WHERE id = ?'),
      setPassword: db.prepare<[string, number]>(
        'UPDATE users SET password_hash = ?, session_version = session_version + 1 WHERE id = ?',
      ),
      insertNote: db.prepare<[number, string, number], NoteRow>(
        'INSERT INTO notes (user_id, body, created_at) VALUES (?, ?, ?) RETURNING *',
      ),
      notesOfUser: db.prepare<[number], NoteRow>('SELECT * FROM notes WHERE user_id = ? ORDER BY id DESC'),
      noteOfUser: db.prepare<[number, number], NoteRow>('SELECT * FROM notes WHERE id = ? AND user_id = ?'),
      deleteNote: db.prepare<[number, number]>('DELETE FROM notes WHERE id = ? AND user_id = ?'),
      insertReset: db.prepare<[string, number, number]>(
        'INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES (?, ?, ?)',
      ),
      validReset: db.prepare<[string, number], { user_id: number }>(
        'SELECT user_id FROM password_resets WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?',
      ),
      useReset: db.prepare<[number, string, number]>(
        'UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?',
      ),
      useOtherResets: db.prepare<[number, number]>(
        'UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL',
      ),
      purgeResets: db.prepare<[number]>('DELETE FROM password_resets WHERE expires_at <= ?'),
    };
  }

  /** Inserts an account. Returns undefined when the email is already registered. */
  createUser(email: string, passwordHash: string): User | undefined {
    const row = this.statements.insertUser.get(email, passwordHash, Date.now());
    return row && toUser(row);
  }

  findUserByEmail(email: string): User | undefined {
    const row = this.statements.userByEmail.get(email);
    return row && toUser(row);
  }

  findUserById(id: number): User | undefined {
    const row = this.statements.userById.get(id);
    return row && toUser(row);
  }

  createNote(userId: number, body: string): Note {
    const row = this.statements.insertNote.get(userId, body, Date.now());
    if (!row) throw new Error('INSERT ... RETURNING returned no row');
    return toNote(row);
  }

  listNotes(userId: number): Note[] {
    return this.statements.notesOfUser.all(userId).map(toNote);
  }

  /** Returns the note only when it belongs to the user. */
  findNote(userId: number, noteId: number): Note | undefined {
    const row = this.statements.noteOfUser.get(noteId, userId);
    return row && toNote(row);
  }

  /** Deletes the note only when it belongs to the user. Returns whether a note was deleted. */
  deleteNote(userId: number, noteId: number): boolean {
    return this.statements.deleteNote.run(noteId, userId).changes === 1;
  }

  /** Stores a reset token by its hash, and purges expired ones. */
  createPasswordReset(tokenHash: string, userId: number, expiresAt: number): void {
    this.statements.purgeResets.run(Date.now());
    this.statements.insertReset.run(tokenHash, userId, expiresAt);
  }

  /** Returns the user id of an unused, unexpired reset token. */
  findValidPasswordReset(tokenHash: string): number | undefined {
    return this.statements.validReset.get(tokenHash, Date.now())?.user_id;
  }

  /**
   * Spends a reset token and sets the new password in one transaction. Returns the user id, or
   * undefined when the token is unknown, used or expired. Every other token of the user is spent
   * too, and the session version grows so that sessions signed in before the reset stop working.
   */
  resetPassword(tokenHash: string, passwordHash: string): number | undefined {
    const run = this.sqlite.transaction((): number | undefined => {
      const now = Date.now();
      const userId = this.statements.validReset.get(tokenHash, now)?.user_id;
      if (userId === undefined) return undefined;
      if (this.statements.useReset.run(now, tokenHash, now).changes !== 1) return undefined;
      this.statements.useOtherResets.run(now, userId);
      this.statements.setPassword.run(passwordHash, userId);
      return userId;
    });
    return run.immediate();
  }

  close(): void {
    this.sqlite.close();
  }
}

function migrate(db: Database.Database): void {
  const applied = db.pragma('user_version', { simple: true }) as number;
  for (let version = applied; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    sessionVersion: row.session_version,
    createdAt: row.created_at,
  };
}

function toNote(row: NoteRow): Note {
  return { id: row.id, userId: row.user_id, body: row.body, createdAt: row.created_at };
}
