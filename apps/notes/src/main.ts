import type { Server } from 'node:http';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { listenHttpRedirect } from './server.js';
import { describeStartupError } from './startup-error.js';

/** How long a graceful shutdown may take before the process exits anyway, in milliseconds. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

// Files the app creates (mail in the outbox, SQLite files, the session secret) are owner-only, whatever
// the shell's umask: they hold notes, password hashes, sessions and reset links.
process.umask(0o077);

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // The logger is not configured yet, so the message goes to stderr as it is.
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

let app: Awaited<ReturnType<typeof buildApp>>;
let httpRedirect: Server | undefined;
try {
  app = await buildApp(config);
  await app.listen({ host: config.host, port: config.port });
  // With TLS, a plain-HTTP listener hands its requests to the same app, whose forceHttps redirects them.
  httpRedirect = config.tls ? await listenHttpRedirect(app, config.host, config.httpPort) : undefined;
} catch (error) {
  const message = describeStartupError(error, config);
  if (message === undefined) throw error;
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
if (httpRedirect) {
  app.log.info(
    { event: 'app.http_redirect', port: config.httpPort },
    'plain-HTTP listener redirects to HTTPS',
  );
}

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  app.log.info({ event: 'app.stopping', signal }, 'shutting down');
  const timer = setTimeout(() => {
    app.log.error(
      { event: 'app.stop_timeout', timeoutMs: SHUTDOWN_TIMEOUT_MS },
      'shutdown timed out; exiting',
    );
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  httpRedirect?.close();
  await app.close();
  app.log.info({ event: 'app.stopped' }, 'stopped');
}

process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
