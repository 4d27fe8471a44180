import type { RejectionHandler } from './reject.js';
import type { SharedStore } from './store.js';

/** What every part of the plugin receives at registration, besides its own resolved options. */
export interface HardenContext {
  /** Where sessions and rate-limit counters live, opened once for the whole plugin. */
  readonly store: SharedStore;
  /** The app's own public origin (`https://notes.example`), or undefined to use each request's Host. */
  readonly publicOrigin: string | undefined;
  /** The application's rejection writer, if any. */
  readonly onRejection: RejectionHandler | undefined;
  /** True when NODE_ENV is `production`. */
  readonly production: boolean;
}
