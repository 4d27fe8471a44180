// A separate app process for the multi-process rate-limit tests. Reads its store from argv[2] (JSON),
// serves POST /login limited to 5 a minute, prints {"port":N} on stdout, and closes on SIGTERM.
import type { StoreOptions } from '../src/store.js';
import { startApp } from './rate-limit-helpers.js';

const store = JSON.parse(process.argv[2] ?? '{}') as StoreOptions;
const started = await startApp({
  store,
  routes: (app) => {
    app.post('/login', { config: { harden: { rateLimit: '5/minute' } } }, async () => ({ pid: process.pid }));
  },
});
process.stdout.write(`${JSON.stringify({ port: Number(new URL(started.url).port) })}\n`);
process.once('SIGTERM', () => {
  void started.app.close().then(() => process.exit(0));
});
