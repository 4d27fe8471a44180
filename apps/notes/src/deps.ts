import type { AppConfig } from './config.js';
import type { NotesDatabase } from './db.js';
import type { Mailer } from './mail.js';

/** What every route module receives: the database, the mailer and the configuration. */
export interface AppDeps {
  db: NotesDatabase;
  mailer: Mailer;
  config: AppConfig;
}
