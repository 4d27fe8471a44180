import type { AppConfig } from './config.js';
import type { NotesDatabase } from './db.js';
import type { Mailer } from './mail.js';

/** What every route module receives: the database, the mailer, the configuration and the password hasher. */
export interface AppDeps {
  db: NotesDatabase;
  mailer: Mailer;
  config: AppConfig;
  /** argon2id hashing of a new password; `hashPassword` of passwords.ts unless a test counts the calls. */
  hashPassword: (password: string) => Promise<string>;
}
